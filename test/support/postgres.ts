// PostgreSQL for the test suites: the server at TEST_POSTGRES_URL (default: the local one with
// trust authentication), a throwaway database per suite, and suites that run, skip or fail
// depending on whether the server answers. Without a server the suites are skipped and one plain
// line at the end of the run says how to run them; REQUIRE_POSTGRES=1 (CI) makes that a failure.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import pg from 'pg';
import { noteOnce } from './run-notices.ts';

export const DEFAULT_TEST_POSTGRES_URL = 'postgres://root@127.0.0.1:5432/postgres';
/** Throwaway databases are named `bot_test_<base-36 creation time>_<random>`. */
const PREFIX = 'bot_test_';
/** A database left behind by a run that was killed is dropped by a later run after this long. */
const STALE_MS = 6 * 60 * 60 * 1000;
const CONNECT_TIMEOUT_MS = 3000;

export type PostgresProbe = { reachable: true; url: string; version: string } | { reachable: false; url: string; reason: string };
export type SuiteMode = 'run' | 'skip' | 'fail';

export interface TestDatabase {
  /** Connection URL of the throwaway database (the server's URL with the database name swapped in). */
  url: string;
  name: string;
  /** Ends leftover connections and drops the database; a second call does nothing. */
  drop(): Promise<void>;
}

export const testPostgresUrl = (): string => process.env.TEST_POSTGRES_URL || DEFAULT_TEST_POSTGRES_URL;
export const postgresRequired = (): boolean => process.env.REQUIRE_POSTGRES === '1';

/** The URL without its password, fit for a message. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(TEST_POSTGRES_URL is not a valid URL)';
  }
}

/** Connects once and asks for the version; never throws. */
export async function probePostgres(url: string = testPostgresUrl()): Promise<PostgresProbe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { reachable: true, url, version: rows[0]?.server_version ?? 'unknown' };
  } catch (err) {
    return { reachable: false, url, reason: reasonOf(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = (err instanceof Error ? err.message : String(err)).replace(/^Error: /, '');
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

export function suiteMode(probe: PostgresProbe, required: boolean): SuiteMode {
  if (probe.reachable) return 'run';
  return required ? 'fail' : 'skip';
}

/** The one line a run without a server prints. */
export function skipNotice(probe: PostgresProbe): string {
  const why = probe.reachable ? '' : ` (${probe.reason})`;
  return (
    `PostgreSQL suites skipped: no PostgreSQL server at ${displayUrl(probe.url)}${why}. ` +
    'To run them, start PostgreSQL (on Debian: `pg_ctlcluster $(ls /etc/postgresql) main start`) or set TEST_POSTGRES_URL to a server where this user may create databases; ' +
    'REQUIRE_POSTGRES=1 turns this skip into a failure.'
  );
}

export function failureMessage(probe: PostgresProbe): string {
  const why = probe.reachable ? '' : `: ${probe.reason}`;
  return `REQUIRE_POSTGRES=1 but the PostgreSQL server at ${displayUrl(probe.url)} is unreachable${why}. Start it, or set TEST_POSTGRES_URL.`;
}

/** Probed once per test file, when this module loads. */
export const postgresServer: PostgresProbe = await probePostgres();

export interface DescribePostgresOptions {
  probe?: PostgresProbe;
  required?: boolean;
  /** Where the skip notice goes (default: printed once at the end of the run). */
  onSkip?: (line: string) => void;
}

/** `describe` when the server answers; skipped with a notice when not; failing under REQUIRE_POSTGRES=1. */
export function describePostgres(name: string, fn: () => void, options: DescribePostgresOptions = {}): void {
  const probe = options.probe ?? postgresServer;
  const mode = suiteMode(probe, options.required ?? postgresRequired());
  if (mode === 'run') {
    describe(name, fn);
  } else if (mode === 'skip') {
    // No server and none required (a contributor's laptop): skipped with a notice naming the fix.
    // CI sets REQUIRE_POSTGRES=1, where an unreachable server fails instead (below).
    (options.onSkip ?? noteOnce)(skipNotice(probe));
    describe.skip(name, fn);
  } else {
    describe(name, () => {
      it('needs a reachable PostgreSQL server', () => {
        throw new Error(failureMessage(probe));
      });
    });
  }
}

async function withAdmin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Ends every other session on `name`, then drops it; retried while a session is still going away. */
async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`);
      return;
    } catch (err) {
      // 55006 object_in_use: a session connected between the terminate and the drop.
      if ((err as { code?: unknown }).code !== '55006' || attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function createdAt(name: string): number | undefined {
  const stamp = new RegExp(`^${PREFIX}([0-9a-z]+)_[0-9a-f]+$`).exec(name)?.[1];
  return stamp === undefined ? undefined : parseInt(stamp, 36);
}

/** Drops throwaway databases that runs killed before their clean-up left behind (best effort). */
async function dropStale(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = pg_database.datname)`,
    [`${PREFIX}%`],
  );
  for (const { datname } of rows) {
    const at = createdAt(datname);
    if (at !== undefined && Date.now() - at > STALE_MS) await dropDatabase(client, datname).catch(() => undefined);
  }
}

/** Creates `bot_test_<time>_<random>` on the server and returns its URL and how to drop it. */
export async function withTestDatabase(serverUrl: string = testPostgresUrl()): Promise<TestDatabase> {
  const name = `${PREFIX}${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
  await withAdmin(serverUrl, async (client) => {
    await dropStale(client).catch(() => undefined);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop: () => (dropped ??= withAdmin(serverUrl, (client) => dropDatabase(client, name))),
  };
}

/** A throwaway database for the enclosing describe: created before its tests, dropped after. */
export function useTestDatabase(): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await withTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error('useTestDatabase(): the database exists only inside the tests of its describe');
    return db;
  };
}
