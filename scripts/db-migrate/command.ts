// `npm run db:migrate`: applies the schema migrations the configured database lacks, and says
// what it did (from which version to which, each step applied). The app applies them itself at
// start-up; this runs them on purpose, e.g. before a rolling deploy. Several runs at once (or a run
// while instances start) apply each step once: PostgreSQL takes an advisory lock, SQLite its
// write lock.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../services/config.ts';
import type { MigrationReport } from '../../services/state/migrations/migration.ts';
import { SchemaVersionError } from '../../services/state/migrations/migration.ts';
import { migratePostgres } from '../../services/state/migrations/postgres.ts';
import { migrateSqlite } from '../../services/state/migrations/sqlite.ts';
import { isPostgresUrl } from '../../services/state/open-store.ts';
import { createPostgresPool } from '../../services/state/postgres-pool.ts';
import { describeDatabase } from '../../services/state/database-url.ts';
import { reasonOf } from '../../services/state/store.ts';
import { EXIT, type ExitCode } from '../setup/context.ts';
import { mark, type Output } from '../setup/output.ts';

export async function runMigrations(config: Pick<Config, 'DATABASE_URL'>, out: Output): Promise<ExitCode> {
  const url = config.DATABASE_URL;
  if (url === 'memory:') {
    out.line('DATABASE_URL=memory: keeps nothing between runs, so it has no schema to migrate.');
    out.line('Set DATABASE_URL to sqlite:PATH or postgres://USER:PASSWORD@HOST:5432/DATABASE.');
    return EXIT.USAGE;
  }
  const where = isPostgresUrl(url) ? describeDatabase(url) : url;
  out.line(`Database: ${where}`);
  let report: MigrationReport;
  try {
    report = isPostgresUrl(url) ? await migrateOnPostgres(url) : migrateOnSqlite(url.slice('sqlite:'.length));
  } catch (err) {
    out.line(`${mark(out, false)} ${err instanceof SchemaVersionError ? err.message : `could not migrate: ${reasonOf(err)}`}`);
    return EXIT.FAILED;
  }
  for (const step of report.applied) out.line(`  applied ${step.version}: ${step.name}`);
  out.line(
    report.applied.length === 0
      ? `${mark(out, true)} schema version ${report.to}: up to date, nothing to apply`
      : `${mark(out, true)} schema version ${report.from} → ${report.to} (${report.applied.length} step${report.applied.length === 1 ? '' : 's'} applied)`,
  );
  return EXIT.OK;
}

async function migrateOnPostgres(url: string): Promise<MigrationReport> {
  // An idle connection's error also fails the query that is using it, which reports it.
  const pool = createPostgresPool({ url, max: 1, applicationName: 'bot:db-migrate', onError: () => undefined });
  try {
    return await migratePostgres(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function migrateOnSqlite(path: string): MigrationReport {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    return migrateSqlite(db);
  } finally {
    db.close();
  }
}
