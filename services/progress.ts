// Is handling moving? The inbox and the outbox note each unit of work they finish (an event
// handled or set aside, a body expanded, a reply sent or given up); /healthz calls handling
// stuck when work is waiting and nothing has moved for a while (a poison body retried forever,
// a store that keeps failing, a loop that stopped), rather than saying ok while nobody is answered.

export interface Progress {
  /** One unit of work finished. */
  note(): void;
  /** When work last finished (ms, the injected clock); the creation time before any. */
  lastAt(): number;
}

export function createProgress(now: () => number): Progress {
  let last = now();
  return {
    note: () => void (last = now()),
    lastAt: () => last,
  };
}

/** How long work may wait with nothing moving before handling counts as stuck. */
export const DEFAULT_STUCK_AFTER_MS = 30_000;

export interface StuckWatch {
  /**
   * `waiting`: how much work is waiting now (0 for none); `lastProgressAt`: when work last moved.
   * Stuck once work has been waiting, and nothing has moved, for `stuckAfterMs`.
   */
  check(waiting: number, lastProgressAt: number): { stuck: false } | { stuck: true; forMs: number };
}

/**
 * Remembers since when work has been waiting (as seen by the health checks), so a backlog that
 * appears after a long quiet spell is not called stuck at once: the clock starts at the later of
 * the last progress and the first check that saw work waiting.
 */
export function createStuckWatch(stuckAfterMs: number, now: () => number): StuckWatch {
  let waitingSince: number | undefined;
  return {
    check(waiting, lastProgressAt) {
      const t = now();
      if (waiting <= 0) {
        waitingSince = undefined;
        return { stuck: false };
      }
      waitingSince ??= t;
      const forMs = t - Math.max(lastProgressAt, waitingSince);
      return forMs >= stuckAfterMs ? { stuck: true, forMs } : { stuck: false };
    },
  };
}
