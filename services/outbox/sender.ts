// Drains the outbox: one lane per recipient, strictly in order, lanes side by side. A transient
// failure parks only its own lane (exponential backoff with jitter), a permanent one is recorded
// and given up, an invalid token pauses all sending and marks health degraded.
import { GraphApiError } from '../errors.ts';
import { classifyFailure } from '../graph/error-policy.ts';
import type { OutgoingAction, SendApi } from '../graph/send-api.ts';
import type { Logger } from '../logger.ts';
import { noopMetrics, type BotMetrics, type SendOutcome } from '../metrics/bot-metrics.ts';
import type { BotStore, OutboxRow } from '../state/store.ts';
import type { RateLimiter, Timers } from './rate-limiter.ts';

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
const LANE_RETRY_MS = 1000;
/**
 * Sends in flight at once. Reaching SEND_RATE_LIMIT takes rate × Graph's latency of them (250/s at
 * ~250 ms: ~60); it is also how many sends a kill -9 can catch mid-flight (and repeat after restart).
 */
const DEFAULT_CONCURRENCY = 64;
/** Sends a recipient's lane may make in a row while other lanes wait for a slot. */
const QUANTUM = 2;

export interface OutboxSenderDeps {
  store: BotStore;
  sendApi: SendApi;
  log: Logger;
  limiter: RateLimiter;
  /** Audio and video have their own, lower limit. */
  mediaLimiter: RateLimiter;
  timers: Timers;
  retry?: RetryPolicy;
  concurrency?: number;
  /** Counts Send API results, rate-limit waits and reply latency (metrics, #14). */
  metrics?: BotMetrics;
}

export interface OutboxSender {
  /** New replies are waiting in these lanes. */
  notify(lanes: Iterable<string>): void;
  idle(): Promise<void>;
  stop(): Promise<void>;
  /** False while the Page token is known to be invalid. */
  tokenValid(): boolean;
}

type Attempt = 'done' | 'park';

export function createOutboxSender(deps: OutboxSenderDeps): OutboxSender {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const metrics = deps.metrics ?? noopMetrics;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const ready: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const again = new Set<string>();
  const parked = new Map<string, ReturnType<typeof setTimeout>>();
  // Lanes parked only because the token is invalid: they wait for a person, not for time, so idle() ignores them.
  const parkedForAuth = new Set<string>();
  let authPausedUntil = 0;
  let stopped = false;
  let waiters: (() => void)[] = [];

  const settle = (): void => {
    if (ready.length > 0 || running.size > 0 || (parked.size > parkedForAuth.size && !stopped)) return;
    const w = waiters;
    waiters = [];
    w.forEach((resolve) => resolve());
  };

  const schedule = (lane: string): void => {
    if (stopped) return;
    if (running.has(lane)) again.add(lane);
    else if (!queued.has(lane) && !parked.has(lane)) {
      queued.add(lane);
      ready.push(lane);
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

  const park = (lane: string, until: number): void => {
    const timer = setTimeout(() => {
      parked.delete(lane);
      parkedForAuth.delete(lane);
      schedule(lane);
      pump();
    }, Math.max(0, until - deps.timers.now()));
    // A parked lane must not keep the process alive on its own; its rows are safe in the store.
    timer.unref();
    parked.set(lane, timer);
    if (until <= authPausedUntil) parkedForAuth.add(lane);
  };

  const runLane = async (lane: string): Promise<void> => {
    let sent = 0;
    try {
      for (;;) {
        again.delete(lane);
        if (stopped) break;
        if (sent >= QUANTUM && ready.length > 0) {
          // Yield the slot: back of the line, so one long backlog cannot starve other recipients.
          again.add(lane);
          break;
        }
        sent += 1;
        const head = await deps.store.outboxHead(lane);
        if (!head) break;
        const now = deps.timers.now();
        const notBefore = Math.max(head.next_attempt_at, authPausedUntil);
        if (notBefore > now) {
          park(lane, notBefore);
          break;
        }
        if ((await attempt(head)) === 'park') {
          park(lane, Math.max(deps.timers.now() + 1, authPausedUntil));
          break;
        }
      }
    } catch (err) {
      // A store error, not a send failure (those are handled in attempt): try the lane again shortly.
      deps.log.error('outbox lane failed; trying it again in a second', { err, lane });
      if (!stopped) park(lane, deps.timers.now() + LANE_RETRY_MS);
    } finally {
      running.delete(lane);
      if (again.has(lane)) schedule(lane);
      pump();
    }
  };

  const attempt = async (row: OutboxRow): Promise<Attempt> => {
    const log = deps.log.child({ outbox_id: row.id, user: row.user_key, action: row.action.type });
    const refusal = await windowRefusal(row);
    if (refusal) {
      log.warn('reply not sent: outside the 24-hour messaging window', { reason: refusal });
      await deps.store.outboxFail(row.id, { reason: refusal, dropRest: true, apologise: false }, deps.timers.now());
      return 'done';
    }
    const waitFrom = deps.timers.now(); // metrics (#14)
    await (isMedia(row.action) ? Promise.all([deps.limiter.acquire(), deps.mediaLimiter.acquire()]) : deps.limiter.acquire());
    metrics.rateLimited((deps.timers.now() - waitFrom) / 1000); // metrics (#14)
    try {
      const result = await deps.sendApi.perform(row.action);
      recordAccepted(metrics, row, deps.timers.now()); // metrics (#14)
      await deps.store.outboxSent(row.id, { userKey: row.user_key, mid: result.message_id }, deps.timers.now());
      if (authPausedUntil > 0) {
        authPausedUntil = 0;
        log.info('sending resumed: the Page token works again');
      }
      return 'done';
    } catch (err) {
      return onFailure(row, err, log);
    }
  };

  const onFailure = async (row: OutboxRow, err: unknown, log: Logger): Promise<Attempt> => {
    const kind = classifyFailure(err);
    const now = deps.timers.now();
    metrics.sendResult(sendOutcome(kind, row, retry), graphCode(err)); // metrics (#14)
    if (kind === 'auth') {
      authPausedUntil = now + AUTH_PAUSE_MS;
      log.error('PAGE_ACCESS_TOKEN_INVALID: Graph rejected the Page token (code 190). Sending is paused; replace PAGE_ACCESS_TOKEN and restart.', { err });
      return 'park';
    }
    if (row.action.type === 'sender_action') {
      // A typing indicator is worth nothing late and must never cost the reply behind it.
      log.warn('sender action not sent, skipped', { err, failure: kind });
      await deps.store.outboxFail(row.id, { reason: `${kind}: ${describe(err)}`, dropRest: false, apologise: false }, now);
      return 'done';
    }
    if (kind === 'transient') {
      const attempts = row.attempts + 1;
      if (attempts < retry.maxAttempts) {
        const delay = backoff(retry, attempts);
        log.warn('send failed, will retry', { err, attempts, retry_in_ms: delay });
        await deps.store.outboxRetry(row.id, attempts, now + delay, describe(err));
        return 'park';
      }
      log.error('send given up after retries', { err, attempts });
      await deps.store.outboxFail(row.id, { reason: `retries exhausted: ${describe(err)}`, dropRest: true, apologise: false }, now);
      return 'done';
    }
    const apologise = kind === 'permanent' && row.action.type === 'message' && row.apology !== undefined;
    log.error('send failed permanently, not retried', { err, failure: kind, apologise });
    await deps.store.outboxFail(row.id, { reason: `${kind}: ${describe(err)}`, dropRest: true, apologise }, now);
    return 'done';
  };

  const windowRefusal = async (row: OutboxRow): Promise<string | undefined> => {
    if (!row.user_key || (row.action.type !== 'message' && row.action.type !== 'sender_action')) return undefined;
    const { last_inbound_at } = await deps.store.getUser(row.user_key);
    if (last_inbound_at === undefined) return undefined;
    const age = deps.timers.now() - last_inbound_at;
    return age > MESSAGING_WINDOW_MS ? `outside_24h_window: last message from the user ${Math.round(age / 3_600_000)} h ago` : undefined;
  };

  return {
    notify(lanes) {
      for (const lane of lanes) schedule(lane);
      pump();
    },
    idle: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    async stop() {
      stopped = true;
      for (const timer of parked.values()) clearTimeout(timer);
      parked.clear();
      parkedForAuth.clear();
      ready.length = 0;
      queued.clear();
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      });
    },
    tokenValid: () => authPausedUntil === 0,
  };
}

/** metrics (#14): every accepted request counts as sent; a reply message also measures its latency from the webhook. */
function recordAccepted(metrics: BotMetrics, row: OutboxRow, now: number): void {
  metrics.sendResult('sent', undefined);
  if (row.action.type === 'message' && row.received_at !== undefined) metrics.replyAccepted((now - row.received_at) / 1000);
}

/** metrics (#14): how onFailure will treat this failure (kept in step with it). */
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

function isMedia(action: OutgoingAction): boolean {
  if (action.type !== 'message' || !('attachment' in action.message)) return false;
  return action.message.attachment.type === 'audio' || action.message.attachment.type === 'video';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 300) : String(err);
}
