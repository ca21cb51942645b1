// The grant-time rate limiter the outbox used before the rate gate (services/outbox/rate-gate.ts):
// a token bucket that counts a call when it is granted, not when it arrives at Graph. Kept only for
// the tests that show why the gate replaced it (calls granted on time can still arrive bunched).
import { realTimers, type Timers } from '../../services/outbox/timers.ts';

export interface RateLimiter {
  /** Resolves when one call may go out now. Waiters are served in order. */
  acquire(): Promise<void>;
}

/**
 * Allows `perSecond` calls per second: a token bucket spreads them out (bursts of at most `burst`,
 * default a tenth of a second's worth), and a sliding window of the last `perSecond` grants makes
 * sure no 1-second window ever holds more than `perSecond` calls, which is what Meta counts.
 */
export function createRateLimiter(perSecond: number, timers: Timers = realTimers, burst = Math.max(1, Math.ceil(perSecond / 10))): RateLimiter {
  let tokens = burst;
  let last = timers.now();
  const granted: number[] = []; // ring buffer of the last `perSecond` grant times
  let grants = 0;
  let chain: Promise<void> = Promise.resolve();
  const refill = (): void => {
    const now = timers.now();
    tokens = Math.min(burst, tokens + ((now - last) * perSecond) / 1000);
    last = now;
  };
  /** How long to wait before the next grant keeps both rules; 0 when it may go now. */
  const waitMs = (): number => {
    refill();
    const bucketWait = tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / perSecond);
    const oldest = grants >= perSecond ? granted[grants % perSecond] : undefined;
    // One extra millisecond: timers may fire a little early against the wall clock.
    const windowWait = oldest === undefined ? 0 : Math.max(0, oldest + 1001 - timers.now());
    return Math.max(bucketWait, windowWait);
  };
  const takeOne = async (): Promise<void> => {
    for (let wait = waitMs(); wait > 0; wait = waitMs()) await timers.sleep(wait);
    tokens -= 1;
    granted[grants % perSecond] = timers.now();
    grants += 1;
  };
  return {
    acquire() {
      // One waiter at a time: callers queue on the chain, so nobody overtakes and the rate holds.
      const turn = chain.then(takeOne);
      chain = turn.catch(() => undefined);
      return turn;
    },
  };
}
