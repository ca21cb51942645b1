// Drains the outbox: one lane per recipient, strictly in order, lanes side by side, each sent by
// whichever instance holds it (claimed with a lease, see store.ts "Claims"). A transient failure
// gives only its own lane back until its retry is due (exponential backoff with jitter), a
// permanent one is recorded and given up, an invalid token pauses its account for every instance
// and marks health degraded. A store that fails holds every lane it failed for behind one shared,
// growing pause, tried again one lane at a time, rather than each lane hammering it on its own.
import { GraphApiError } from '../errors.ts';
import { reportFailure, type FailureHook } from '../failure-hook.ts';
import { classifyFailure } from '../graph/error-policy.ts';
import type { SendApi } from '../graph/send-api.ts';
import type { Logger } from '../logger.ts';
import { noopMetrics, type BotMetrics, type SendOutcome } from '../metrics/bot-metrics.ts';
import type { Progress } from '../progress.ts';
import type { BotStore, OutboxRow } from '../state/store.ts';
import { DEFAULT_ACCOUNT, LEASE_MS, LOST, replyLane } from '../state/store.ts';
import { createEarlyGrants } from './early-grants.ts';
import { expiryReason, gateOptionsFor, inMessagingWindow, isExpired } from './action-policy.ts';
import type { OutgoingAction } from './outgoing-action.ts';
import type { RateGate } from './rate-gate.ts';
import type { Timers } from './timers.ts';

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
  /** 0 ≤ random() < 1, injected for tests. */
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 5 * 60_000, maxAttempts: 12, random: Math.random };
/** Meta allows RESPONSE messages within 24 hours of the user's last message. */
export const MESSAGING_WINDOW_MS = 24 * 60 * 60 * 1000;
const AUTH_PAUSE_MS = 5 * 60_000;
/** After the store failed: first pause (doubling with each failure in a row), and the longest. */
const STORE_RETRY_MS = 500;
const STORE_RETRY_MAX_MS = 10_000;
/** Another instance may pause (or resume) an account: its pauses are read at most this often. */
const PAUSES_FRESH_MS = 1000;
/**
 * Sends in flight at once. Reaching SEND_RATE_LIMIT takes rate × Graph's latency of them (250/s at
 * ~250 ms: ~60); it is also how many sends a kill -9 can catch mid-flight (and repeat after restart).
 */
const DEFAULT_CONCURRENCY = 64;
/** Sends a recipient's lane may make in a row while other lanes wait for a slot. */
const QUANTUM = 2;
/** Lanes nobody holds that each claim pass takes, however busy this bot is. */
const MIN_CLAIM = 8;

export interface OutboxSenderDeps {
  store: BotStore;
  sendApi: SendApi;
  log: Logger;
  /** Send API rate limits per account (and the media limit), shared by all instances on PostgreSQL. */
  gate: RateGate;
  timers: Timers;
  /** Who this bot is among the instances sharing the store. */
  owner: string;
  leaseMs?: number;
  retry?: RetryPolicy;
  concurrency?: number;
  /** Told about each reply sent, given up or put off. */
  progress?: Progress;
  /** Counts Send API results, rate-limit waits and reply latency. */
  metrics?: BotMetrics;
  /** The account of a reply that names none (stored by a release before several accounts). */
  defaultAccount?: string;
  /** What to replace when Graph rejects an account's token (default: PAGE_ACCESS_TOKEN). */
  tokenFix?: (account: string) => string;
  /** Told about each reply given up and each token Graph rejects (the shop's alerts, see BotOptions.onError). */
  onError?: FailureHook;
}

/** What the inbox knows of replies it just queued, which spares the sender a read or two. */
export interface QueuedReplies {
  /** Replies that are the next of their lane (see Completion.heads). */
  heads?: readonly OutboxRow[] | undefined;
  /** The user's `last_inbound_at` as stored with these replies (their 24-hour window starts there or later). */
  lastInboundAt?: number | undefined;
}

export interface OutboxSender {
  /**
   * An event's replies are about to be stored (user, actions): with a shared rate gate, the first
   * one's grant is asked for now, while they are stored, when it will be sent at once.
   */
  prepare(userKey: string | undefined, actions: readonly OutgoingAction[]): void;
  /** Replies are waiting in these lanes, which this bot holds. */
  notify(lanes: Iterable<string>, queued?: QueuedReplies): void;
  /** Replies may be due in lanes nobody holds (a retry's time came, another instance died): claim them. */
  wake(): void;
  idle(): Promise<void>;
  stop(): Promise<void>;
  /** False while some account's token is known to be invalid. */
  tokenValid(): boolean;
  /** The accounts whose sending is paused because Graph rejected their token. */
  pausedAccounts(): string[];
  /** Lanes with replies due now: waiting for a slot, being sent, or held until the store answers again. */
  due(): number;
}

/** 'released': sent, and the lane given back with it (it was the lane's last reply). */
type Attempt = 'done' | 'released' | 'lost' | 'given back';


export function createOutboxSender(deps: OutboxSenderDeps): OutboxSender {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const leaseMs = deps.leaseMs ?? LEASE_MS;
  const { store, owner, log } = deps;
  const now = (): number => deps.timers.now();
  const defaultAccount = deps.defaultAccount ?? DEFAULT_ACCOUNT;
  const metrics = deps.metrics ?? noopMetrics;
  const tokenFix = deps.tokenFix ?? ((): string => 'PAGE_ACCESS_TOKEN');
  /** The account a reply goes out with (rows stored before several accounts existed name none). */
  const accountOfAction = (action: OutgoingAction): string => action.account ?? defaultAccount;
  const ready: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const again = new Set<string>();
  // Lanes given back until a retry is due, by this bot: idle() waits for them (not for paused accounts).
  const retrying = new Map<string, number>();
  let retryTimer: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;
  // Lanes the store failed for, held until it answers again (see storeFailed).
  const held = new Set<string>();
  let storeFailures = 0;
  let storeRetry: ReturnType<typeof setTimeout> | undefined;
  const pauses = new Map<string, number>();
  let pausesReadAt = Number.NEGATIVE_INFINITY;
  let claiming: Promise<void> | undefined;
  let claimAgain = false;
  let quiet = false;
  let stopped = false;
  /**
   * A lane's next reply as the inbox queued it, for a lane not being sent: its first turn sends it
   * without reading the head. Only this bot sends a lane it holds, so nothing else can take it first.
   */
  const knownHeads = new Map<string, { row: OutboxRow; lastInboundAt: number | undefined }>();
  /** No run of this lane is going, waiting or held: its next reply goes out in its first turn. */
  const untouched = (lane: string): boolean => !running.has(lane) && !queued.has(lane) && !held.has(lane);
  // Only a gate that takes a round trip per grant gains from asking early.
  const early = deps.gate.shared ? createEarlyGrants(deps.gate) : undefined;
  /** Replies Meta accepted whose recording failed (the store erred): recorded, never sent, on the next try. */
  const sentNotRecorded = new Map<number, { mid: string | undefined }>();
  let waiters: (() => void)[] = [];

  const busy = (): boolean => ready.length > 0 || running.size > 0 || claiming !== undefined || ((retrying.size > 0 || held.size > 0) && !stopped);
  const settle = (): void => {
    if (busy()) return;
    const w = waiters;
    waiters = [];
    w.forEach((resolve) => resolve());
  };

  const schedule = (lane: string): void => {
    if (stopped) return;
    if (running.has(lane)) again.add(lane);
    else if (!queued.has(lane) && !held.has(lane)) {
      queued.add(lane);
      ready.push(lane);
    }
  };

  /** Like schedule, but at the front of the line. */
  const scheduleFirst = (lane: string): void => {
    if (stopped || held.has(lane)) return;
    if (running.has(lane)) again.add(lane);
    else if (!queued.has(lane)) {
      queued.add(lane);
      ready.unshift(lane);
    }
  };

  const pump = (): void => {
    while (!stopped && running.size < concurrency && ready.length > 0) {
      const lane = ready.shift() as string;
      queued.delete(lane);
      running.add(lane);
      void runLane(lane);
    }
    settle();
  };

  /** Claims due lanes nobody holds, for the free slots. One claim pass at a time. */
  const wake = (): void => {
    if (stopped) return;
    quiet = false;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claimAgain = false;
    claiming = (async () => {
      // Lanes nobody holds have waited longest (their holder died, or their retry came due):
      // always take a few, and put them at the front of the line, so a backlog of fresh replies
      // this bot is sending cannot starve them.
      const free = Math.max(MIN_CLAIM, 2 * concurrency - running.size - ready.length);
      const lanes = await store.claimOutboxLanes(owner, free, leaseMs, now());
      for (const lane of lanes.reverse()) scheduleFirst(lane);
      quiet = lanes.length === 0;
    })()
      .catch((err: unknown) => log.error('claiming reply lanes failed; the next wake-up tries again', { err }))
      .finally(() => {
        claiming = undefined;
        pump();
        if (claimAgain) wake();
      });
  };

  /** One timer, for the earliest retry this bot is waiting for; each firing claims what is due. */
  const armRetryTimer = (): void => {
    if (retryTimer) clearTimeout(retryTimer.timer);
    retryTimer = undefined;
    if (retrying.size === 0 || stopped) return;
    const at = Math.min(...retrying.values());
    const timer = setTimeout(() => {
      retryTimer = undefined;
      const t = now();
      for (const [lane, due] of retrying) if (due <= t) retrying.delete(lane);
      armRetryTimer();
      wake();
    }, Math.max(0, at - now()));
    // A lane waiting for its retry must not keep the process alive on its own; its rows are safe.
    timer.unref();
    retryTimer = { at, timer };
  };

  /** This bot gave the lane back until `at` (a retry): it wakes up then to claim it again. */
  const retryAt = (lane: string, at: number): void => {
    retrying.set(lane, at);
    if (!retryTimer || at < retryTimer.at) armRetryTimer();
  };

  /**
   * The store failed for this lane: hold it. One timer, with a pause that doubles while failures
   * go on, lets one held lane try again; the first reply the store then records releases them all.
   */
  const storeFailed = (lane: string): void => {
    held.add(lane);
    if (storeRetry || stopped) return;
    storeFailures += 1;
    scheduleProbe();
  };

  const scheduleProbe = (): void => {
    if (storeRetry || stopped || held.size === 0) return;
    storeRetry = setTimeout(() => {
      storeRetry = undefined;
      const probe = held.values().next();
      if (probe.done) return;
      held.delete(probe.value);
      schedule(probe.value);
      pump();
    }, Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_MS * 2 ** Math.max(0, storeFailures - 1)));
    storeRetry.unref();
  };

  /** A reply's outcome was written: the store works again. */
  const storeAnswered = (): void => {
    if (storeFailures === 0) return;
    storeFailures = 0;
    clearTimeout(storeRetry);
    storeRetry = undefined;
    const lanes = [...held];
    held.clear();
    for (const lane of lanes) schedule(lane);
  };

  /** When the account's pause ends (0: not paused), as every instance knows it. */
  const pausedUntil = async (account: string): Promise<number> => {
    const t = now();
    if (t - pausesReadAt >= PAUSES_FRESH_MS) {
      const stored = await store.pausedAccounts(t);
      pauses.clear();
      for (const [a, until] of stored) pauses.set(a, until);
      pausesReadAt = t;
    }
    const until = pauses.get(account) ?? 0;
    return until > t ? until : 0;
  };

  const runLane = async (lane: string): Promise<void> => {
    let sent = 0;
    const known = knownHeads.get(lane);
    knownHeads.delete(lane);
    let knownRow = known?.row;
    // The user's inbound time holds for this run's replies: they are the same user's (a user's lane).
    const lastInboundAt = known?.lastInboundAt;
    try {
      for (;;) {
        again.delete(lane);
        if (stopped) break; // still held: released with the rest when the bot closes
        if (sent >= QUANTUM && ready.length > 0) {
          // Yield the slot: back of the line, so one long backlog cannot starve other recipients.
          again.add(lane);
          break;
        }
        sent += 1;
        const head = knownRow ?? (await store.outboxHead(lane));
        knownRow = undefined;
        if (!head) {
          // Given back, or not ours any more: done. Busy: replies arrived meanwhile.
          if ((await store.releaseOutboxLane(lane, owner, now())) !== 'busy') break;
          continue;
        }
        const outcome = await attempt(lane, head, lastInboundAt);
        storeAnswered();
        deps.progress?.note();
        if (outcome === 'lost') {
          // If the lane is still ours (the reply was gone), it goes back to the line rather than
          // staying held, and renewed, by a bot that no longer sends it.
          await store.releaseOutboxLane(lane, owner, now(), now());
          break;
        }
        // 'released' ends the run too: the lane went back with its last reply. A reply queued since
        // (the lane taken again by its completion) came with a notify, which `again` keeps.
        if (outcome !== 'done') break;
      }
    } catch (err) {
      // A store error, not a send failure (those are handled in attempt).
      log.error('the store failed while sending a lane; holding it until the store answers again', { err, lane, failures: storeFailures + 1 });
      if (!stopped) storeFailed(lane);
    } finally {
      running.delete(lane);
      if (again.has(lane)) schedule(lane);
      // A probe that wrote nothing (its lane had nothing due) proves nothing: the next one tries.
      scheduleProbe();
      pump();
    }
  };

  /** Gives the lane back until `at`; `forRetry`: this bot wakes up then to send it. */
  const giveBack = async (lane: string, at: number, forRetry: boolean): Promise<Attempt> => {
    await store.releaseOutboxLane(lane, owner, now(), at);
    if (forRetry) retryAt(lane, at);
    return 'given back';
  };

  const attempt = async (lane: string, row: OutboxRow, lastInboundAt: number | undefined): Promise<Attempt> => {
    const account = accountOfAction(row.action);
    const log = deps.log.child({ outbox_id: row.id, user: row.user_key, action: row.action.type, ...(account ? { account } : {}) });
    const unrecorded = sentNotRecorded.get(row.id);
    if (unrecorded) return recordSent(row, account, unrecorded, log);
    const pause = await pausedUntil(account);
    if (row.next_attempt_at > now() || pause > 0) return giveBack(lane, Math.max(row.next_attempt_at, pause), pause === 0);
    const expired = isExpired(row.action, now()) ? expiryReason(row.action, now()) : undefined;
    const outside = expired ? undefined : await windowRefusal(row, lastInboundAt);
    if (expired ?? outside) {
      log.warn(expired ? 'reply not sent: past its expiry' : 'reply not sent: outside the 24-hour messaging window', { reason: expired ?? outside });
      return fenced(await store.outboxFail(row.id, { reason: (expired ?? outside) as string, dropRest: true, apologise: false }, now(), owner));
    }
    const asked = performance.now();
    const options = gateOptionsFor(row.action);
    const grant = await (early?.take(account, options) ?? deps.gate.acquire(account, options));
    metrics.rateLimited((performance.now() - asked) / 1000);
    let result;
    try {
      result = await deps.sendApi.perform(row.action);
    } catch (err) {
      grant.done();
      return onFailure(lane, row, account, err, log);
    }
    grant.done();
    recordAccepted(metrics, row, now());
    return recordSent(row, account, { mid: result.message_id }, log);
  };

  /**
   * Writes down a reply Meta accepted. Until that write succeeds the reply is remembered here, so
   * a store that fails just then makes this bot retry the write, never the send.
   */
  const recordSent = async (row: OutboxRow, account: string, result: { mid: string | undefined }, log: Logger): Promise<Attempt> => {
    sentNotRecorded.set(row.id, result);
    // The lane goes back with the record when this was its last reply (the store says so).
    const written = await store.outboxSent(row.id, { userKey: row.user_key, mid: result.mid }, now(), owner, { releaseIfEmpty: true });
    sentNotRecorded.delete(row.id);
    if (pauses.has(account)) {
      pauses.delete(account);
      await store.resumeAccount(account);
      log.info('sending resumed: the token works again');
    }
    return written === 'released' ? 'released' : fenced(written);
  };

  const fenced = (written: unknown): Attempt => {
    if (written !== LOST) return 'done';
    log.warn('another instance took this reply lane over; leaving it');
    return 'lost';
  };

  const onFailure = async (lane: string, row: OutboxRow, account: string, err: unknown, log: Logger): Promise<Attempt> => {
    const kind = classifyFailure(err);
    const t = now();
    metrics.sendResult(sendOutcome(kind, row, retry), graphCode(err));
    const alert = (): void => reportFailure(deps.onError, { stage: 'sending', error: err, action: { type: row.action.type, account, user: row.user_key } }, log);
    if (kind === 'auth') {
      const until = t + AUTH_PAUSE_MS;
      pauses.set(account, until);
      await store.pauseAccount(account, until, 'Graph rejected the token (code 190)');
      const fix = tokenFix(account);
      log.error(
        fix === 'PAGE_ACCESS_TOKEN'
          ? 'PAGE_ACCESS_TOKEN_INVALID: Graph rejected the Page token (code 190). Sending is paused; replace PAGE_ACCESS_TOKEN and restart.'
          : `ACCESS_TOKEN_INVALID: Graph rejected the token of account ${account} (code 190). Sending for it is paused (the other accounts go on); replace ${fix} and restart.`,
        { err },
      );
      alert();
      return giveBack(lane, until, false);
    }
    if (row.action.type === 'sender_action') {
      // A typing indicator is worth nothing late and must never cost the reply behind it.
      log.warn('sender action not sent, skipped', { err, failure: kind });
      return fenced(await store.outboxFail(row.id, { reason: `${kind}: ${describe(err)}`, dropRest: false, apologise: false }, t, owner));
    }
    if (kind === 'transient') {
      const attempts = row.attempts + 1;
      if (attempts < retry.maxAttempts) {
        const delay = backoff(retry, attempts);
        log.warn('send failed, will retry', { err, attempts, retry_in_ms: delay });
        const written = await store.outboxRetry(row.id, { attempts, nextAttemptAt: t + delay, error: describe(err) }, t, owner);
        if (written === LOST) return fenced(written);
        retryAt(lane, t + delay);
        return 'given back';
      }
      log.error('send given up after retries', { err, attempts });
      alert();
      return fenced(await store.outboxFail(row.id, { reason: `retries exhausted: ${describe(err)}`, dropRest: true, apologise: false }, t, owner));
    }
    const apologise = kind === 'permanent' && row.action.type === 'message' && row.apology !== undefined;
    log.error('send failed permanently, not retried', { err, failure: kind, apologise });
    alert();
    return fenced(await store.outboxFail(row.id, { reason: `${kind}: ${describe(err)}`, dropRest: true, apologise }, t, owner));
  };

  /** `known`: the user's last inbound time stored with the reply; within the window, no read is needed. */
  const windowRefusal = async (row: OutboxRow, known: number | undefined): Promise<string | undefined> => {
    // A private reply has its own window (7 days from the comment, as its expires_at).
    if (!row.user_key || (row.action.type !== 'message' && row.action.type !== 'sender_action') || !inMessagingWindow(row.action)) return undefined;
    if (known !== undefined && now() - known <= MESSAGING_WINDOW_MS) return undefined;
    const { last_inbound_at } = await store.getUser(row.user_key);
    if (last_inbound_at === undefined) return undefined;
    const age = now() - last_inbound_at;
    return age > MESSAGING_WINDOW_MS ? `outside_24h_window: last message from the user ${Math.round(age / 3_600_000)} h ago` : undefined;
  };

  return {
    prepare(userKey, actions) {
      const first = actions[0];
      if (!early || stopped || !first) return;
      const account = accountOfAction(first);
      const options = gateOptionsFor(first);
      // Behind other replies, on hold or paused, it is not sent at once. An hour-long limit's slot
      // (Instagram's private replies) is never taken ahead: one left unused would be lost an hour.
      const lane = replyLane(userKey, first);
      if (!untouched(lane) || pauses.has(account) || options.kind) return;
      early.ask(account, options);
    },
    notify(lanes, queuedReplies = {}) {
      // Replies arriving while none were due: the stuck clock (see progress.ts) starts now.
      if (ready.length + running.size + held.size === 0) deps.progress?.note();
      for (const row of queuedReplies.heads ?? []) {
        // A lane being sent (or waiting its turn, or held) reads its head itself: the hint could be stale by then.
        if (!stopped && untouched(row.lane)) knownHeads.set(row.lane, { row, lastInboundAt: queuedReplies.lastInboundAt });
      }
      for (const lane of lanes) {
        retrying.delete(lane);
        schedule(lane);
      }
      pump();
    },
    wake,
    async idle() {
      for (;;) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          settle();
        });
        if (stopped || quiet) return;
        wake();
      }
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer.timer);
      retryTimer = undefined;
      retrying.clear();
      clearTimeout(storeRetry);
      held.clear();
      ready.length = 0;
      queued.clear();
      knownHeads.clear();
      early?.close();
      await claiming;
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      });
    },
    tokenValid: () => pausedAccountsNow().length === 0,
    pausedAccounts: () => pausedAccountsNow(),
    due: () => ready.length + running.size + held.size,
  };

  function pausedAccountsNow(): string[] {
    const t = now();
    return [...pauses].filter(([, until]) => until > t).map(([account]) => account);
  }
}

/** Every accepted request counts as sent; a reply message also measures its latency from the webhook. */
function recordAccepted(metrics: BotMetrics, row: OutboxRow, now: number): void {
  metrics.sendResult('sent', undefined);
  if (row.action.type === 'message' && row.received_at !== undefined) metrics.replyAccepted((now - row.received_at) / 1000);
}

/** How onFailure treats this failure (kept in step with it). */
function sendOutcome(kind: ReturnType<typeof classifyFailure>, row: OutboxRow, retry: RetryPolicy): SendOutcome {
  if (kind === 'auth') return 'retried'; // paused, then tried again
  if (kind !== 'transient' || row.action.type === 'sender_action') return 'failed';
  return row.attempts + 1 < retry.maxAttempts ? 'retried' : 'failed';
}

function graphCode(err: unknown): number | undefined {
  return err instanceof GraphApiError ? err.code : undefined;
}

/** Exponential backoff with jitter: between half and all of base·2^(n-1), capped. */
export function backoff(policy: RetryPolicy, attempts: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempts - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * policy.random());
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 300) : String(err);
}
