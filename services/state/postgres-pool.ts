// node-postgres pools for the store. Errors of idle connections (the server restarted, a network
// blip) are reported, never thrown: the pool drops that connection and makes a new one on demand.
import pg from 'pg';
import type { Logger } from '../logger.ts';

export interface PostgresPoolOptions {
  url: string;
  /** Connections at most (DATABASE_POOL_SIZE for the bot's worker; the webhook thread needs two). */
  max: number;
  /** Shown in pg_stat_activity, to tell the instances and threads apart. */
  applicationName: string;
  onError: (err: Error) => void;
}

/**
 * Time limits that keep a stuck statement or a crashed client from holding locks for long:
 * statements give up after 30 s, a transaction left idle by a dead client after 60 s, and a new
 * connection after 10 s. TCP keep-alive notices a vanished server.
 */
const STATEMENT_TIMEOUT_MS = 30_000;
const IDLE_IN_TRANSACTION_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    // A connection once opened is kept (pg-pool closes idle ones only above `min`), instead of
    // closed after 10 s idle and opened again at the next burst: a new one costs a backend's
    // start, authentication, the SET below, and a first planning of every statement on a cold
    // catalog cache, during exactly the burst that needed it. Measured: replies stalled 100–480 ms
    // in clusters that began with the pool's new connections (docs/benchmark.md). At most `max`
    // per pool, each a PostgreSQL backend left idle.
    min: options.max,
    // The store's prepared statements look rows up by key: one plan, made once per connection,
    // fits every run. Left to choose, PostgreSQL kept planning the claims, the completion and the
    // sent-record anew on each run, which cost more than running them (see ARCHITECTURE.md, "What
    // a PostgreSQL reply costs"). The pool waits for it before it hands the connection out; a
    // server or pooler that refuses the setting only costs planning, so its error is dropped.
    // (pg-pool awaits the promise the hook returns; @types/pg declares the hook's result void.)
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    onConnect: (client) => client.query('SET plan_cache_mode = force_generic_plan').then(
      () => undefined,
      () => undefined,
    ),
  });
  pool.on('error', options.onError);
  return pool;
}

/**
 * Opens `count` connections at once and hands them back to the pool, which keeps them: for a pool
 * that should not open connections in the middle of a burst. Failures are logged, not thrown (the
 * pool opens the rest on demand).
 */
export async function openConnections(pool: pg.Pool, count: number, log: Pick<Logger, 'warn'>, where: string): Promise<void> {
  const opened = await Promise.allSettled(Array.from({ length: count }, () => pool.connect()));
  const failed = opened.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  for (const r of opened) if (r.status === 'fulfilled') r.value.release();
  if (failed.length > 0) {
    log.warn('database: not every connection could be opened at start; the rest are opened when needed', { database: where, opened: count - failed.length, wanted: count, err: failed[0] });
  }
}

/** BIGINT and BIGSERIAL come back as strings from pg; ours are milliseconds and ids well below 2^53. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}
