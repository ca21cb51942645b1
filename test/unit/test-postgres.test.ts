// The test support for PostgreSQL: a throwaway database is created, used and dropped (even with a
// session still open); an unreachable server skips the suites with one notice, or fails them
// under REQUIRE_POSTGRES=1; notices are printed once per run, without the URL's password.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import pg from 'pg';
import {
  describePostgres,
  displayUrl,
  failureMessage,
  probePostgres,
  skipNotice,
  suiteMode,
  testPostgresUrl,
  useTestDatabase,
  withTestDatabase,
  type PostgresProbe,
} from '../support/postgres.ts';
import globalSetup from '../support/jest-global-setup.ts';
import globalTeardown from '../support/jest-global-teardown.ts';
import { noteOnce, RUN_DIR_VARIABLE } from '../support/run-notices.ts';

const NOBODY = 'postgres://root:s3cret-pass@127.0.0.1:1/postgres';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: testPostgresUrl() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('probing the server', () => {
  it('reports an unreachable server with the reason, never throwing', async () => {
    const probe = await probePostgres(NOBODY);
    expect(probe).toEqual({ reachable: false, url: NOBODY, reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('runs when reachable, skips when not, fails when not and required', () => {
    const up: PostgresProbe = { reachable: true, url: NOBODY, version: '15.0' };
    const down: PostgresProbe = { reachable: false, url: NOBODY, reason: 'connect ECONNREFUSED 127.0.0.1:1' };
    expect([suiteMode(up, false), suiteMode(up, true), suiteMode(down, false), suiteMode(down, true)]).toEqual(['run', 'run', 'skip', 'fail']);
  });

  it('says how to run the suites, and never shows the password', () => {
    const down: PostgresProbe = { reachable: false, url: NOBODY, reason: 'connect ECONNREFUSED 127.0.0.1:1' };
    const notice = skipNotice(down);
    expect(notice).toMatch(/^PostgreSQL suites skipped: no PostgreSQL server at postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/postgres \(connect ECONNREFUSED/);
    expect(notice).toContain('TEST_POSTGRES_URL');
    expect(notice).toContain('REQUIRE_POSTGRES=1');
    expect(`${notice}${failureMessage(down)}${displayUrl('not a url s3cret-pass')}`).not.toContain('s3cret-pass');
  });
});

const skipped: string[] = [];
describePostgres(
  'a suite without a server',
  () => {
    it('is skipped, so this never runs', () => {
      throw new Error('ran a PostgreSQL suite without a server');
    });
  },
  { probe: { reachable: false, url: NOBODY, reason: 'connect ECONNREFUSED 127.0.0.1:1' }, required: false, onSkip: (line) => skipped.push(line) },
);

describe('the skip notice', () => {
  it('was left once, when the skipped suite was declared', () => {
    expect(skipped).toEqual([expect.stringMatching(/^PostgreSQL suites skipped: /)]);
  });
});

describe('notices printed once per run', () => {
  const saved = process.env[RUN_DIR_VARIABLE];
  afterEach(() => {
    if (saved === undefined) delete process.env[RUN_DIR_VARIABLE];
    else process.env[RUN_DIR_VARIABLE] = saved;
  });

  it('keeps each distinct line once and prints them after the run (global setup, suites, global teardown)', () => {
    globalSetup();
    const dir = process.env[RUN_DIR_VARIABLE] as string;
    expect(existsSync(dir)).toBe(true);
    noteOnce('PostgreSQL suites skipped: one');
    noteOnce('PostgreSQL suites skipped: one');
    noteOnce('another line');
    let printed = '';
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((text) => {
      printed += String(text);
      return true;
    });
    try {
      globalTeardown();
    } finally {
      write.mockRestore();
    }
    expect(printed).toBe('\nPostgreSQL suites skipped: one\nanother line\n');
    expect(existsSync(dir)).toBe(false);
    expect(process.env[RUN_DIR_VARIABLE]).toBeUndefined();
  });
});

describePostgres('a throwaway database', () => {
  const db = useTestDatabase();

  it('is created with a unique bot_test_ name on the server, and usable', async () => {
    expect(db().name).toMatch(/^bot_test_[0-9a-z]+_[0-9a-f]{10}$/);
    expect(new URL(db().url).pathname).toBe(`/${db().name}`);
    const client = new pg.Client({ connectionString: db().url });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
      await client.query("INSERT INTO t VALUES (1, 'one')");
      expect((await client.query('SELECT v FROM t')).rows).toEqual([{ v: 'one' }]);
    } finally {
      await client.end();
    }
  });

  it('is dropped even while a session is still connected (as after a SIGKILLed app)', async () => {
    const other = await withTestDatabase();
    const leftover = new pg.Client({ connectionString: other.url });
    const errors: Error[] = [];
    leftover.on('error', (err) => errors.push(err));
    await leftover.connect();
    expect(await databaseExists(other.name)).toBe(true);
    await other.drop();
    await other.drop();
    expect(await databaseExists(other.name)).toBe(false);
    // The leftover session was ended by the server, not left dangling.
    expect(errors.map((e) => e.message).join(' | ')).toContain('terminat');
    await leftover.end().catch(() => undefined);
  });
});
