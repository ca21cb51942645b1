// Wires the services together from a config: Graph client, Send API, the store, the inbox that
// handles events, and the outbox that delivers replies. No HTTP here; app.ts puts a server in front.
import type { AxiosInstance } from 'axios';
import { ownAccountIds } from './accounts.ts';
import type { Config } from './config.ts';
import { graphClientFor } from './graph/client.ts';
import { createSendApi } from './graph/send-api.ts';
import { createTranslations } from './i18n.ts';
import { createInbox, type Inbox } from './inbox/inbox.ts';
import type { Logger } from './logger.ts';
import type { MetricsSnapshot } from './metrics/bot-metrics.ts';
import { createThreadMetrics, type ThreadMetrics } from './metrics/registry.ts';
import { createRateLimiter, realTimers, type Timers } from './outbox/rate-limiter.ts';
import { createOutboxSender, type OutboxSender, type RetryPolicy } from './outbox/sender.ts';
import { handle } from './processor.ts';
import { loadCatalog } from './shop/catalog.ts';
import { openStore } from './state/open-store.ts';
import type { Backlog, BotStore } from './state/store.ts';

export interface Health {
  ok: boolean;
  store: 'ok' | 'unreachable';
  token: 'ok' | 'invalid';
  /** `stalled`: the thread that handles events did not answer (threaded mode only). */
  handling: 'ok' | 'stalled';
  backlog: Backlog | undefined;
}

/** The one verdict: healthy when the store answers, the token is not known bad and handling answers. */
export function healthOf(backlog: Backlog | undefined, tokenValid: boolean, handling: Health['handling'] = 'ok'): Health {
  const token = tokenValid ? 'ok' : 'invalid';
  return { ok: backlog !== undefined && token === 'ok' && handling === 'ok', store: backlog ? 'ok' : 'unreachable', token, handling, backlog };
}

export interface Bot {
  /** Stores the raw bytes of an authentic notification; resolves once they are safe (before the 200). */
  accept(body: Buffer): Promise<void>;
  /** Picks up what a previous run left: unexpanded notifications, unhandled events and unsent replies. */
  recover(): Promise<void>;
  /** Resolves when every accepted event has been handled and every reply delivered or given up. */
  idle(): Promise<void>;
  health(): Promise<Health>;
  /** Stops taking work, lets in-flight work finish (up to `graceMs`), closes the store. */
  close(graceMs?: number): Promise<void>;
  /** The store as this thread sees it (tests read user state and the backlog through it). */
  store: BotStore;
  /** metrics (#14): what handling and sending counted, as snapshots to merge into a scrape; never rejects. */
  metrics(): Promise<MetricsSnapshot[]>;
}

/** A bot that handles in this thread; `wake` tells it that another thread stored new notifications. */
export interface LocalBot extends Bot {
  wake(): void;
  /** False while the Page token is known to be invalid. */
  tokenValid(): boolean;
}

export interface BotOptions {
  log: Logger;
  timers?: Timers;
  store?: BotStore;
  http?: AxiosInstance;
  retry?: RetryPolicy;
  /** Where handling and sending are counted (a registry of its own if absent). */
  metrics?: ThreadMetrics;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** Stores, handles and sends in this thread (tests, the emulator, `memory:`; and the bot worker). */
export function createBot(config: Readonly<Config>, options: BotOptions): LocalBot {
  const { log } = options;
  const timers = options.timers ?? realTimers;
  const now = () => timers.now();
  const graph = graphClientFor(config, options.http);
  const sendApi = createSendApi(graph);
  const store = options.store ?? openStore(config.DATABASE_URL);
  const metrics = options.metrics ?? createThreadMetrics({ thread: 'main', processMetrics: false });
  const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations: createTranslations() };
  const outbox: OutboxSender = createOutboxSender({
    store,
    sendApi,
    log,
    timers,
    limiter: createRateLimiter(config.SEND_RATE_LIMIT, timers),
    mediaLimiter: createRateLimiter(10, timers),
    metrics,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const processorDeps = { store, sendApi, settings, log, now, ownAccountIds: ownAccountIds(config) };
  const inbox: Inbox = createInbox({ store, outbox, log, now, metrics, handle: (event) => handle(event, processorDeps) });
  // metrics (#14): one token today, the Page's (Instagram sends with it too).
  metrics.readFrom({ tokens: () => [{ account: config.PAGE_ID, valid: outbox.tokenValid() }] });
  const pruner = setInterval(() => {
    store.prune(now()).catch((err: unknown) => log.error('pruning the store failed', { err }));
  }, PRUNE_EVERY_MS);
  pruner.unref();

  return {
    accept: (body) => inbox.accept(body),
    wake: () => inbox.wake(),
    tokenValid: () => outbox.tokenValid(),
    async recover() {
      const left = await inbox.recover();
      if (left.received + left.events + left.replies > 0) log.info('resuming work left by the previous run', left);
    },
    async idle() {
      // Handling queues replies and nothing else queues events, so inbox then outbox is enough.
      await inbox.idle();
      await outbox.idle();
    },
    async health() {
      return healthOf(await store.backlog().catch(() => undefined), outbox.tokenValid());
    },
    async close(graceMs = 10_000) {
      clearInterval(pruner);
      const finished = Promise.all([inbox.stop(), outbox.stop()]).then(() => true);
      const inTime = await Promise.race([finished, new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref())]);
      if (!inTime) log.warn('shutdown grace period over; unfinished work resumes on the next start', { grace_ms: graceMs });
      await store.close();
    },
    store,
    metrics: async () => [await metrics.snapshot()],
  };
}
