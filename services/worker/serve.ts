// What the bot worker does (bot-worker.ts is its entry point): runs the in-process bot on this
// thread with its own store connection, and answers the webhook thread's requests (protocol.ts).
// Handling and sending live here, so the webhook thread only verifies, stores and answers.
import { hostname, setPriority } from 'node:os';
import type { MessagePort } from 'node:worker_threads';
import { createBot, type HandlingReport, type LocalBot } from '../bot.ts';
import type { Config } from '../config.ts';
import { secretsOf } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { MetricsSnapshot } from '../metrics/bot-metrics.ts';
import { createThreadMetrics } from '../metrics/registry.ts';
import type { RateGate } from '../outbox/rate-gate.ts';
import { createSecretSet } from '../redact.ts';
import { isPostgresUrl, openStoreAsync } from '../state/open-store.ts';
import { describeDatabase } from '../state/database-url.ts';
import type { BotStore } from '../state/store.ts';
import { postedFailure } from './failures.ts';
import type { FromWorker, ToWorker, WorkerInit, WorkerRequest } from './protocol.ts';

/**
 * The worker runs at a lower CPU priority than the webhook thread (Linux: per thread). When both
 * compete for a core, the 200 that stops Meta's redeliveries goes first; the backlog is durable.
 */
const NICENESS = 10;

export interface ServeOptions {
  /** Wraps the store the bot uses (tests: a store that fails, or kills the thread, on cue). */
  wrapStore?: (store: BotStore) => BotStore;
}

export function serveBot(port: MessagePort, { config, observeGraph, inboxRetry, reportFailures, wakeTag }: WorkerInit, options: ServeOptions = {}): void {
  // This thread's secrets: a token refreshed here joins them, so this logger and the Graph calls
  // posted to the webhook thread's dashboard never show it (that thread never learns it).
  const secrets = createSecretSet(secretsOf(config));
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, redact: secrets }, { thread: 'bot' });
  const post = (message: FromWorker): void => port.postMessage(message);
  try {
    if (!isPostgresUrl(config.DATABASE_URL)) setPriority(NICENESS);
  } catch (err) {
    log.debug('could not lower the bot thread priority', { err });
  }
  // This thread's own registry, read by the webhook thread over the `metrics` request.
  const metrics = createThreadMetrics({ thread: 'bot', processMetrics: config.METRICS_TOKEN !== undefined });
  const booting = openShared(config, log, wakeTag).then(async (shared) => {
    const { store, gate } = shared;
    const bot = createBot(config, {
      log,
      secrets,
      metrics,
      store: options.wrapStore ? options.wrapStore(store) : store,
      ...(gate ? { gate } : {}),
      // Every Graph and Instagram API call goes back to the webhook thread for the live dashboard.
      ...(observeGraph ? { observeGraph: (call) => post({ type: 'graph', call }) } : {}),
      ...(inboxRetry ? { inboxRetry } : {}),
      // The shop's onError hook lives on the webhook thread: failures go there.
      ...(reportFailures ? { onError: (failure) => post({ type: 'failure', failure: postedFailure(failure) }) } : {}),
    });
    await shared.listen(() => bot.wake());
    return { bot, close: () => shared.close() };
  });
  // A bot that could not open its store answers every request with that error (the webhook thread
  // logs it and reports handling stalled); nothing is unhandled meanwhile.
  booting.catch((err: unknown) => log.error('the bot worker could not open its store', { err }));
  const ready = async (): Promise<LocalBot> => (await booting).bot;

  const answer = async (request: WorkerRequest): Promise<{ report?: HandlingReport; metrics?: MetricsSnapshot } | undefined> => {
    if (request.type === 'metrics') return { metrics: await metrics.snapshot() };
    const bot = await ready();
    switch (request.type) {
      case 'recover':
        await bot.recover();
        return undefined;
      case 'idle':
        await bot.idle();
        return undefined;
      case 'health':
        return { report: await bot.report() };
      case 'close':
        await bot.close(request.graceMs);
        await (await booting).close();
        return undefined;
    }
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'wake') {
      ready().then(
        (bot) => bot.wake(),
        () => undefined, // logged once above
      );
      return;
    }
    answer(message).then(
      (value) => {
        post({ type: 'reply', id: message.id, ...value });
        if (message.type === 'close') port.close(); // nothing keeps the thread alive after this: it exits
      },
      (err: unknown) => {
        log.error('bot worker request failed', { err, request: message.type });
        post({ type: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) });
      },
    );
  });
}

interface Shared {
  store: BotStore;
  /** PostgreSQL: the rate limit shared by every instance (its own small pool). */
  gate: RateGate | undefined;
  /** PostgreSQL: wakes the bot whenever any instance stored work (LISTEN). */
  listen(wake: () => void): Promise<void>;
  /** Ends what only this module opened (the LISTEN connection, the gate's pool). */
  close(): Promise<void>;
}

/** Connections for the pool of the gate: one per account being granted at once, and one spare. */
const GATE_POOL_SIZE = 3;

/**
 * The worker's store, and with PostgreSQL what several instances share besides it: the Send API
 * rate limit and the wake-ups (LISTEN on the channels the webhook's commits and the expansions
 * notify), so new work wakes an idle instance at once. The PostgreSQL modules (and the driver)
 * are loaded only for a PostgreSQL URL: a SQLite bot's thread has no use for them.
 */
async function openShared(config: Readonly<Config>, log: Logger, wakeTag: string | undefined): Promise<Shared> {
  const applicationName = `shopbot worker ${hostname()}:${process.pid}`;
  // SQLite: the threaded bot's checkpointer moves the WAL, so no commit here waits for a checkpoint.
  const store = await openStoreAsync(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE, applicationName, log, sqlite: { checkpoint: false }, openAllConnections: true, ...(wakeTag ? { wakeTag } : {}) });
  if (!isPostgresUrl(config.DATABASE_URL)) return { store, gate: undefined, listen: () => Promise.resolve(), close: () => Promise.resolve() };
  const [{ createPgRateGate }, { createPostgresPool, openConnections }, { isPostgresStore, LANES_CHANNEL, WORK_CHANNEL }] = await Promise.all([
    import('../outbox/pg-rate-gate.ts'),
    import('../state/postgres-pool.ts'),
    import('../state/postgres-store.ts'),
  ]);
  if (!isPostgresStore(store)) throw new Error('a PostgreSQL URL opened a store that is not the PostgreSQL one');
  const pool = createPostgresPool({
    url: config.DATABASE_URL,
    max: GATE_POOL_SIZE,
    applicationName: `${applicationName} rate`,
    onError: (err) => log.warn('a rate-limit connection failed; the pool makes a new one', { err }),
  });
  await openConnections(pool, GATE_POOL_SIZE, log, describeDatabase(config.DATABASE_URL));
  let stopListening: (() => Promise<void>) | undefined;
  return {
    store,
    gate: createPgRateGate({ pool, limit: config.SEND_RATE_LIMIT, log }),
    async listen(wake) {
      // Our own process's notifications are no news: each of them was followed by a wake already.
      stopListening = await store.listen([WORK_CHANNEL, LANES_CHANNEL], (_channel, payload) => {
        if (wakeTag === undefined || payload !== wakeTag) wake();
      });
    },
    async close() {
      await stopListening?.();
      await pool.end();
    },
  };
}
