// Wires the services together from a config: Graph client, Send API, the store, the inbox that
// handles events, and the outbox that delivers replies. No HTTP here; app.ts puts a server in front.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { AxiosInstance } from 'axios';
import { createAccountDirectory } from './accounts/directory.ts';
import { createTokenRefresher, REFRESH_CHECK_EVERY_MS } from './accounts/token-refresher.ts';
import { createAccountTokens, type AccountTokens } from './accounts/tokens.ts';
import { secretsOf, type Config } from './config.ts';
import type { FailureHook } from './failure-hook.ts';
import { createAccountClients, createAccountsSendApi } from './graph/account-send-api.ts';
import type { GraphObserver } from './graph/client.ts';
import { createRefreshCall } from './graph/instagram-token.ts';
import { handleEvent, type HandlingDeps } from './handling/handle-event.ts';
import { createTranslations } from './i18n.ts';
import { expanderFor } from './inbox/expand.ts';
import { createInbox, type Inbox, type InboxRetry } from './inbox/inbox.ts';
import type { Logger } from './logger.ts';
import type { MetricsSnapshot } from './metrics/bot-metrics.ts';
import { createThreadMetrics, type ThreadMetrics } from './metrics/registry.ts';
import { createLocalRateGate, type RateGate } from './outbox/rate-gate.ts';
import { realTimers, type Timers } from './outbox/timers.ts';
import { createOutboxSender, type OutboxSender, type RetryPolicy } from './outbox/sender.ts';
import { DEFAULT_STUCK_AFTER_MS, createProgress, stuckFor } from './progress.ts';
import { lookUpProfile } from './profile-cache.ts';
import { createRedactor, createSecretSet, type Redactor, type SecretSet } from './redact.ts';
import { loadCatalog } from './shop/catalog.ts';
import { openStore } from './state/open-store.ts';
import type { Backlog, BotStore, ClaimCounts } from './state/store.ts';
import { LEASE_MS } from './state/store.ts';

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
  /** Accounts whose token Graph rejected (sending for them is paused). */
  paused_accounts?: string[];
  /** This instance among those sharing the store: its name and the lanes it holds. */
  instance?: { owner: string; claims: ClaimCounts | undefined };
  /** Which store the bot keeps its state in. */
  database: DatabaseKind;
}

export type DatabaseKind = 'memory' | 'sqlite' | 'postgres';

export function databaseKindOf(databaseUrl: string): DatabaseKind {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return 'postgres';
  return databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'memory';
}

/** What the handling side reports for /healthz (from this thread, or from the bot worker). */
export interface HandlingReport {
  /** False while the Page token is known to be invalid. */
  tokenValid: boolean;
  /** The accounts whose token is known to be invalid. */
  pausedAccounts?: string[];
  /** Who this bot is among the instances sharing the store, and the lanes it holds. */
  owner?: string;
  claims?: ClaimCounts | undefined;
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
/**
 * What an operator replaces when Graph rejects an account's token: PAGE_ACCESS_TOKEN for the one
 * Page of the environment, else that account's entry in ACCOUNTS_FILE.
 */
export function tokenFixOf(config: Pick<Config, 'ACCOUNTS_FILE'>): (account: string) => string {
  return (account) => (config.ACCOUNTS_FILE === undefined ? 'PAGE_ACCESS_TOKEN' : `the access_token of account ${account} in ${config.ACCOUNTS_FILE}`);
}

export function createHealthJudge(
  stuckAfterMs: number,
  now: () => number,
  tokenFix: (account: string) => string = () => 'PAGE_ACCESS_TOKEN',
  database: DatabaseKind = 'memory',
): HealthJudge {
  return (backlog, report) => {
    const token = report === 'no answer' || report.tokenValid ? 'ok' : 'invalid';
    const reasons: string[] = [];
    let handling: Health['handling'] = 'ok';
    if (!backlog) reasons.push('the store does not answer');
    const paused = report === 'no answer' ? [] : (report.pausedAccounts ?? []);
    if (token === 'invalid') {
      const fixes = paused.map(tokenFix);
      if (fixes.length === 0 || fixes.every((f) => f === 'PAGE_ACCESS_TOKEN')) reasons.push('Graph rejected the Page token (code 190): replace PAGE_ACCESS_TOKEN and restart');
      else reasons.push(`Graph rejected the token of account ${paused.join(', ')} (code 190), whose sending is paused: replace ${fixes.join('; ')} and restart`);
    }
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
    const instance = report !== 'no answer' && report.owner !== undefined ? { instance: { owner: report.owner, claims: report.claims } } : {};
    const accounts = paused.length > 0 ? { paused_accounts: paused } : {};
    return { ok, store: backlog ? 'ok' : 'unreachable', token, handling, ...(ok ? {} : { reason: reasons.join('; ') }), backlog, ...accounts, ...instance, database };
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
  /** metrics (#14): what handling and sending counted, as snapshots to merge into a scrape; never rejects. */
  metrics(): Promise<MetricsSnapshot[]>;
}

/** A bot that handles in this thread; `wake` tells it that new notifications or inbox lanes wait (stored by another thread or instance). */
export interface LocalBot extends Bot {
  wake(): void;
  /** The token, progress, due replies and claims, for a health check made by another thread. */
  report(): Promise<HandlingReport>;
  /** Who this bot is among the instances sharing the store. */
  owner: string;
}

export interface BotOptions {
  log: Logger;
  timers?: Timers;
  store?: BotStore;
  /** The HTTP instance for GRAPH_API_URL calls (tests; the worker's observed one). */
  http?: AxiosInstance;
  /** Told about every Graph and Instagram API call (the live dashboard). */
  observeGraph?: GraphObserver;
  /** The accounts' current tokens, shared with the token refresher; made from the config (with `secrets`) if absent. */
  tokens?: AccountTokens;
  /**
   * This thread's secret values, shared with `log` (createLogger's `redact`): the tokens adopted at
   * run time join them, and every observed Graph call is scrubbed of them before `observeGraph`
   * sees it. Made from the config if absent (then only the observed calls are scrubbed of new tokens).
   */
  secrets?: SecretSet;
  retry?: RetryPolicy;
  /** How events that fail to be handled are retried before they are set aside. */
  inboxRetry?: InboxRetry;
  /** /healthz calls handling stuck after work has waited this long with nothing moving (default 30 s). */
  stuckAfterMs?: number;
  /** The Send API rate limits (default: this process's own; PostgreSQL shares one between instances). */
  gate?: RateGate;
  /** This bot's name among the instances sharing the store (default: host, process, thread, random). */
  owner?: string;
  /** How long claimed lanes are held after each renewal (default LEASE_MS). */
  leaseMs?: number;
  /** Where handling and sending are counted (a registry of its own if absent). */
  metrics?: ThreadMetrics;
  /**
   * Told about each handler that throws and each reply given up (or stopped by a rejected token),
   * with the event's or the reply's context, for a shop that wants alerts. Called as it happens,
   * never awaited; a hook that throws is logged and changes nothing (README, "When a handler or a
   * send fails").
   */
  onError?: FailureHook;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;
/**
 * Lanes that nobody wakes this bot for (another instance died; a reply's retry came due in a lane
 * given back; a wake-up was missed) are looked for this often.
 */
const POLL_MS = 2000;

/** A name for this bot that no other instance or thread can have. */
export function newOwner(): string {
  return `${hostname()}:${process.pid}:${threadId}:${randomBytes(4).toString('hex')}`;
}

/**
 * The observer, told which API each call went to, and never a secret of this thread: a call
 * handed to another thread (the dashboard's, from the bot worker) is scrubbed of the tokens
 * refreshed here, which that thread never learns.
 */
function observedAs(observe: GraphObserver, api: 'graph' | 'instagram', redactor: Redactor): GraphObserver {
  return (call) => observe(redactor.deep({ ...call, api }));
}

/** Stores, handles and sends in this thread (tests, the emulator, `memory:`; and the bot worker). */
export function createBot(config: Readonly<Config>, options: BotOptions): LocalBot {
  const { log } = options;
  const timers = options.timers ?? realTimers;
  const now = () => timers.now();
  const accounts = createAccountDirectory(config.accounts);
  const secrets = options.secrets ?? createSecretSet(secretsOf(config));
  const tokens = options.tokens ?? createAccountTokens(config.accounts, { secrets });
  const observed = createRedactor(secrets);
  const clients = createAccountClients({
    config,
    tokens,
    ...(options.http ? { http: { graph: options.http } } : {}),
    ...(options.observeGraph ? { observe: (api) => observedAs(options.observeGraph as GraphObserver, api, observed) } : {}),
  });
  const sendApi = createAccountsSendApi(clients, accounts.defaultKey);
  const store = options.store ?? openStore(config.DATABASE_URL);
  const metrics = options.metrics ?? createThreadMetrics({ thread: 'main', processMetrics: false });
  const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations: createTranslations() };
  const progress = createProgress(now);
  const tokenFix = tokenFixOf(config);
  const judge = createHealthJudge(options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS, now, tokenFix, databaseKindOf(config.DATABASE_URL));
  const owner = options.owner ?? newOwner();
  const leaseMs = options.leaseMs ?? LEASE_MS;
  // The gate keeps its own real clock: tests that freeze `now` must not freeze the rate limit.
  const gate = options.gate ?? createLocalRateGate({ limit: config.SEND_RATE_LIMIT, log });
  const outbox: OutboxSender = createOutboxSender({
    store,
    sendApi,
    log,
    timers,
    gate,
    owner,
    leaseMs,
    progress,
    metrics,
    defaultAccount: accounts.defaultKey,
    tokenFix,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const handling: HandlingDeps = { store, sendApi, settings, log, now, accounts, ...(options.onError ? { onError: options.onError } : {}) };
  const inbox: Inbox = createInbox({
    store,
    outbox,
    log,
    now,
    owner,
    leaseMs,
    progress,
    metrics,
    handleEvent: (event, user) => handleEvent(event, handling, user),
    lookupProfile: (userKey, lookup, lane) => lookUpProfile({ sendApi, store, log, now, owner }, userKey, lookup, lane),
    expand: expanderFor(accounts),
    ...(options.inboxRetry ? { retry: options.inboxRetry } : {}),
  });
  const report = async (): Promise<HandlingReport> => {
    const [paused, claims] = await Promise.all([store.pausedAccounts(now()).catch(() => undefined), store.claimsOf(owner).catch(() => undefined)]);
    const pausedAccounts = paused ? [...paused.keys()] : outbox.pausedAccounts();
    return { tokenValid: pausedAccounts.length === 0, pausedAccounts, owner, claims, lastProgressAt: progress.lastAt(), outboxDue: outbox.due() };
  };
  // New bodies or lanes (another thread stored them, another instance filled them): the inbox's
  // news. Replies come to the sender from the completions; the poll finds the rest.
  const wake = (): void => inbox.wake();
  const poll = (): void => {
    inbox.wake();
    outbox.wake();
  };
  metrics.readFrom({ tokens: () => accounts.keys().map((account) => ({ account, valid: !outbox.pausedAccounts().includes(account) })) });
  const pruner = setInterval(() => {
    store.prune(now()).catch((err: unknown) => log.error('pruning the store failed', { err }));
  }, PRUNE_EVERY_MS);
  pruner.unref();
  // Held lanes stay ours while this bot lives; a dead one's are free again a lease later.
  const renewer = setInterval(() => {
    store.renewClaims(owner, leaseMs, now()).catch((err: unknown) => log.error('renewing the claims failed', { err }));
  }, Math.max(100, Math.floor(leaseMs / 3)));
  renewer.unref();
  const poller = setInterval(poll, POLL_MS);
  poller.unref();
  // Instagram Login tokens live 60 days: refreshed here, on the thread that sends, and kept in the
  // store so a restart (or another instance) uses the newest one.
  const refresher = config.accounts.some((a) => a.type === 'instagram')
    ? createTokenRefresher({ accounts: config.accounts, tokens, store, refresh: createRefreshCall({ baseUrl: config.INSTAGRAM_API_URL, version: config.GRAPH_API_VERSION }), now, log })
    : undefined;
  let refreshTimer: ReturnType<typeof setInterval> | undefined;

  return {
    accept: (body) => inbox.accept(body),
    wake,
    report,
    owner,
    async recover() {
      // The fix for an invalid token is a new token and a restart: a start lifts the pauses (an
      // instance still on the old token meets the 190 again and pauses its account once more).
      await store.resumeAccounts();
      // The newest refreshed tokens before the first send (check() never rejects).
      if (refresher) {
        await refresher.check();
        refreshTimer = setInterval(() => void refresher.check(), REFRESH_CHECK_EVERY_MS);
        refreshTimer.unref();
      }
      const left = await inbox.recover();
      outbox.wake();
      if (left.received + left.events + left.replies > 0) log.info('work waiting in the store', left);
    },
    async idle() {
      // Handling queues replies and nothing else queues events, so inbox then outbox is enough.
      await inbox.idle();
      await outbox.idle();
    },
    async health() {
      const [backlog, handling] = await Promise.all([store.backlog().catch(() => undefined), report()]);
      return judge(backlog, handling);
    },
    async close(graceMs = 10_000) {
      clearInterval(pruner);
      clearInterval(poller);
      clearInterval(refreshTimer);
      const finished = Promise.all([inbox.stop(), outbox.stop()]).then(() => true);
      const inTime = await Promise.race([finished, new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref())]);
      clearInterval(renewer);
      if (inTime) {
        // Given back at once: another instance goes on with these lanes without waiting for a lease.
        await store.releaseClaims(owner).catch((err: unknown) => log.error('giving the claims back failed; they expire by themselves', { err }));
      } else {
        // Work still in flight: its lanes are left to expire, so whoever takes them over counts
        // the attempt (an event that hangs the bot each time is then set aside, not retried forever).
        log.warn('shutdown grace period over; unfinished work goes on elsewhere or on the next start', { grace_ms: graceMs });
      }
      await gate.close();
      await store.close();
    },
    store,
    metrics: async () => [await metrics.snapshot()],
  };
}
