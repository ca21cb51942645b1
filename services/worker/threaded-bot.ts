// The bot with handling on a worker thread (the default with a SQLite file). This thread keeps
// only what the webhook needs: storing each verified body with a group commit on its own
// connection, then waking the worker, which expands, handles and sends from the same database.
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { createHealthJudge, databaseKindOf, tokenFixOf, type Bot, type HandlingReport, type Health } from '../bot.ts';
import type { Config } from '../config.ts';
import { reportFailure, type FailureHook } from '../failure-hook.ts';
import type { GraphObserver } from '../graph/client.ts';
import type { InboxRetry } from '../inbox/inbox.ts';
import type { Logger } from '../logger.ts';
import { noopMetrics, type BotMetrics, type MetricsSnapshot } from '../metrics/bot-metrics.ts';
import { createWorkerSnapshots } from '../metrics/worker-snapshots.ts';
import { DEFAULT_STUCK_AFTER_MS } from '../progress.ts';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isPostgresUrl } from '../state/open-store.ts';
import { storeWhenReady } from '../state/ready-store.ts';
import { startCheckpointer, type Checkpointer } from '../state/sqlite-checkpointer.ts';
import { createSqliteStore } from '../state/sqlite-store.ts';
import type { BotStore } from '../state/store.ts';
import { receivedFailure } from './failures.ts';
import type { FromWorker, RequestBody, ToWorker, WorkerInit } from './protocol.ts';

export interface ThreadedBotOptions {
  log: Logger;
  /** Told about every Graph call the worker makes (the live dashboard). */
  observeGraph?: GraphObserver;
  /** The worker's entry module; tests substitute one that dies or hangs. */
  workerEntry?: URL;
  /** /healthz calls handling stuck after work has waited this long with nothing moving (default 30 s). */
  stuckAfterMs?: number;
  /** The worker's heap and stack bounds (default WORKER_LIMITS). */
  resourceLimits?: ResourceLimits;
  /** How the worker retries failing events before it sets them aside (default DEFAULT_INBOX_RETRY). */
  inboxRetry?: InboxRetry;
  /** This thread's metrics, where worker restarts are counted. */
  metrics?: BotMetrics;
  /** Told about the worker's handler and send failures (see BotOptions.onError); called on this thread. */
  onError?: FailureHook;
}

/**
 * The worker thread's V8 bounds. Handling holds at most the inbox window (2,000 events) and the
 * sends in flight (64); measured with a 10,000-reply backlog draining (scripts/bench/outbox-drain.ts)
 * its heap stays far below this. The bound makes V8 collect before the heap grows much, and a
 * runaway (one event that makes handling allocate without end) ends only the worker, with
 * ERR_WORKER_OUT_OF_MEMORY: it is restarted and resumes, and the inbox sets aside an event that
 * keeps doing it. The stack is Node's default (4 MB).
 */
export const WORKER_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 160, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 };

/** How long /healthz waits for the worker before calling it stalled. */
const HEALTH_TIMEOUT_MS = 2000;
/** How long a scrape waits for the worker's metrics before serving the last ones it had. */
const METRICS_TIMEOUT_MS = 2000;
const RESTART_DELAY_MS = 1000;

// Under tsx or Node's type stripping this file is .ts; compiled by tsc it is .js, and so is the worker.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './bot-worker.ts' : './bot-worker.js', import.meta.url);
// A worker does not inherit tsx's loader (Node 20 runs .ts only through it): this bootstrap
// registers it in the worker first when Node cannot strip types itself, then loads the entry.
const BOOTSTRAP = `const { workerData } = require('node:worker_threads');
(workerData.tsx ? import(workerData.tsx).then((api) => api.register()) : Promise.resolve()).then(() => import(workerData.entry));`;

function workerOptions(
  init: WorkerInit,
  entry: URL,
  resourceLimits: ResourceLimits,
): { eval: true; workerData: WorkerInit & { entry: string; tsx: string | undefined }; resourceLimits: ResourceLimits } {
  const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);
  const tsx = entry.pathname.endsWith('.ts') && !stripsTypes ? import.meta.resolve('tsx/esm/api') : undefined;
  return { eval: true, workerData: { ...init, entry: entry.href, tsx }, resourceLimits };
}

type Answer = { report?: HandlingReport; metrics?: MetricsSnapshot };
type Pending = { resolve: (answer: Answer) => void; reject: (err: Error) => void };

export function createThreadedBot(config: Readonly<Config>, options: ThreadedBotOptions): Bot {
  const { log } = options;
  // PostgreSQL: what this process's wake-up notifications carry, so its worker can skip them.
  const wakeTag = randomBytes(8).toString('hex');
  const store = openWebhookStore(config, log, wakeTag);
  // Neither this thread's connection nor the worker's checkpoints a SQLite file: a thread of its own does.
  const checkpointer: Checkpointer | undefined = isPostgresUrl(config.DATABASE_URL) ? undefined : startCheckpointer(sqlitePath(config), { log });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closing = false;
  let wakeQueued = false;
  let alive = false;
  const judge = createHealthJudge(options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS, Date.now, tokenFixOf(config), databaseKindOf(config.DATABASE_URL));
  const workerMetrics = createWorkerSnapshots();
  let worker = startWorker();

  function startWorker(): Worker {
    const init: WorkerInit = {
      config,
      observeGraph: options.observeGraph !== undefined,
      reportFailures: options.onError !== undefined,
      wakeTag,
      ...(options.inboxRetry ? { inboxRetry: options.inboxRetry } : {}),
    };
    const w = new Worker(BOOTSTRAP, workerOptions(init, options.workerEntry ?? WORKER_URL, options.resourceLimits ?? WORKER_LIMITS));
    alive = true;
    w.on('message', (message: FromWorker) => {
      if (message.type === 'graph') options.observeGraph?.(message.call);
      else if (message.type === 'failure') reportFailure(options.onError, receivedFailure(message.failure), log);
      else settle(message.id, message.error === undefined ? { answer: { ...(message.report ? { report: message.report } : {}), ...(message.metrics ? { metrics: message.metrics } : {}) } } : { error: new Error(message.error) });
    });
    w.on('error', (err) => log.error('bot worker crashed', { err }));
    w.on('exit', (code) => {
      alive = false;
      for (const id of [...pending.keys()]) settle(id, { error: new Error(`the bot worker exited (code ${code})`) });
      if (closing) return;
      // Its counts so far carry over into the next worker's, so counters never go down.
      workerMetrics.workerExited();
      (options.metrics ?? noopMetrics).workerRestarted();
      // Nothing is lost: the notifications are in the store. A new worker resumes from there.
      log.error('bot worker stopped; restarting it', { code, restart_in_ms: RESTART_DELAY_MS });
      setTimeout(() => {
        if (closing) return;
        worker = startWorker();
        request({ type: 'recover' }).catch((err: unknown) => log.error('bot worker recovery failed', { err }));
      }, RESTART_DELAY_MS).unref();
    });
    return w;
  }

  function settle(id: number, result: { answer?: Answer; error?: Error }): void {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (result.error) p.reject(result.error);
    else p.resolve(result.answer ?? {});
  }

  function request(body: RequestBody, timeoutMs?: number): Promise<Answer> {
    if (!alive) return Promise.reject(new Error('the bot worker is restarting'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle(id, { error: new Error('the bot worker did not answer in time') }), timeoutMs);
      timer?.unref();
      const done = () => clearTimeout(timer);
      pending.set(id, { resolve: (answer) => (done(), resolve(answer)), reject: (err) => (done(), reject(err)) });
      worker.postMessage({ ...body, id } satisfies ToWorker);
    });
  }

  return {
    async accept(body) {
      await store.addNotification({ body }, Date.now());
      // One wake per group commit, however many bodies it stored; posted before the 200 goes out,
      // so anything a client asks the worker after seeing its 200 (idle, in tests) comes after the wake.
      if (wakeQueued) return;
      wakeQueued = true;
      queueMicrotask(() => {
        wakeQueued = false;
        if (alive) worker.postMessage({ type: 'wake' } satisfies ToWorker);
      });
    },
    async recover() {
      await request({ type: 'recover' });
    },
    async idle() {
      await request({ type: 'idle' });
    },
    async health(): Promise<Health> {
      const [backlog, report] = await Promise.all([
        store.backlog().catch(() => undefined),
        request({ type: 'health' }, HEALTH_TIMEOUT_MS).then(
          (r) => r.report ?? ('no answer' as const),
          () => 'no answer' as const,
        ),
      ]);
      return judge(backlog, report);
    },
    // Never fails: the last answer stands in while the worker restarts or is busy.
    async metrics() {
      const live = (await request({ type: 'metrics' }, METRICS_TIMEOUT_MS).catch(() => undefined))?.metrics;
      if (live) workerMetrics.received(live);
      return workerMetrics.current(live);
    },
    async close(graceMs = 10_000) {
      closing = true;
      // The worker bounds its own wait by graceMs; the extra second covers closing its store.
      await request({ type: 'close', graceMs }, graceMs + 1000).catch((err: unknown) => log.warn('bot worker did not stop in time', { err }));
      await worker.terminate();
      await checkpointer?.close();
      await store.close();
    },
    store,
  };
}

/** PostgreSQL connections of the webhook's thread: enough for two commits in flight and /healthz. */
const WEBHOOK_POOL_SIZE = 3;

/**
 * This thread's own connection, for appending bodies and counting the backlog. SQLite:
 * `checkpoint: false`, the checkpointer's thread moves the WAL (sqlite-checkpointer.ts), so a
 * commit here never waits for one; `yield`: waiting for the worker's write lock never blocks this thread; a small cache.
 * PostgreSQL: a small pool of its own, opening (and migrating) while the server starts.
 */
function openWebhookStore(config: Readonly<Config>, log: Logger, wakeTag: string): BotStore {
  if (isPostgresUrl(config.DATABASE_URL)) {
    // Loaded here only: a SQLite bot's thread never loads the PostgreSQL driver.
    const opening = import('../state/postgres-store.ts').then(({ createPostgresStore }) =>
      createPostgresStore({ url: config.DATABASE_URL, poolSize: WEBHOOK_POOL_SIZE, applicationName: `shopbot webhook ${hostname()}:${process.pid}`, log, wakeTag, openAllConnections: true }),
    );
    return storeWhenReady(opening);
  }
  return createSqliteStore(sqlitePath(config), { checkpoint: false, cacheMb: 2, onLocked: 'yield' });
}

const sqlitePath = (config: Readonly<Config>): string => config.DATABASE_URL.slice('sqlite:'.length);
