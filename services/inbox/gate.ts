// Lets work run side by side, except work that must run alone: an event that was being handled
// when the bot (or its thread) died is handled with nothing else in flight, so if it kills the
// thread again, it alone is counted for it, not the innocent events that happened to run beside it.

export interface Gate {
  /** Runs `work` once the gate lets it: shared work beside other shared work, exclusive work alone. */
  run<T>(exclusive: boolean, work: () => Promise<T>): Promise<T>;
}

export function createGate(): Gate {
  let shared = 0;
  let exclusiveRunning = false;
  // First come, first served: shared work queued behind waiting exclusive work waits for it.
  const queue: { exclusive: boolean; start: () => void }[] = [];

  const pump = (): void => {
    for (let next = queue[0]; next; next = queue[0]) {
      if (exclusiveRunning || (next.exclusive && shared > 0)) return;
      queue.shift();
      if (next.exclusive) exclusiveRunning = true;
      else shared += 1;
      next.start();
    }
  };

  return {
    async run(exclusive, work) {
      await new Promise<void>((start) => {
        queue.push({ exclusive, start });
        pump();
      });
      try {
        return await work();
      } finally {
        if (exclusive) exclusiveRunning = false;
        else shared -= 1;
        pump();
      }
    },
  };
}
