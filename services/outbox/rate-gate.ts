// The Send API rate limit per account (a Page, or an Instagram account), counted where Meta counts
// it: on arrival. A limiter that spaces out *grants* is not enough, because calls granted on time
// bunch on the way out (event-loop stalls, new connections, retransmits): at a limit of 100 the old
// grant-time limiter let 105 calls arrive within one second in the app, 112–122 in
// test/reliability/arrival-rate.test.ts. The gate instead keeps every grant
// counting until its call is over.
//
// The rule. A grant counts from the moment it is given until COUNT_AFTER_DONE_MS (1 s) after
// `done()` (which the sender calls once the call's response or failure has arrived); while the call
// is in flight it counts. A new grant is given only while fewer than `limit` grants count.
//
// Why that bounds arrivals. Take any window [t, t + 1 s) and the n calls that arrive in it; let c
// be the one granted last (grants are totally ordered: one event loop here, one advisory lock per
// account in PostgreSQL). Every other call i in the window was granted before c (g_i ≤ g_c), and
// its done time is no earlier than its arrival (a response cannot come before its request arrived):
// d_i ≥ a_i ≥ t. So i still counts at g_c: d_i + 1 s ≥ t + 1 s > a_c ≥ g_c. At g_c the n − 1 others
// all counted, and c was granted only because fewer than `limit` did: n − 1 < limit, so n ≤ limit.
// Nothing in the argument depends on how long calls take between grant and arrival, so bunching on
// the way out cannot break it. Any extra condition on grants (the smoothing below, the media limit)
// only withholds grants, so the bound survives it.
//
// What it costs. A call holds its slot for (its latency + 1 s), so at saturation the rate is
// limit / (1 + latency in s): 83 % of the limit at 200 ms of Graph latency. Counting from the moment
// the request was fully written (axios's Node adapter accepts a `transport`, whose ClientRequest
// emits 'finish' when the last byte is handed to the OS) would cost almost nothing, but that moment
// comes before arrival by a transit time that varies, and at saturation a grant is given the instant
// a slot frees, so the jitter lets arrivals bunch again: measured at the mock Graph server at a limit
// of 100 (test/reliability/arrival-rate.test.ts, test/support/gated-sends.ts), 'written' let up to
// 110 arrive within one second (transit p99 8 ms, max 12 ms on loopback), 'response' never more
// than 100. The response (or failure) is the only moment the client knows to be after arrival.
//
// Smoothing. On top of the count, at most ceil(limit × SMOOTHING_MS / 1 s) grants are given within
// any SMOOTHING_MS (100 ms): an idle account does not release a whole second's worth at once.
import type { Logger } from '../logger.ts';

/** How long a finished call keeps counting: Meta counts calls per second. */
export const COUNT_AFTER_DONE_MS = 1000;
/** Meta's lower limit for audio and video attachments, per account. */
export const MEDIA_RATE_LIMIT = 10;
/** Grants within any window this long are capped at this window's share of the limit. */
export const SMOOTHING_MS = 100;
/**
 * A grant never marked done (a bug in the caller, or, in PostgreSQL, an instance that died) stops
 * counting this long after it was given, plus COUNT_AFTER_DONE_MS. It must exceed the Graph client's
 * timeout (10 s), or a slow call could stop counting before it arrived.
 */
export const IN_FLIGHT_TIMEOUT_MS = 15_000;

export interface Grant {
  /**
   * The call is over: its response or failure arrived (or, with `atMs`, it arrived at that time on
   * the gate's clock, `gate.now()`; never a time before the request could have reached Graph, or
   * the bound is lost). It keeps counting for COUNT_AFTER_DONE_MS more. Idempotent.
   */
  done(atMs?: number): void;
}

export interface AcquireOptions {
  /** Audio or video: takes a slot under the media limit as well as under the account's limit. */
  media?: boolean;
}

export interface RateGate {
  /** Resolves with a grant when one more Send API call for `account` may go out. FIFO per account. */
  acquire(account: string, options?: AcquireOptions): Promise<Grant>;
  /** The clock `done(atMs)` is read on. */
  now(): number;
  /** Rejects the waiters and stops the timers; resolves when pending bookkeeping is written. */
  close(): Promise<void>;
}

/** Calls per second for an account: one number for all, or per account (Pages may differ). */
export type AccountLimit = number | ((account: string) => number);

export interface GateClock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Monotonic: a wall-clock step (NTP) must not open or close slots. */
export const realGateClock: GateClock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, Math.ceil(ms)));
    return () => clearTimeout(timer);
  },
};

export class RateGateClosedError extends Error {
  constructor() {
    super('rate gate closed: no more grants');
    this.name = 'RateGateClosedError';
  }
}

/** The largest number of grants within any SMOOTHING_MS for this limit. */
export function burstFor(limit: number, smoothingMs = SMOOTHING_MS): number {
  return Math.max(1, Math.ceil((limit * smoothingMs) / 1000));
}

export function limitOf(limit: AccountLimit, account: string): number {
  const value = typeof limit === 'number' ? limit : limit(account);
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`rate limit for account ${account} must be at least 1 call per second, got ${value}`);
  return Math.floor(value);
}

/** The key media grants are counted under: an account id never contains a slash. */
export function mediaKey(account: string): string {
  return `${account}/media`;
}

/** Where one limit stands at a moment; the same for the local and the PostgreSQL gate. */
export interface Occupancy {
  /** Grants counting now. */
  counted: number;
  /** When the first of them stops counting (undefined when none counts). */
  earliestRelease: number | undefined;
  /** Times of the grants given within the last smoothing window, oldest first. */
  recentGrants: readonly number[];
}

export interface LimitShape {
  limit: number;
  burst: number;
  smoothingMs: number;
}

/** How many grants may be given now. */
export function roomFor(shape: LimitShape, occ: Occupancy): number {
  return Math.max(0, Math.min(shape.limit - occ.counted, shape.burst - occ.recentGrants.length));
}

/**
 * The earliest time a grant might be possible again, when `roomFor` is 0; undefined when only a
 * `done()` can change that (every counting grant is in flight with no known end).
 */
export function nextRoomAt(shape: LimitShape, occ: Occupancy): number | undefined {
  let at = Number.NEGATIVE_INFINITY;
  if (occ.counted >= shape.limit) {
    if (occ.earliestRelease === undefined) return undefined;
    at = occ.earliestRelease;
  }
  const overBurst = occ.recentGrants.length - shape.burst;
  if (overBurst >= 0) at = Math.max(at, (occ.recentGrants[overBurst] as number) + shape.smoothingMs);
  return at;
}

export interface LocalRateGateOptions {
  /** SEND_RATE_LIMIT, or a limit per account. */
  limit: AccountLimit;
  mediaLimit?: number;
  clock?: GateClock;
  inFlightTimeoutMs?: number;
  smoothingMs?: number;
  log?: Logger;
}

/** Acquires the media slot first, then the account's: the scarcer slot is never held idle by a wait for the common one. */
export function acquireWithMedia(take: (key: string, media: boolean) => Promise<Grant>, account: string, options?: AcquireOptions): Promise<Grant> {
  if (!options?.media) return take(account, false);
  return take(mediaKey(account), true).then(async (media) => {
    let main: Grant;
    try {
      main = await take(account, false);
    } catch (err) {
      media.done();
      throw err;
    }
    return {
      done(atMs) {
        main.done(atMs);
        media.done(atMs);
      },
    };
  });
}

/** The gate for one process: all state in memory, one timer per account at most. */
export function createLocalRateGate(options: LocalRateGateOptions): RateGate {
  const clock = options.clock ?? realGateClock;
  const mediaLimit = options.mediaLimit ?? MEDIA_RATE_LIMIT;
  const smoothingMs = options.smoothingMs ?? SMOOTHING_MS;
  const meters = new Map<string, Meter>();
  let closed = false;

  const meterFor = (key: string, isMedia: boolean): Meter => {
    let meter = meters.get(key);
    if (!meter) {
      meter = createMeter({
        limit: () => (isMedia ? mediaLimit : limitOf(options.limit, key)),
        clock,
        smoothingMs,
        inFlightTimeoutMs: options.inFlightTimeoutMs ?? IN_FLIGHT_TIMEOUT_MS,
        log: options.log?.child({ rate_account: key }),
      });
      meters.set(key, meter);
    }
    return meter;
  };

  return {
    acquire(account, acquireOptions) {
      if (closed) return Promise.reject(new RateGateClosedError());
      return acquireWithMedia((key, isMedia) => meterFor(key, isMedia).take(), account, acquireOptions);
    },
    now: () => clock.now(),
    close() {
      closed = true;
      for (const meter of meters.values()) meter.close();
      return Promise.resolve();
    },
  };
}

interface Meter {
  take(): Promise<Grant>;
  close(): void;
}

interface Held {
  grantedAt: number;
  expiresAt: number;
}

interface Waiter {
  resolve(grant: Grant): void;
  reject(err: Error): void;
}

interface MeterOptions {
  limit: () => number;
  clock: GateClock;
  smoothingMs: number;
  inFlightTimeoutMs: number;
  log: Logger | undefined;
}

/** One account's (or its media's) limit: the grants that count, the waiters, at most one timer. */
function createMeter(options: MeterOptions): Meter {
  const { clock, smoothingMs } = options;
  const inFlight = new Set<Held>();
  const releases: number[] = []; // when each done grant stops counting, ascending
  const recent: number[] = []; // grant times within the smoothing window, ascending
  const waiters: Waiter[] = [];
  let cancelTimer: (() => void) | undefined;
  let timerAt = Number.NaN;
  let closed = false;

  const prune = (now: number): void => {
    while (releases.length > 0 && (releases[0] as number) <= now) releases.shift();
    while (recent.length > 0 && (recent[0] as number) <= now - smoothingMs) recent.shift();
    for (const held of inFlight) {
      if (held.expiresAt > now) continue;
      inFlight.delete(held);
      options.log?.warn('a rate grant was never marked done; it stopped counting after the in-flight timeout', { granted_ms_ago: Math.round(now - held.grantedAt) });
    }
  };

  const occupancy = (): Occupancy => {
    let earliest = releases[0];
    for (const held of inFlight) earliest = earliest === undefined ? held.expiresAt : Math.min(earliest, held.expiresAt);
    return { counted: inFlight.size + releases.length, earliestRelease: earliest, recentGrants: recent };
  };

  const grant = (now: number): Grant => {
    const held: Held = { grantedAt: now, expiresAt: now + options.inFlightTimeoutMs + COUNT_AFTER_DONE_MS };
    inFlight.add(held);
    recent.push(now);
    return {
      done(atMs) {
        // Not in flight any more: already done, or expired after the timeout (then it stays expired).
        if (!inFlight.delete(held)) return;
        const at = clock.now();
        const doneAt = atMs === undefined || !Number.isFinite(atMs) ? at : Math.min(at, Math.max(held.grantedAt, atMs));
        const until = doneAt + COUNT_AFTER_DONE_MS;
        if (until > at) releases.splice(sortedIndex(releases, until), 0, until);
        pump();
      },
    };
  };

  const arm = (at: number, now: number): void => {
    if (cancelTimer && timerAt === at) return;
    cancelTimer?.();
    timerAt = at;
    cancelTimer = clock.setTimer(at - now, () => {
      cancelTimer = undefined;
      pump();
    });
  };

  const pump = (): void => {
    if (closed) return;
    const now = clock.now();
    prune(now);
    let limit: number;
    try {
      limit = options.limit();
    } catch (err) {
      // A bad limit for this account (limitFor's answer): its waiters learn why; other accounts go on.
      for (const waiter of waiters.splice(0)) waiter.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const shape: LimitShape = { limit, burst: burstFor(limit, smoothingMs), smoothingMs };
    let room = roomFor(shape, occupancy());
    while (room > 0 && waiters.length > 0) {
      (waiters.shift() as Waiter).resolve(grant(now));
      room -= 1;
    }
    if (waiters.length === 0) {
      cancelTimer?.();
      cancelTimer = undefined;
      return;
    }
    // Timers fire on the loop's cached time and may come a little early: pump re-checks and re-arms.
    const at = nextRoomAt(shape, occupancy());
    if (at !== undefined) arm(at, now);
    else {
      cancelTimer?.();
      cancelTimer = undefined; // only a done() can open a slot, and done() pumps
    }
  };

  return {
    take() {
      if (closed) return Promise.reject(new RateGateClosedError());
      const promise = new Promise<Grant>((resolve, reject) => waiters.push({ resolve, reject }));
      pump();
      return promise;
    },
    close() {
      closed = true;
      cancelTimer?.();
      cancelTimer = undefined;
      for (const waiter of waiters.splice(0)) waiter.reject(new RateGateClosedError());
    },
  };
}

/** Where `value` goes in an ascending array (after equal values). */
function sortedIndex(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
