// A token bucket per kind of send, so the bot stays under Meta's Send API limits for a Page
// (300 calls/s for text and templates, 10/s for audio and video). Clock and timers are injected.

export interface RateLimiter {
  /** Resolves when one call may go out now. Waiters are served in order. */
  acquire(): Promise<void>;
}

export interface Timers {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Allows `perSecond` calls per second on average, with bursts of at most `burst` (default: one tenth of a second's worth). */
export function createRateLimiter(perSecond: number, timers: Timers = realTimers, burst = Math.max(1, Math.ceil(perSecond / 10))): RateLimiter {
  let tokens = burst;
  let last = timers.now();
  let chain: Promise<void> = Promise.resolve();
  const refill = (): void => {
    const now = timers.now();
    tokens = Math.min(burst, tokens + ((now - last) * perSecond) / 1000);
    last = now;
  };
  const takeOne = async (): Promise<void> => {
    refill();
    while (tokens < 1) {
      await timers.sleep(Math.ceil(((1 - tokens) * 1000) / perSecond));
      refill();
    }
    tokens -= 1;
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
