// The rate gate for several instances on one PostgreSQL database: the same rule as the local gate
// (services/outbox/rate-gate.ts, where the proof is), kept in the `send_grants` table so that every
// instance counts every instance's calls. A grant is a row; it counts while `until_ms` is ahead of
// the database's clock: `granted + in-flight timeout + window` while the call is in flight (so the
// grant of an instance that died expires on its own), `done + window` once done. The window is 1 s
// for the Send API and its media limit, an hour for Instagram's private replies.
//
// Why each piece:
// - One short transaction per batch of grants, serialised per account by an advisory transaction
//   lock: grants for an account are totally ordered across instances, as the proof needs. The lock
//   is taken in its own statement before the counting one, because under READ COMMITTED a statement
//   sees the rows committed before it *started*; a count in the same statement as the lock wait
//   could miss a grant committed while it waited. The transaction is READ COMMITTED explicitly for
//   the same reason (a REPEATABLE READ default would freeze the snapshot before the lock). BEGIN,
//   the take (the function `bot_take_grants`: the lock, then the count, each its own statement)
//   and COMMIT go as one simple query: one round trip.
// - Every time is the database's (`clock_timestamp()`, read after the lock): instances' clocks may
//   disagree, the database's is one clock. An instance only ever turns a database time difference
//   into a local wait, and reports done as "so many ms ago", which the database turns into its time.
// - Rounding is conservative: "now" is rounded down, done times up.
// - done() is written in batches (one UPDATE for all the grants done while the previous one ran),
//   tracked, and its errors logged; a lost update is safe, the row then just counts until its
//   in-flight timeout.
// - A full account waits until the earliest `until_ms` the query returned (no tight polling); only
//   when every counting grant is still in flight, whose end nobody knows yet, does it look again
//   after `pollMs`.
// - Expired rows of the account are deleted by the same statement, so the table stays about
//   `limit` rows per account.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../logger.ts';
import {
  acquireLimits,
  burstFor,
  checkWindows,
  IN_FLIGHT_TIMEOUT_MS,
  limitFor,
  nextRoomAt,
  RateGateClosedError,
  realGateClock,
  SMOOTHING_MS,
  windowOf,
  type GateClock,
  type Grant,
  type LimitName,
  type LimitOptions,
  type LimitShape,
  type RateGate,
} from './rate-gate.ts';
import { inlineStatement } from '../state/postgres-inline.ts';

/** The table, for the PostgreSQL migrations. `account` is a Page or Instagram account id, `<id>/media` or `<id>/<kind>`. */
export const SEND_GRANTS_POSTGRES_DDL = `
CREATE TABLE IF NOT EXISTS send_grants (
  id BIGSERIAL PRIMARY KEY,
  account TEXT NOT NULL,
  granted_ms BIGINT NOT NULL,
  until_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS send_grants_account_until ON send_grants (account, until_ms);
`;

/** First key of the two-key advisory locks taken per account (an arbitrary constant: "sg"). */
export const SEND_GRANTS_LOCK_CLASS = 0x7367;

const NOW_MS = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

const TAKE = 'SELECT * FROM bot_take_grants($1, $2, $3, $4, $5, $6, $7, $8)';

/**
 * The take, as a function created by migration 3 (services/state/migrations/list.ts; a change goes
 * in a new migration). A function's statements are planned once per connection and kept, where
 * a statement sent with its values written in is planned on every call (about half a millisecond
 * of the database's time per send); it lives in the schema, not the session, so it works behind
 * a transaction-pooling PgBouncer. It is VOLATILE: under READ COMMITTED each of its statements
 * takes a new snapshot, so the count, after the lock, sees every grant committed while the lock
 * was awaited. Parameters: $1 account, $2 grants wanted, $3 limit, $4 smoothing window, $5 burst,
 * $6 in-flight hold, $7 and $8 the advisory lock's keys.
 */
export const SEND_GRANTS_TAKE_FUNCTION_DDL = `
CREATE OR REPLACE FUNCTION bot_take_grants(text, int, int, bigint, int, bigint, int, int)
RETURNS TABLE (now_ms float8, counted int, earliest float8, recent float8[], ids text[])
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock($7, $8);
  RETURN QUERY
  WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now_ms),
  pruned AS (DELETE FROM send_grants g USING clock WHERE g.account = $1 AND g.until_ms <= clock.now_ms),
  live AS MATERIALIZED (SELECT g.granted_ms, g.until_ms FROM send_grants g, clock WHERE g.account = $1 AND g.until_ms > clock.now_ms),
  occupancy AS (
    SELECT count(*)::int AS counted, min(live.until_ms) AS earliest,
           coalesce(array_agg(live.granted_ms ORDER BY live.granted_ms) FILTER (WHERE live.granted_ms > clock.now_ms - $4), '{}') AS recent
    FROM live, clock GROUP BY clock.now_ms
  ),
  room AS (
    SELECT greatest(0, least($2, $3 - coalesce(o.counted, 0), $5 - coalesce(cardinality(o.recent), 0))) AS n
    FROM clock LEFT JOIN occupancy o ON true
  ),
  inserted AS (
    INSERT INTO send_grants (account, granted_ms, until_ms)
    SELECT $1, clock.now_ms, clock.now_ms + $6 FROM clock, room, generate_series(1, room.n)
    RETURNING id
  )
  SELECT clock.now_ms::float8, coalesce(o.counted, 0), o.earliest::float8,
         coalesce(o.recent, '{}')::float8[], (SELECT coalesce(array_agg(i.id ORDER BY i.id), '{}') FROM inserted i)::text[]
  FROM clock LEFT JOIN occupancy o ON true;
END
$fn$;
`;

// $1 grant ids, $2 how long ago each was done (ms), $3 how long each keeps counting after (its window).
const DONE = { name: 'bot_grants_done', text: `
UPDATE send_grants g
SET until_ms = greatest(g.granted_ms, ceil(extract(epoch FROM clock_timestamp()) * 1000)::bigint - v.ago) + v.window_ms
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, ago, window_ms)
WHERE g.id = v.id` };

export interface PgRateGateOptions extends LimitOptions {
  pool: Pool;
  log: Logger;
  inFlightTimeoutMs?: number;
  smoothingMs?: number;
  /** How soon to look again when every counting grant is in flight (default 100 ms). */
  pollMs?: number;
  /** Most grants one transaction gives (default 32). */
  maxBatch?: number;
  /** For waits and for done(atMs); the grants themselves are timed by the database. */
  clock?: GateClock;
}

interface TakeResult {
  now_ms: number;
  counted: number;
  earliest: number | null;
  recent: number[];
  ids: string[];
}

interface Waiter {
  resolve(grant: Grant): void;
  reject(err: Error): void;
}

interface AccountQueue {
  key: string;
  /** The account the key belongs to, and which of its limits the key counts. */
  account: string;
  name: LimitName;
  windowMs: number;
  waiters: Waiter[];
  serving: Promise<void> | undefined;
  /** Ends the current wait early (close). */
  wake: (() => void) | undefined;
}

export function createPgRateGate(options: PgRateGateOptions): RateGate {
  const clock = options.clock ?? realGateClock;
  const smoothingMs = options.smoothingMs ?? SMOOTHING_MS;
  checkWindows(options);
  const inFlightMs = options.inFlightTimeoutMs ?? IN_FLIGHT_TIMEOUT_MS;
  const pollMs = options.pollMs ?? 100;
  const maxBatch = options.maxBatch ?? 32;
  const queues = new Map<string, AccountQueue>();
  const doneQueue: { id: string; ago: number; windowMs: number }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;

  const flushDone = async (): Promise<void> => {
    while (doneQueue.length > 0) {
      const batch = doneQueue.splice(0);
      try {
        await options.pool.query({ ...DONE, values: [batch.map((d) => d.id), batch.map((d) => Math.floor(d.ago)), batch.map((d) => d.windowMs)] });
      } catch (err) {
        // Safe to lose: those grants count until their in-flight timeout instead of 1 s after done.
        // (`ago` rounds down, so the done time the database computes is never too early.)
        options.log.error('rate gate: could not mark grants done; they count until their in-flight timeout', { err, grants: batch.length });
      }
    }
    flushing = undefined;
  };

  const grantFor = (id: string, windowMs: number): Grant => {
    let marked = false;
    return {
      done(atMs) {
        if (marked) return;
        marked = true;
        const now = clock.now();
        const ago = atMs === undefined || !Number.isFinite(atMs) ? 0 : Math.max(0, now - atMs);
        doneQueue.push({ id, ago, windowMs });
        flushing ??= flushDone();
      },
    };
  };

  const take = async (queue: AccountQueue, want: number): Promise<{ result: TakeResult; limit: number }> => {
    const limit = limitFor(queue.name, queue.account, options);
    const client = await options.pool.connect();
    let broken: Error | undefined;
    try {
      // One round trip: BEGIN, the take (the lock, then the count), COMMIT as one simple query,
      // READ COMMITTED explicitly (see above). Simple queries take no parameters: the values are
      // written in, the key escaped as a literal, the rest whole numbers computed here.
      const values = [queue.key, want, limit, smoothingMs, burstFor(limit, smoothingMs, queue.windowMs), inFlightMs + queue.windowMs, SEND_GRANTS_LOCK_CLASS, lockKey(queue.key)];
      const take = inlineStatement(client, TAKE, values);
      const results = (await client.query(`BEGIN ISOLATION LEVEL READ COMMITTED; ${take}; COMMIT`)) as unknown as pg.QueryResult<TakeResult>[];
      const row = results[1]?.rows[0];
      if (!row) throw new Error('rate gate: the grant query returned no row');
      return { result: row, limit };
    } catch (err) {
      broken = await rollback(client, err);
      throw err;
    } finally {
      client.release(broken);
    }
  };

  const pause = (queue: AccountQueue, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const cancel = clock.setTimer(ms, () => {
        queue.wake = undefined;
        resolve();
      });
      queue.wake = () => {
        cancel();
        queue.wake = undefined;
        resolve();
      };
    });

  const serve = async (queue: AccountQueue): Promise<void> => {
    while (!closed && queue.waiters.length > 0) {
      const want = Math.min(queue.waiters.length, maxBatch);
      let taken: { result: TakeResult; limit: number };
      try {
        taken = await take(queue, want);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        options.log.error('rate gate: could not take a grant from PostgreSQL', { err: error, rate_account: queue.key });
        for (const waiter of queue.waiters.splice(0, want)) waiter.reject(error);
        continue;
      }
      const grants = taken.result.ids.map((id) => grantFor(id, queue.windowMs));
      if (closed) {
        for (const grant of grants) grant.done();
        break;
      }
      for (const grant of grants) (queue.waiters.shift() as Waiter).resolve(grant);
      if (queue.waiters.length === 0 || grants.length === want) continue;
      await pause(queue, waitAfter(queue, taken.result, taken.limit, grants.length));
    }
  };

  /** How long until a grant may be possible, from what the query saw plus what it just granted. */
  const waitAfter = (queue: AccountQueue, result: TakeResult, limit: number, granted: number): number => {
    const shape: LimitShape = { limit, burst: burstFor(limit, smoothingMs, queue.windowMs), smoothingMs };
    const holdMs = inFlightMs + queue.windowMs;
    const now = result.now_ms;
    const earliest = result.earliest ?? undefined;
    const at = nextRoomAt(shape, {
      counted: result.counted + granted,
      earliestRelease: granted > 0 ? Math.min(earliest ?? Number.POSITIVE_INFINITY, now + holdMs) : earliest,
      recentGrants: [...result.recent, ...Array.from({ length: granted }, () => now)],
    });
    // Later than any done grant could end: every counting grant is in flight, so look again soon.
    if (at === undefined || at - now > queue.windowMs) return pollMs;
    // +1: the database compares whole milliseconds.
    return Math.max(1, at - now + 1);
  };

  const enqueue = (key: string, name: LimitName, account: string): Promise<Grant> => {
    if (closed) return Promise.reject(new RateGateClosedError());
    try {
      limitFor(name, account, options);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    let queue = queues.get(key);
    if (!queue) {
      queue = { key, account, name, windowMs: windowOf(name, options), waiters: [], serving: undefined, wake: undefined };
      queues.set(key, queue);
    }
    const q = queue;
    const promise = new Promise<Grant>((resolve, reject) => q.waiters.push({ resolve, reject }));
    startServing(q);
    return promise;
  };

  /** One serving loop per account: one transaction at a time per instance, waiters in order. */
  const startServing = (q: AccountQueue): void => {
    q.serving ??= serve(q).finally(() => {
      q.serving = undefined;
      // A waiter that came while the loop was finishing.
      if (!closed && q.waiters.length > 0) startServing(q);
    });
  };

  return {
    acquire: (account, acquireOptions) => acquireLimits((key, name) => enqueue(key, name, account), account, acquireOptions),
    now: () => clock.now(),
    shared: true,
    async close() {
      closed = true;
      for (const queue of queues.values()) {
        for (const waiter of queue.waiters.splice(0)) waiter.reject(new RateGateClosedError());
        queue.wake?.();
      }
      await Promise.all([...queues.values()].map((q) => q.serving ?? Promise.resolve()));
      await flushing;
    },
  };
}

/** The advisory lock's second key for an account: 32 bits of its hash (a collision only serialises two accounts). */
export function lockKey(account: string): number {
  return createHash('sha256').update(account).digest().readInt32BE(0);
}

/** Rolls back after a failure; a connection that cannot even do that is handed back as broken. */
async function rollback(client: PoolClient, cause: unknown): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch {
    return cause instanceof Error ? cause : new Error(String(cause));
  }
}
