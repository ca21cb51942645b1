// Applies the migrations to a PostgreSQL database. Instances that start at the same moment take
// turns on an advisory lock, so each migration runs once; each runs in its own transaction.
import type { Pool } from 'pg';
import { MIGRATIONS } from './list.ts';
import { pendingMigrations, type Migration, type MigrationReport } from './migration.ts';
import { report } from './sqlite.ts';

/** pg_advisory_lock(key1, key2): 0x626f74 is "bot"; 1 is "migrations". */
export const LOCK_CLASS = 0x626f74;
const MIGRATE_LOCK = 1;

export async function migratePostgres(pool: Pool, list: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, MIGRATE_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = rows.map((r) => Number(r.version));
      const pending = pendingMigrations(list, applied);
      for (const m of pending) {
        await client.query('BEGIN');
        try {
          await client.query(m.postgres);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return report(applied, pending);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, MIGRATE_LOCK]);
    }
  } finally {
    client.release();
  }
}
