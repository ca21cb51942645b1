// The pool's connections: each asks for generic plans before it is handed out (the pool waits for
// the SET, so the caller's first query never overlaps it, which node-postgres warns about).
import { afterEach, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createPostgresPool } from '../services/state/postgres-pool.ts';
import { describePostgres, useTestDatabase } from './support/postgres.ts';

describePostgres('the PostgreSQL pool', () => {
  const db = useTestDatabase();
  let pool: pg.Pool | undefined;
  afterEach(async () => {
    await pool?.end();
  });

  it('hands out a connection only once it asked for generic plans: idle, the setting in force', async () => {
    const errors: Error[] = [];
    pool = createPostgresPool({ url: db().url, max: 4, applicationName: 'pool-test', onError: (err) => errors.push(err) });
    const client = await pool.connect();
    try {
      // node-postgres's own queue (no public view of it): a SET still running or waiting here
      // would be a query the caller's first one overlaps, which node-postgres warns about.
      const internals = client as unknown as { _queryQueue: unknown[]; _activeQuery: unknown };
      expect(internals._queryQueue).toHaveLength(0);
      expect(internals._activeQuery).toBeNull();
      const { rows } = await client.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode');
      expect(rows[0]?.plan_cache_mode).toBe('force_generic_plan');
    } finally {
      client.release();
    }
    const p = pool;
    const settings = await Promise.all(Array.from({ length: 4 }, () => p.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')));
    expect(settings.map((r) => r.rows[0]?.plan_cache_mode)).toEqual(Array(4).fill('force_generic_plan'));
    expect(errors).toEqual([]);
  });
});
