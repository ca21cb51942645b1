// Pauses for the inbox: how failing events are retried, the one timer that retries a failed pump
// (however many wake-ups come meanwhile), and pauses that end early when the inbox stops.

export interface InboxRetry {
  /** First pause after a failure (ms); it doubles with each further failure, up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Times an event is tried before it is set aside. */
  maxAttempts: number;
}

/**
 * Five tries over about 7.5 s (0.5, 1, 2, 4 s apart): time enough for a passing fault, short of the
 * 30 s after which /healthz calls handling stuck. Store outages are retried with the same growing
 * pause, up to 10 s, for as long as they last.
 */
export const DEFAULT_INBOX_RETRY: InboxRetry = { baseMs: 500, maxMs: 10_000, maxAttempts: 5 };

export function delayAfter(retry: InboxRetry, failures: number): number {
  return Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, failures - 1));
}

export interface RetryTimer {
  /** Runs `fn` after `delayMs`, unless a retry is already waiting. */
  schedule(delayMs: number, fn: () => void): void;
  /** A retry is waiting. */
  waiting(): boolean;
  /** Resolves when the waiting retry (if any) has fired or been cancelled. */
  done(): Promise<void>;
  /** Waits `ms`, or less if `cancel` is called meanwhile. */
  pause(ms: number): Promise<void>;
  /** Cancels the waiting retry and ends every pause. */
  cancel(): void;
}

export function createRetryTimer(): RetryTimer {
  let pending: { timer: ReturnType<typeof setTimeout>; done: Promise<void>; fire: () => void } | undefined;
  const pauses = new Set<() => void>();
  return {
    schedule(delayMs, fn) {
      if (pending) return;
      let fire!: () => void;
      const done = new Promise<void>((resolve) => (fire = resolve));
      const timer = setTimeout(() => {
        pending = undefined;
        fire();
        fn();
      }, delayMs);
      timer.unref();
      pending = { timer, done, fire };
    },
    waiting: () => pending !== undefined,
    done: () => pending?.done ?? Promise.resolve(),
    pause: (ms) =>
      new Promise((resolve) => {
        const end = (): void => {
          clearTimeout(timer);
          pauses.delete(end);
          resolve();
        };
        const timer = setTimeout(end, ms);
        timer.unref();
        pauses.add(end);
      }),
    cancel() {
      if (pending) {
        clearTimeout(pending.timer);
        pending.fire();
        pending = undefined;
      }
      for (const end of [...pauses]) end();
    },
  };
}
