// The PostgreSQL rate gate against a real server: three gates on three pools (as three instances
// would be) share one limit, and the mock Graph server never sees more than the limit arrive in any
// 1-second window, while throughput stays near what the rule allows. Also: FIFO, the in-flight
// timeout of an instance that died, pruning, media, a kind with a longer window (private replies),
// and a clear error when the table is missing.
// Runs on a throwaway database; skipped with a message when no server is reachable, unless
// REQUIRE_POSTGRES=1.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createLogger } from '../services/logger.ts';
import { silentLogger } from './support/silent-logger.ts';
import { createPgRateGate, SEND_GRANTS_POSTGRES_DDL, SEND_GRANTS_TAKE_FUNCTION_DDL, type PgRateGateOptions } from '../services/outbox/pg-rate-gate.ts';
import type { Grant, RateGate } from '../services/outbox/rate-gate.ts';
import { maxInWindow, sustainedRate } from './support/arrival-window.ts';
import { attainableRate, runGatedSends } from './support/gated-sends.ts';
import { startMockGraph, type MockGraph } from './support/mock-graph-server.ts';

// Test settings, not app config: where the throwaway databases are made, and whether skipping is allowed.
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const REQUIRED = process.env.REQUIRE_POSTGRES === '1';

async function unreachableReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await unreachableReason();
if (unreachable && !REQUIRED) {
  process.stdout.write(
    `rate-gate-postgres: SKIPPED, no PostgreSQL at ${ADMIN_URL} (${unreachable}). Start one (e.g. pg_ctlcluster 15 main start) or set TEST_POSTGRES_URL; REQUIRE_POSTGRES=1 turns this skip into a failure.\n`,
  );
}
const describePg = unreachable && !REQUIRED ? describe.skip : describe;

const LIMIT = 100;

describePg('PostgreSQL rate gate', () => {
  const database = `bot_test_${randomBytes(6).toString('hex')}`;
  let admin: pg.Client;
  let dbUrl = '';
  const pools: pg.Pool[] = [];
  const gates: RateGate[] = [];
  let mock: MockGraph | undefined;

  const newPool = (max = 4): pg.Pool => {
    const pool = new pg.Pool({ connectionString: dbUrl, max });
    pools.push(pool);
    return pool;
  };
  const newGate = (options: Partial<PgRateGateOptions> = {}): RateGate => {
    const gate = createPgRateGate({ pool: newPool(), limit: LIMIT, log: silentLogger, ...options });
    gates.push(gate);
    return gate;
  };
  const rows = async (sql: string): Promise<Record<string, unknown>[]> => (await newPool(1).query(sql)).rows as Record<string, unknown>[];

  beforeAll(async () => {
    if (unreachable) throw new Error(`REQUIRE_POSTGRES=1 but no PostgreSQL at ${ADMIN_URL}: ${unreachable}`);
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    dbUrl = url.toString();
    const setup = new pg.Client({ connectionString: dbUrl });
    await setup.connect();
    // Twice: the migration may be applied to a database that has it.
    await setup.query(SEND_GRANTS_POSTGRES_DDL + SEND_GRANTS_TAKE_FUNCTION_DDL);
    await setup.query(SEND_GRANTS_POSTGRES_DDL + SEND_GRANTS_TAKE_FUNCTION_DDL);
    await setup.end();
  });

  afterEach(async () => {
    for (const gate of gates.splice(0)) await gate.close();
    for (const pool of pools.splice(0)) await pool.end();
    await mock?.close();
    mock = undefined;
    await newPool(1).query('TRUNCATE send_grants');
    for (const pool of pools.splice(0)) await pool.end();
  });

  afterAll(async () => {
    if (!admin) return;
    // Closed clients' server processes exit a moment after the client has ended; forcing the drop
    // while one is still there would send a FATAL to a client that no longer listens for errors.
    for (let i = 0; i < 50; i += 1) {
      const { rows: left } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
      if ((left[0]?.n ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('three instances share one limit: never more than 100 arrive in any 1 s window at Graph latency 0–50 ms, at ≥ 85 % of the limit', async () => {
    /** One measurement: three gates on fresh pools, 720 sends; the limit must hold in every one. */
    const measure = async (): Promise<{ rate: number; floor: number }> => {
      for (const gate of gates.splice(0)) await gate.close();
      await mock?.close();
      await newPool(1).query('TRUNCATE send_grants');
      mock = await startMockGraph({ latencyMs: () => Math.random() * 50 });
      const m = mock;
      const trio = [newGate(), newGate(), newGate()];
      const runs = await Promise.all(trio.map((gate) => runGatedSends({ mock: m, lanes: 24, perLane: 10, acquire: (media) => gate.acquire('page', { media }) })));
      const arrivals = m.sends().map((c) => c.at);
      const rate = sustainedRate(arrivals, LIMIT);
      const attainable = attainableRate(LIMIT, runs.flatMap((r) => r.heldMs));
      process.stdout.write(`rate-gate-postgres: 3 instances, Graph latency 0–50 ms: ${arrivals.length} calls, at most ${maxInWindow(arrivals)} arrived in any 1 s window, ${rate.toFixed(1)}/s sustained (${attainable.toFixed(1)}/s attainable at the measured hold)\n`);
      expect(arrivals).toHaveLength(3 * 24 * 10);
      expect(runs.reduce((n, r) => n + r.failures, 0)).toBe(0);
      expect(maxInWindow(arrivals)).toBeLessThanOrEqual(LIMIT);
      // The table keeps about one second's worth of rows, not the history.
      const [count] = await rows('SELECT count(*)::int AS n FROM send_grants');
      expect(count?.n).toBeLessThanOrEqual(LIMIT + 32);
      // ≥ 85 % of the limit (measured 89–97 %), unless this busy machine's own round trips already
      // hold grants so long that the rule allows less: then within 10 % of what it allows.
      return { rate, floor: Math.min(LIMIT * 0.85, attainable * 0.9) };
    };
    let { rate, floor } = await measure();
    if (rate < floor) {
      // Throughput alone is measured once more: beside the rest of the suite on two cores, the
      // senders' own event loop can be what was slow (seen: 84 % there, 96 % alone). The limit
      // is never given a second chance: every measurement above asserted it.
      process.stdout.write(`rate-gate-postgres: ${rate.toFixed(1)}/s is under ${floor.toFixed(1)}/s; measuring once more\n`);
      ({ rate, floor } = await measure());
    }
    expect(rate).toBeGreaterThanOrEqual(floor);
  }, 120_000);

  it.each([0, 200])('throughput with three instances at %i ms of Graph latency, never over the limit', async (latency) => {
    mock = await startMockGraph({ latencyMs: latency });
    const m = mock;
    const trio = [newGate(), newGate(), newGate()];
    const runs = await Promise.all(trio.map((gate) => runGatedSends({ mock: m, lanes: 24, perLane: 7, acquire: () => gate.acquire('page') })));
    const arrivals = m.sends().map((c) => c.at);
    const rate = sustainedRate(arrivals, LIMIT);
    const attainable = attainableRate(LIMIT, runs.flatMap((r) => r.heldMs));
    process.stdout.write(`rate-gate-postgres: 3 instances, Graph latency ${latency} ms: ${rate.toFixed(1)}/s sustained (${Math.round((rate / LIMIT) * 100)} % of ${LIMIT}; ${attainable.toFixed(1)}/s attainable at the measured hold), at most ${maxInWindow(arrivals)} in any 1 s window\n`);
    expect(runs.reduce((n, r) => n + r.failures, 0)).toBe(0);
    expect(maxInWindow(arrivals)).toBeLessThanOrEqual(LIMIT);
    expect(rate).toBeGreaterThan(attainable * 0.8);
  }, 90_000);

  it('racing instances never grant more than the limit between them (the per-account lock and the count after it)', async () => {
    // No smoothing (a window of 1 s allows the whole limit at once), no done: exactly 20 grants, ever.
    const racers = Array.from({ length: 4 }, () => newGate({ limit: 20, smoothingMs: 1000, maxBatch: 3 }));
    let granted = 0;
    for (const gate of racers) for (let i = 0; i < 15; i += 1) void gate.acquire('race').then(() => (granted += 1), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(granted).toBe(20);
    const [count] = await rows(`SELECT count(*)::int AS n FROM send_grants WHERE account = 'race'`);
    expect(count?.n).toBe(20);
  }, 30_000);

  it('serves one instance’s waiters in order, and a slot frees one second after done', async () => {
    const gate = newGate({ limit: 3 });
    const order: number[] = [];
    const grants: Grant[] = [];
    const started = performance.now();
    const all = Array.from({ length: 6 }, (_, i) =>
      gate.acquire('fifo').then((g) => {
        order.push(i);
        grants.push(g);
        return performance.now() - started;
      }),
    );
    // The first three 100 ms apart (a limit of 3 smooths to one per 100 ms), then nothing until done + 1 s.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(order).toEqual([0, 1, 2]);
    const doneAt = performance.now() - started;
    for (const g of grants.splice(0)) g.done();
    const times = await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    for (const t of times.slice(3)) expect(t).toBeGreaterThanOrEqual(doneAt + 1000 - 5);
  }, 30_000);

  it('the grants of an instance that died expire after the in-flight timeout; another instance then goes on', async () => {
    const dead = newGate({ limit: 5, inFlightTimeoutMs: 500 });
    const firstGrant = performance.now();
    for (let i = 0; i < 5; i += 1) await dead.acquire('orphaned'); // never done: the instance is "killed"
    const survivor = newGate({ limit: 5, inFlightTimeoutMs: 500 });
    await survivor.acquire('orphaned');
    const waited = performance.now() - firstGrant;
    // The first orphaned grant stops counting 0.5 s + 1 s after it was given (the database's clock).
    expect(waited).toBeGreaterThan(1500 - 20);
    expect(waited).toBeLessThan(3000);
  }, 30_000);

  it('audio and video keep to 10/s across instances, inside the account limit', async () => {
    mock = await startMockGraph({ latencyMs: () => Math.random() * 30 });
    const m = mock;
    const pair = [newGate(), newGate()];
    await Promise.all(pair.map((gate) => runGatedSends({ mock: m, lanes: 8, perLane: 4, acquire: (media) => gate.acquire('page', { media }), isMedia: (_, n) => n % 2 === 0 })));
    const sends = m.sends();
    const media = sends.filter((c) => JSON.stringify(c.body).includes('"video"')).map((c) => c.at);
    expect(media).toHaveLength(32);
    expect(maxInWindow(media)).toBeLessThanOrEqual(10);
    expect(maxInWindow(sends.map((c) => c.at))).toBeLessThanOrEqual(LIMIT);
  }, 30_000);

  it('accounts are counted apart, each with its own limit', async () => {
    const gate = newGate({ limit: (account) => (account === 'small' ? 2 : 50) });
    const timeFor = async (account: string, n: number): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < n; i += 1) (await gate.acquire(account)).done();
      return performance.now() - started;
    };
    const [small, big] = await Promise.all([timeFor('small', 3), timeFor('big', 20)]);
    // The third 'small' call waits for the first one's second; 'big' is not held up by it.
    expect(small).toBeGreaterThanOrEqual(990);
    expect(big).toBeLessThan(900);
  }, 30_000);

  it('a kind with a longer window (private replies) is shared by instances and counted per its window, on top of the account limit', async () => {
    const kinds = { private_reply: { limit: 3, windowMs: 3000 } };
    const [a, b] = [newGate({ kinds }), newGate({ kinds })];
    const grantedAt: number[] = [];
    const started = performance.now();
    const take = async (gate: RateGate): Promise<void> => {
      const grant = await gate.acquire('ig', { kind: 'private_reply' });
      grantedAt.push(performance.now() - started);
      grant.done();
    };
    await Promise.all([take(a), take(b), take(a), take(b), take(a)]);
    grantedAt.sort((x, y) => x - y);
    // Three at once between the two instances; the fourth only 3 s after the first was done.
    expect(grantedAt[2]).toBeLessThan(1500);
    expect(grantedAt[3]).toBeGreaterThanOrEqual(2950);
    const [row] = await rows("SELECT count(*)::int AS n FROM send_grants WHERE account = 'ig/private_reply'");
    expect(row?.n).toBeGreaterThanOrEqual(3);
    // The account's own limit counted them as well.
    const [main] = await rows("SELECT count(*)::int AS n FROM send_grants WHERE account = 'ig'");
    expect(main?.n).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a database without the grants table and function: acquire fails with PostgreSQL’s error, logged, and works once they exist', async () => {
    const lines: string[] = [];
    const pool = newPool();
    const schema = `s_${randomBytes(4).toString('hex')}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    const scoped = new pg.Pool({ connectionString: dbUrl, max: 2, options: `-c search_path=${schema}` });
    pools.push(scoped);
    const gate = createPgRateGate({ pool: scoped, limit: 5, log: createLogger({ level: 'error', write: (l) => lines.push(l) }) });
    gates.push(gate);
    await expect(gate.acquire('page')).rejects.toThrow(/function bot_take_grants\(.*\) does not exist/);
    expect(lines.join('\n')).toContain('could not take a grant');
    await scoped.query(SEND_GRANTS_POSTGRES_DDL + SEND_GRANTS_TAKE_FUNCTION_DDL);
    await expect(gate.acquire('page')).resolves.toBeDefined();
  }, 30_000);
});
