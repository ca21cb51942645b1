// The stores the contract suite runs against: memory, SQLite (a temp file per test) and PostgreSQL
// (a throwaway database per suite, emptied before each test; skipped with a notice when no server
// answers, failing under REQUIRE_POSTGRES=1). Every contract test file describes its tests once
// with `describeEachStore`; they run for each store.
import { afterAll, afterEach, beforeAll, beforeEach, describe } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { silentLogger } from '../support/silent-logger.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { migratePostgres } from '../../services/state/migrations/postgres.ts';
import { createPostgresStore, type PostgresStore } from '../../services/state/postgres-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { tempDir } from '../reliability/helpers.ts';
import { describePostgres, useTestDatabase } from '../support/postgres.ts';

export type StoreKind = 'memory' | 'SQLite' | 'PostgreSQL';

/** Rows of a raw query ($1-style placeholders in both dialects). */
export type RawSql = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

export interface StoreUnderTest {
  kind: StoreKind;
  /**
   * A store on this test's data. Each call opens another one on the same data, as a second
   * instance (or the webhook's thread) would; memory has one store, so it returns that one.
   */
  open(): Promise<BotStore>;
  /** Raw SQL on the test's database (SQLite, PostgreSQL), e.g. to damage a row; undefined for memory. */
  sql: RawSql | undefined;
  /** The PostgreSQL store's URL (PostgreSQL only). */
  url: string | undefined;
}

type Body = (store: () => StoreUnderTest) => void;

export function describeEachStore(title: string, body: Body): void {
  describeMemory(title, body);
  describeSqlite(title, body);
  describePostgresStore(title, body);
}

function describeMemory(title: string, body: Body): void {
  describe(`memory store: ${title}`, () => {
    let store: BotStore | undefined;
    beforeEach(() => {
      store = undefined;
    });
    const subject: StoreUnderTest = {
      kind: 'memory',
      open: () => Promise.resolve((store ??= createMemoryStore())),
      sql: undefined,
      url: undefined,
    };
    body(() => subject);
  });
}

function describeSqlite(title: string, body: Body): void {
  describe(`SQLite store: ${title}`, () => {
    let dir: { path: string; remove: () => void } | undefined;
    let raw: Database.Database | undefined;
    const opened: BotStore[] = [];
    const path = (): string => {
      dir ??= tempDir('store-contract');
      return join(dir.path, 'bot.db');
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      raw?.close();
      raw = undefined;
      dir?.remove();
      dir = undefined;
    });
    const subject: StoreUnderTest = {
      kind: 'SQLite',
      open: () => {
        const store = createSqliteStore(path());
        opened.push(store);
        return Promise.resolve(store);
      },
      sql: (text, params = []) => {
        raw ??= new Database(path());
        const statement = raw.prepare(text.replace(/\$(\d+)/g, '?$1'));
        // `?1`, `?2`… are bound by name.
        const named = Object.fromEntries(params.map((p, i) => [i + 1, p]));
        if (statement.reader) return Promise.resolve(statement.all(named) as Record<string, unknown>[]);
        statement.run(named);
        return Promise.resolve([]);
      },
      url: undefined,
    };
    body(() => subject);
  });
}

/** Tests of what only the PostgreSQL store has (the same set-up as its contract suites). */
export function describePostgresStore(title: string, body: Body): void {
  describePostgres(`PostgreSQL store: ${title}`, () => {
    const database = useTestDatabase();
    let admin: pg.Pool | undefined;
    const opened: PostgresStore[] = [];
    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: database().url, max: 2 });
      // Dropping the database at the end ends its idle connections.
      admin.on('error', () => undefined);
      await migratePostgres(admin);
    });
    afterAll(async () => {
      await admin?.end();
    });
    beforeEach(async () => {
      const { rows } = await adminPool().query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'");
      await adminPool().query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY`);
    });
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    const adminPool = (): pg.Pool => {
      if (!admin) throw new Error('the test database is not ready');
      return admin;
    };
    const subject: StoreUnderTest = {
      kind: 'PostgreSQL',
      open: async () => {
        const store = await createPostgresStore({ url: database().url, poolSize: 4, applicationName: 'store-contract', log: silentLogger });
        opened.push(store);
        return store;
      },
      sql: async (text, params = []) => (await adminPool().query(text, params)).rows as Record<string, unknown>[],
      get url() {
        return database().url;
      },
    };
    body(() => subject);
  });
}
