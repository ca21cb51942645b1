// The clock and the sleep the outbox (and the bot around it) waits with, injected so tests can
// run time at their own pace.

export interface Timers {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
