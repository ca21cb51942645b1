// Wires the services together from a config: Graph client, Send API, the store, the inbox that
// handles events, and the outbox that delivers replies. No HTTP here; app.ts puts a server in front.
import type { AxiosInstance } from 'axios';
import { ownAccountIds } from './accounts.ts';
import type { Config } from './config.ts';
import { graphClientFor } from './graph/client.ts';
import { createSendApi } from './graph/send-api.ts';
import { createTranslations } from './i18n.ts';
import { createInbox, type Inbox, type InboxRetry } from './inbox/inbox.ts';
import type { Logger } from './logger.ts';
import { createRateLimiter, realTimers, type Timers } from './outbox/rate-limiter.ts';
import { createOutboxSender, type OutboxSender, type RetryPolicy } from './outbox/sender.ts';
import { handle } from './processor.ts';
import { DEFAULT_STUCK_AFTER_MS, createProgress, stuckFor } from './progress.ts';
import { loadCatalog } from './shop/catalog.ts';
import { openStore } from './state/open-store.ts';
import type { Backlog, BotStore } from './state/store.ts';

export interface Health {
  ok: boolean;
  store: 'ok' | 'unreachable';
  token: 'ok' | 'invalid';
  /**
   * `stalled`: the thread that handles events did not answer (threaded mode only); `stuck`: work
   * is waiting and nothing has been handled or sent for a while.
   */
  handling: 'ok' | 'stalled' | 'stuck';
  /** Why it is not ok, for the person looking (absent when ok). */
  reason?: string;
  backlog: Backlog | undefined;
}

/** What the handling side reports for /healthz (from this thread, or from the bot worker). */
export interface HandlingReport {
  /** False while the Page token is known to be invalid. */
  tokenValid: boolean;
  /** When an event was last handled or set aside, a body expanded or a reply sent (ms). */
  lastProgressAt: number;
  /** Reply lanes with a send due now (not those waiting for a retry's time, or for a new token). */
  outboxDue: number;
}

export type HealthJudge = (backlog: Backlog | undefined, report: HandlingReport | 'no answer') => Health;

/**
 * The one verdict, for the in-process and the threaded bot: healthy when the store answers, the
 * token is not known bad, and handling answers and moves. Stuck means notifications, events, or
 * replies that are due (with a valid token) have waited `stuckAfterMs` with nothing moving.
 */
export function createHealthJudge(stuckAfterMs: number, now: () => number): HealthJudge {
  return (backlog, report) => {
    const token = report === 'no answer' || report.tokenValid ? 'ok' : 'invalid';
    const reasons: string[] = [];
    let handling: Health['handling'] = 'ok';
    if (!backlog) reasons.push('the store does not answer');
    if (token === 'invalid') reasons.push('Graph rejected the Page token (code 190): replace PAGE_ACCESS_TOKEN and restart');
    if (report === 'no answer') {
      handling = 'stalled';
      reasons.push('the bot worker thread does not answer');
    } else if (backlog) {
      const due = token === 'ok' ? report.outboxDue : 0;
      const quietMs = stuckFor(backlog.received + backlog.inbox + due, report.lastProgressAt, now(), stuckAfterMs);
      if (quietMs !== undefined) {
        handling = 'stuck';
        const waiting = [`${backlog.received} notifications`, `${backlog.inbox} events`, `${due} reply lanes due`].join(', ');
        reasons.push(`handling is stuck: nothing handled or sent for ${Math.round(quietMs / 1000)} s while work waits (${waiting})`);
      }
    }
    const ok = reasons.length === 0;
    return { ok, store: backlog ? 'ok' : 'unreachable', token, handling, ...(ok ? {} : { reason: reasons.join('; ') }), backlog };
  };
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
}

/** A bot that handles in this thread; `wake` tells it that another thread stored new notifications. */
export interface LocalBot extends Bot {
  wake(): void;
  /** The token, progress and due replies, for a health check made by another thread. */
  report(): HandlingReport;
}

export interface BotOptions {
  log: Logger;
  timers?: Timers;
  store?: BotStore;
  http?: AxiosInstance;
  retry?: RetryPolicy;
  /** How events that fail to be handled are retried before they are set aside. */
  inboxRetry?: InboxRetry;
  /** /healthz calls handling stuck after work has waited this long with nothing moving (default 30 s). */
  stuckAfterMs?: number;
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
  const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations: createTranslations() };
  const progress = createProgress(now);
  const judge = createHealthJudge(options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS, now);
  const outbox: OutboxSender = createOutboxSender({
    store,
    sendApi,
    log,
    timers,
    limiter: createRateLimiter(config.SEND_RATE_LIMIT, timers),
    mediaLimiter: createRateLimiter(10, timers),
    progress,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const processorDeps = { store, sendApi, settings, log, now, ownAccountIds: ownAccountIds(config) };
  const inbox: Inbox = createInbox({
    store,
    outbox,
    log,
    now,
    progress,
    handle: (event) => handle(event, processorDeps),
    ...(options.inboxRetry ? { retry: options.inboxRetry } : {}),
  });
  const report = (): HandlingReport => ({ tokenValid: outbox.tokenValid(), lastProgressAt: progress.lastAt(), outboxDue: outbox.due() });
  const pruner = setInterval(() => {
    store.prune(now()).catch((err: unknown) => log.error('pruning the store failed', { err }));
  }, PRUNE_EVERY_MS);
  pruner.unref();

  return {
    accept: (body) => inbox.accept(body),
    wake: () => inbox.wake(),
    report,
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
      return judge(await store.backlog().catch(() => undefined), report());
    },
    async close(graceMs = 10_000) {
      clearInterval(pruner);
      const finished = Promise.all([inbox.stop(), outbox.stop()]).then(() => true);
      const inTime = await Promise.race([finished, new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref())]);
      if (!inTime) log.warn('shutdown grace period over; unfinished work resumes on the next start', { grace_ms: graceMs });
      await store.close();
    },
    store,
  };
}
