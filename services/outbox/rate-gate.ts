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
//
// Longer windows. Nothing above depends on the window being one second: with a window W, a grant
// counts until W after done() and the same argument bounds any window [t, t + W) of arrivals by
// the limit. So one gate also enforces limits per hour, such as Instagram's 750 private replies
// per hour per account (INSTAGRAM_PRIVATE_REPLY_LIMIT): `acquire(account, { kind: 'private_reply' })`
// takes a slot under that limit first, then one under the account's Send API limit. The smoothing
// share is of the window (ceil(limit × SMOOTHING_MS / W)): 750 per hour gives one grant per 100 ms.
import type { Logger } from '../logger.ts';

/** How long a finished call keeps counting: Meta counts Send API calls per second. */
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

/** Limits that some calls take on top of the account's: named, each with its own window. */
export type LimitKind = 'private_reply';

/** `limit` calls per account within any `windowMs`. */
export interface WindowLimit {
  limit: AccountLimit;
  windowMs: number;
}

/** Instagram: 750 private replies (to post and reel comments) per hour per professional account. */
export const INSTAGRAM_PRIVATE_REPLY_LIMIT: Readonly<WindowLimit> = Object.freeze({ limit: 750, windowMs: 3_600_000 });

export const DEFAULT_KIND_LIMITS: Readonly<Record<LimitKind, Readonly<WindowLimit>>> = Object.freeze({ private_reply: INSTAGRAM_PRIVATE_REPLY_LIMIT });

export interface AcquireOptions {
  /** Audio or video: takes a slot under the media limit as well as under the account's limit. */
  media?: boolean;
  /** Also takes a slot under this kind's limit (an Instagram private reply: 750 per hour). */
  kind?: LimitKind;
}

export interface RateGate {
  /** Resolves with a grant when one more Send API call for `account` may go out. FIFO per account. */
  acquire(account: string, options?: AcquireOptions): Promise<Grant>;
  /** The clock `done(atMs)` is read on. */
  now(): number;
  /** Grants come from a store shared by instances, a round trip each (the sender then asks ahead). */
  readonly shared?: boolean;
  /** Rejects the waiters and stops the timers; resolves when pending bookkeeping is written. */
  close(): Promise<void>;
}

/** Calls per window (a second unless said otherwise) for an account: one number for all, or per account. */
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

/** The largest number of grants within any SMOOTHING_MS for this limit (per window of `windowMs`). */
export function burstFor(limit: number, smoothingMs = SMOOTHING_MS, windowMs = COUNT_AFTER_DONE_MS): number {
  return Math.max(1, Math.ceil((limit * smoothingMs) / windowMs));
}

export function limitOf(limit: AccountLimit, account: string, windowMs = COUNT_AFTER_DONE_MS): number {
  const value = typeof limit === 'number' ? limit : limit(account);
  const per = windowMs === COUNT_AFTER_DONE_MS ? 'second' : `${windowMs / 1000} s`;
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`rate limit for account ${account} must be at least 1 call per ${per}, got ${value}`);
  return Math.floor(value);
}

/** A window of at least a second (the Send API's), in whole milliseconds. */
export function checkWindow(windowMs: number, what: string): number {
  if (!Number.isInteger(windowMs) || windowMs < COUNT_AFTER_DONE_MS) throw new RangeError(`${what}: the window must be a whole number of milliseconds, at least ${COUNT_AFTER_DONE_MS}, got ${windowMs}`);
  return windowMs;
}

/** The key media grants are counted under: an account id never contains a slash. */
export function mediaKey(account: string): string {
  return `${account}/media`;
}

/** The key a kind's grants are counted under (`<account>/private_reply`). */
export function kindKey(account: string, kind: LimitKind): string {
  return `${account}/${kind}`;
}

/** Which limit a key is counted under. */
export type LimitName = 'account' | 'media' | LimitKind;

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

export interface LocalRateGateOptions extends LimitOptions {
  clock?: GateClock;
  inFlightTimeoutMs?: number;
  smoothingMs?: number;
  log?: Logger;
}

/** The limits one call takes, scarcest first, each with the key its grants are counted under. */
export function limitsFor(account: string, options?: AcquireOptions): { key: string; name: LimitName }[] {
  const limits: { key: string; name: LimitName }[] = [];
  if (options?.kind) limits.push({ key: kindKey(account, options.kind), name: options.kind });
  if (options?.media) limits.push({ key: mediaKey(account), name: 'media' });
  limits.push({ key: account, name: 'account' });
  return limits;
}

/**
 * Acquires every limit the call takes, scarcest first (a private reply's hourly slot, then the
 * media slot, then the account's): a scarce slot is never held idle by a wait for a common one.
 * One grant comes back; its done() marks all of them.
 */
export async function acquireLimits(take: (key: string, name: LimitName) => Promise<Grant>, account: string, options?: AcquireOptions): Promise<Grant> {
  const held: Grant[] = [];
  try {
    for (const { key, name } of limitsFor(account, options)) held.push(await take(key, name));
  } catch (err) {
    for (const grant of held) grant.done();
    throw err;
  }
  if (held.length === 1) return held[0] as Grant;
  return {
    done(atMs) {
      for (const grant of held) grant.done(atMs);
    },
  };
}

/** What shapes a gate's limits: the account's, the media one and the kinds'. */
export interface LimitOptions {
  /** SEND_RATE_LIMIT, or a limit per account: calls per `windowMs`. */
  limit: AccountLimit;
  /** The window `limit` counts in (default 1 s, the Send API's). */
  windowMs?: number;
  /** Audio and video calls per second (default MEDIA_RATE_LIMIT). */
  mediaLimit?: number;
  /** The limits of the kinds (default DEFAULT_KIND_LIMITS: Instagram private replies, 750 per hour). */
  kinds?: Partial<Record<LimitKind, WindowLimit>>;
}

/** The window a limit counts in. */
export function windowOf(name: LimitName, options: LimitOptions): number {
  if (name === 'media') return COUNT_AFTER_DONE_MS;
  if (name === 'account') return options.windowMs ?? COUNT_AFTER_DONE_MS;
  return (options.kinds?.[name] ?? DEFAULT_KIND_LIMITS[name]).windowMs;
}

/** How many calls a limit allows per its window, for one account; throws RangeError for a bad one. */
export function limitFor(name: LimitName, account: string, options: LimitOptions): number {
  if (name === 'media') return options.mediaLimit ?? MEDIA_RATE_LIMIT;
  const windowMs = windowOf(name, options);
  if (name === 'account') return limitOf(options.limit, account, windowMs);
  return limitOf((options.kinds?.[name] ?? DEFAULT_KIND_LIMITS[name]).limit, account, windowMs);
}

/** The gate for one process: all state in memory, one timer per account at most. */
export function createLocalRateGate(options: LocalRateGateOptions): RateGate {
  const clock = options.clock ?? realGateClock;
  const smoothingMs = options.smoothingMs ?? SMOOTHING_MS;
  checkWindows(options);
  const meters = new Map<string, Meter>();
  let closed = false;

  const meterFor = (key: string, name: LimitName, account: string): Meter => {
    let meter = meters.get(key);
    if (!meter) {
      meter = createMeter({
        limit: () => limitFor(name, account, options),
        windowMs: windowOf(name, options),
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
      return acquireLimits((key, name) => meterFor(key, name, account).take(), account, acquireOptions);
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

/** Refuses a window shorter than a second (the Send API's) at construction, naming the option. */
export function checkWindows(options: { windowMs?: number; kinds?: Partial<Record<LimitKind, WindowLimit>> }): void {
  if (options.windowMs !== undefined) checkWindow(options.windowMs, 'rate gate windowMs');
  for (const [kind, limit] of Object.entries(options.kinds ?? {})) if (limit) checkWindow(limit.windowMs, `rate gate kinds.${kind}`);
}

interface MeterOptions {
  limit: () => number;
  /** How long a done grant keeps counting: the window the limit is counted in. */
  windowMs: number;
  clock: GateClock;
  smoothingMs: number;
  inFlightTimeoutMs: number;
  log: Logger | undefined;
}

/** One account's (or its media's, or a kind's) limit: the grants that count, the waiters, at most one timer. */
function createMeter(options: MeterOptions): Meter {
  const { clock, smoothingMs, windowMs } = options;
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
    const held: Held = { grantedAt: now, expiresAt: now + options.inFlightTimeoutMs + windowMs };
    inFlight.add(held);
    recent.push(now);
    return {
      done(atMs) {
        // Not in flight any more: already done, or expired after the timeout (then it stays expired).
        if (!inFlight.delete(held)) return;
        const at = clock.now();
        const doneAt = atMs === undefined || !Number.isFinite(atMs) ? at : Math.min(at, Math.max(held.grantedAt, atMs));
        const until = doneAt + windowMs;
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
    const shape: LimitShape = { limit, burst: burstFor(limit, smoothingMs, windowMs), smoothingMs };
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
