// Is handling moving? The inbox and the outbox note each unit of work they finish (an event
// handled or set aside, a body expanded, a reply sent or given up) and work that arrives while
// they had none; /healthz calls handling stuck when work is waiting and nothing has moved for a
// while (a poison body retried forever, a store that keeps failing, a loop that stopped), rather
// than saying ok while nobody is answered.

export interface Progress {
  /** One unit of work finished, or work arrived while there was none. */
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

/**
 * Stuck: work is waiting (`waiting` > 0) and nothing has moved for `stuckAfterMs`. Work that
 * arrives while nothing was waiting counts as movement (the inbox and the outbox note it), so a
 * backlog that appears after a quiet spell is not called stuck at once.
 */
export function stuckFor(waiting: number, lastProgressAt: number, now: number, stuckAfterMs: number): number | undefined {
  const quietMs = now - lastProgressAt;
  return waiting > 0 && quietMs >= stuckAfterMs ? quietMs : undefined;
}
