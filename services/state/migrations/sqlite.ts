// Applies the migrations to a SQLite database as it is opened.
import type Database from 'better-sqlite3';
import { MIGRATIONS } from './list.ts';
import { pendingMigrations, type Migration, type MigrationReport } from './migration.ts';

const TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)';
/** Both of the app's connections open the file at start-up; the second waits for the first's migration. */
const OPEN_WAIT_MS = 10_000;

export function migrateSqlite(db: Database.Database, list: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): MigrationReport {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${OPEN_WAIT_MS}`);
  try {
    // IMMEDIATE: whoever migrates holds the write lock from the first read of the version.
    return db.transaction(() => {
      db.exec(TABLE);
      const applied = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
      const pending = pendingMigrations(list, applied);
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const m of pending) {
        db.exec(m.sqlite);
        record.run(m.version, m.name, now());
      }
      return report(applied, pending);
    }).immediate();
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

export function report(applied: readonly number[], pending: readonly Migration[]): MigrationReport {
  const from = Math.max(0, ...applied);
  return { from, to: pending.at(-1)?.version ?? from, applied: pending.map(({ version, name }) => ({ version, name })) };
}
