// The pool's connections: each asks for generic plans before it is handed out (the pool waits for
// the SET, so the caller's first query never overlaps it, which node-postgres warns about); the
// pool keeps every connection it opened (none is closed for being idle, to be opened again cold
// in the next burst), and openConnections opens them all at once, logging what it could not open.
import { afterEach, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createPostgresPool, openConnections } from '../services/state/postgres-pool.ts';
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

  it('keeps the connections it opened: after longer idle than pg-pool’s 10 s, the same backends answer', async () => {
    const p = (pool = createPostgresPool({ url: db().url, max: 3, applicationName: 'pool-test', onError: () => undefined }));
    const pids = async (): Promise<number[]> => {
      const clients = await Promise.all([p.connect(), p.connect(), p.connect()]);
      try {
        return (await Promise.all(clients.map((c) => c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')))).map((r) => r.rows[0]?.pid ?? 0).sort();
      } finally {
        for (const c of clients) c.release();
      }
    };
    const before = await pids();
    await new Promise((resolve) => setTimeout(resolve, 10_800));
    expect(p.totalCount).toBe(3);
    expect(await pids()).toEqual(before);
  }, 25_000);

  it('openConnections opens every connection at once, each ready (generic plans), and leaves them idle in the pool', async () => {
    const p = (pool = createPostgresPool({ url: db().url, max: 4, applicationName: 'pool-test', onError: () => undefined }));
    const warnings: string[] = [];
    await openConnections(p, 4, { warn: (msg) => warnings.push(msg) }, 'test');
    expect(warnings).toEqual([]);
    expect([p.totalCount, p.idleCount]).toEqual([4, 4]);
    const settings = await Promise.all(Array.from({ length: 4 }, () => p.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')));
    expect(settings.map((r) => r.rows[0]?.plan_cache_mode)).toEqual(Array(4).fill('force_generic_plan'));
    expect(p.totalCount).toBe(4);
  });

  it('openConnections logs what it could not open, without the password, and does not throw', async () => {
    const p = (pool = createPostgresPool({ url: 'postgres://bot:s3cret-pw@127.0.0.1:1/none', max: 2, applicationName: 'pool-test', onError: () => undefined }));
    const logged: { msg: string; fields: unknown }[] = [];
    await openConnections(p, 2, { warn: (msg, fields) => logged.push({ msg, fields }) }, '127.0.0.1:1/none');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ msg: expect.stringContaining('not every connection could be opened') as unknown, fields: { opened: 0, wanted: 2, database: '127.0.0.1:1/none' } });
    expect(JSON.stringify(logged[0]?.fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))).not.toContain('s3cret-pw');
    expect(p.totalCount).toBe(0);
  });
});
