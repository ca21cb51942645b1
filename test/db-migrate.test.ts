// `npm run db:migrate`: the command against SQLite and PostgreSQL (what it applied, then nothing
// the second time), its exit codes (0 done, 1 failed, 2 nothing to migrate or bad configuration),
// a database newer than the code refused, and the real script run as a person would run it,
// without the database password in anything it prints.
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runMigrations } from '../scripts/db-migrate/command.ts';
import type { Output } from '../scripts/setup/output.ts';
import { MIGRATIONS } from '../services/state/migrations/list.ts';
import { tempDir } from './reliability/helpers.ts';
import { describePostgres, withTestDatabase } from './support/postgres.ts';
import { runScript, type ScriptRun } from './support/run-script.ts';

const LATEST = MIGRATIONS.at(-1)?.version ?? 0;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function collect(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { isTTY: false, lines, line: (text = '') => void lines.push(text) };
}

function sqliteUrl(): string {
  const dir = tempDir('db-migrate');
  cleanups.push(dir.remove);
  return `sqlite:${join(dir.path, 'nested', 'bot.db')}`;
}

const stepLines = MIGRATIONS.map((m) => `  applied ${m.version}: ${m.name}`);

describe('db:migrate command', () => {
  it('creates and upgrades a SQLite file, then finds nothing to apply', async () => {
    const url = sqliteUrl();
    const first = collect();
    expect(await runMigrations({ DATABASE_URL: url }, first)).toBe(0);
    expect(first.lines).toEqual([`Database: ${url}`, ...stepLines, `✔ schema version 0 → ${LATEST} (${MIGRATIONS.length} steps applied)`]);
    const second = collect();
    expect(await runMigrations({ DATABASE_URL: url }, second)).toBe(0);
    expect(second.lines).toEqual([`Database: ${url}`, `✔ schema version ${LATEST}: up to date, nothing to apply`]);
  });

  it('refuses a database newer than the code (exit 1), naming the versions', async () => {
    const url = sqliteUrl();
    await runMigrations({ DATABASE_URL: url }, collect());
    const db = new Database(url.slice('sqlite:'.length));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST + 1, 'future', 0);
    db.close();
    const out = collect();
    expect(await runMigrations({ DATABASE_URL: url }, out)).toBe(1);
    expect(out.lines[1]).toContain(`✖ the database is at schema version ${LATEST + 1}, newer than this release knows (${LATEST})`);
  });

  it('says memory: has nothing to migrate (exit 2)', async () => {
    const out = collect();
    expect(await runMigrations({ DATABASE_URL: 'memory:' }, out)).toBe(2);
    expect(out.lines.join('\n')).toMatch(/no schema to migrate/);
  });

  it('an unreachable PostgreSQL server fails with where it is and why, never the password (exit 1)', async () => {
    const out = collect();
    expect(await runMigrations({ DATABASE_URL: 'postgres://bot:s3cret-pw@127.0.0.1:1/bot' }, out)).toBe(1);
    expect(out.lines).toEqual(['Database: postgres://bot@127.0.0.1:1/bot', expect.stringMatching(/^✖ could not migrate: .*ECONNREFUSED/)]);
    expect(out.lines.join('\n')).not.toContain('s3cret-pw');
  });
});

describePostgres('db:migrate on PostgreSQL', () => {
  it('applies every step to an empty database, then nothing', async () => {
    const db = await withTestDatabase();
    cleanups.push(() => db.drop());
    const first = collect();
    expect(await runMigrations({ DATABASE_URL: db.url }, first)).toBe(0);
    expect(first.lines.slice(1)).toEqual([...stepLines, `✔ schema version 0 → ${LATEST} (${MIGRATIONS.length} steps applied)`]);
    const second = collect();
    expect(await runMigrations({ DATABASE_URL: db.url }, second)).toBe(0);
    expect(second.lines.slice(1)).toEqual([`✔ schema version ${LATEST}: up to date, nothing to apply`]);
  });
});

describe('npm run db:migrate (the script)', () => {
  const run = (env: Record<string, string>): Promise<ScriptRun> => {
    const dir = tempDir('db-migrate-cwd');
    cleanups.push(dir.remove);
    return runScript('scripts/db-migrate.ts', [], { cwd: dir.path, env });
  };

  it('migrates the configured database and exits 0; a bad setting exits 2 with the fix', async () => {
    const url = sqliteUrl();
    const done = await run({ DATABASE_URL: url });
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(done.stdout).toContain(`✔ schema version 0 → ${LATEST}`);
    const bad = await run({ DATABASE_URL: url, DATABASE_POOL_SIZE: '500' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DATABASE_POOL_SIZE: "500" is not a pool size from 1 to 100/);
  });
});
