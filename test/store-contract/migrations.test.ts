// The store contract, part 5: schema migrations, for the stores with a schema (SQLite, PostgreSQL).
// An empty database reaches the latest version, a second run applies nothing, instances starting
// together on PostgreSQL apply each step once, a database newer than the code is refused, and a
// database made by the release before migrations (with events and replies waiting) is upgraded
// and its waiting rows get lanes.
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { silentLogger } from '../support/silent-logger.ts';
import { MIGRATIONS } from '../../services/state/migrations/list.ts';
import { SchemaVersionError } from '../../services/state/migrations/migration.ts';
import { migratePostgres } from '../../services/state/migrations/postgres.ts';
import { migrateSqlite } from '../../services/state/migrations/sqlite.ts';
import { createPostgresStore } from '../../services/state/postgres-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { tempDir } from '../reliability/helpers.ts';
import { describePostgres, withTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { laneOf, psid, replyText } from './fixtures.ts';

const LATEST = MIGRATIONS.at(-1)?.version ?? 0;
const ALL_APPLIED = MIGRATIONS.map(({ version, name }) => ({ version, name }));
const OWNER = 'host-a:101:aaaa';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const event = (user: number, text: string) => JSON.stringify({ kind: 'message', channel: 'messenger', sender: { id: psid(user) }, message: { mid: `m_${text}`, text } });
const action = (user: number, text: string) => JSON.stringify({ type: 'message', recipient: { id: psid(user) }, message: { text } });

/** Rows a release before migrations left waiting: user 1 has two events and a reply, user 2 one event. */
const OLD_ROWS: { sql: string; params: unknown[] }[] = [
  { sql: 'INSERT INTO inbox (lane, ts, event) VALUES ($1, $2, $3)', params: [laneOf(1), 1, event(1, 'first')] },
  { sql: 'INSERT INTO inbox (lane, ts, event) VALUES ($1, $2, $3)', params: [laneOf(2), 2, event(2, 'other')] },
  { sql: 'INSERT INTO inbox (lane, ts, event) VALUES ($1, $2, $3)', params: [laneOf(1), 3, event(1, 'second')] },
  { sql: 'INSERT INTO outbox (lane, user_key, event_id, action, next_attempt_at) VALUES ($1, $2, $3, $4, $5)', params: [laneOf(1), laneOf(1), 0, action(1, 'queued reply'), 0] },
];

/** better-sqlite3 binds `?1`, `?2`… by name. */
const numbered = (params: unknown[]): Record<number, unknown> => Object.fromEntries(params.map((p, i) => [i + 1, p]));

/** What an upgraded store must show of OLD_ROWS. */
async function expectOldRowsInLanes(store: BotStore): Promise<void> {
  const claimed = await store.claimInboxLanes(OWNER, 10, 10_000, Date.now());
  expect(claimed.map((c) => c.lane).sort()).toEqual([laneOf(1), laneOf(2)]);
  const rows = await store.laneEvents(laneOf(1), 10);
  expect(rows.map((r) => r.attempts)).toEqual([0, 0]);
  expect(await Promise.all(rows.map(async (r) => ((await store.inboxEvent(r.id)) as { message?: { text?: string } } | undefined)?.message?.text))).toEqual(['first', 'second']);
  expect(await store.claimOutboxLanes(OWNER, 10, 10_000, Date.now())).toEqual([laneOf(1)]);
  expect(replyText(await store.outboxHead(laneOf(1)))).toBe('queued reply');
  expect(await store.backlog()).toMatchObject({ inbox: 3, outbox: 1 });
}

describe('SQLite schema migrations', () => {
  const path = (): string => {
    const dir = tempDir('migrations');
    cleanups.push(dir.remove);
    return join(dir.path, 'bot.db');
  };
  const open = (file: string): Database.Database => {
    const db = new Database(file);
    cleanups.unshift(() => db.close());
    return db;
  };

  it('an empty database reaches the latest version; a second run applies nothing', () => {
    const db = open(path());
    expect(migrateSqlite(db)).toEqual({ from: 0, to: LATEST, applied: ALL_APPLIED });
    expect(migrateSqlite(db)).toEqual({ from: LATEST, to: LATEST, applied: [] });
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('the store brings a new file to the latest version as it opens it', () => {
    const file = path();
    const store = createSqliteStore(file);
    cleanups.unshift(() => store.close());
    expect(open(file).prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(LATEST);
  });

  it('a database newer than the code is refused with the versions named', () => {
    const file = path();
    const db = open(file);
    migrateSqlite(db);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST + 1, 'from the future', Date.now());
    expect(() => migrateSqlite(db)).toThrow(SchemaVersionError);
    expect(() => createSqliteStore(file)).toThrow(new RegExp(`schema version ${LATEST + 1}, newer than this release knows \\(${LATEST}\\)`));
  });

  it('a file made by the release before migrations is upgraded, and its waiting events and replies get lanes', async () => {
    const file = path();
    const old = new Database(file);
    old.exec(MIGRATIONS[0]?.sqlite ?? '');
    for (const row of OLD_ROWS) old.prepare(row.sql.replace(/\$(\d+)/g, '?$1')).run(numbered(row.params));
    old.close();

    const store = createSqliteStore(file);
    cleanups.unshift(() => store.close());
    expect(open(file).prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    await expectOldRowsInLanes(store);
  });
});

describePostgres('PostgreSQL schema migrations', () => {
  const database = async (): Promise<TestDatabase> => {
    const db = await withTestDatabase();
    cleanups.push(() => db.drop());
    return db;
  };
  const pool = (db: TestDatabase): pg.Pool => {
    const p = new pg.Pool({ connectionString: db.url, max: 2 });
    p.on('error', () => undefined);
    cleanups.unshift(() => p.end());
    return p;
  };
  const versions = async (p: pg.Pool): Promise<number[]> => (await p.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);

  it('an empty database reaches the latest version; a second run applies nothing', async () => {
    const p = pool(await database());
    expect(await migratePostgres(p)).toEqual({ from: 0, to: LATEST, applied: ALL_APPLIED });
    expect(await migratePostgres(p)).toEqual({ from: LATEST, to: LATEST, applied: [] });
    expect(await versions(p)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('instances starting at the same moment apply each migration once', async () => {
    const db = await database();
    const reports = await Promise.all([pool(db), pool(db), pool(db)].map((p) => migratePostgres(p)));
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
    expect(await versions(pool(db))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('the store applies the migrations as it opens, and a database newer than the code is refused with the versions named', async () => {
    const db = await database();
    const store = await createPostgresStore({ url: db.url, poolSize: 2, applicationName: 'migrations-test', log: silentLogger });
    expect(store.migrations).toEqual({ from: 0, to: LATEST, applied: ALL_APPLIED });
    await store.close();
    const p = pool(db);
    await p.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [LATEST + 1, 'from the future', Date.now()]);
    const opening = createPostgresStore({ url: db.url, poolSize: 2, applicationName: 'migrations-test', log: silentLogger });
    await expect(opening).rejects.toThrow(SchemaVersionError);
    await expect(opening).rejects.toThrow(new RegExp(`schema version ${LATEST + 1}, newer than this release knows \\(${LATEST}\\)`));
  });

  it('a database at version 1 with events and replies waiting is upgraded, and its waiting rows get lanes', async () => {
    const db = await database();
    const p = pool(db);
    await migratePostgres(p, MIGRATIONS.slice(0, 1));
    for (const row of OLD_ROWS) await p.query(row.sql, row.params);
    const store = await createPostgresStore({ url: db.url, poolSize: 2, applicationName: 'migrations-test', log: silentLogger });
    cleanups.unshift(() => store.close());
    expect(store.migrations).toEqual({ from: 1, to: LATEST, applied: ALL_APPLIED.slice(1) });
    await expectOldRowsInLanes(store);
  });
});
