// Group commit with several commits in flight: calls made in the same event-loop turn share one
// commit, and while up to `maxInFlight` commits are running (each on its own pool connection) the
// next turn's calls start another instead of waiting, so throughput is not bound by one round trip.
// When all are busy, calls gather into the next batch, which grows with the load. Each call
// resolves only after the commit that holds it, or rejects with its error.

interface Pending<I> {
  input: I;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PipelinedCommit<I> {
  (input: I): Promise<void>;
  /** Resolves when every call made so far has been committed or has failed. */
  drain(): Promise<void>;
}

export function createPipelinedCommit<I>(commit: (inputs: I[]) => Promise<void>, options: { maxInFlight: number; maxBatch: number }): PipelinedCommit<I> {
  const batch: Pending<I>[] = [];
  let scheduled = false;
  let inFlight = 0;
  const running = new Set<Promise<void>>();

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  const flush = (): void => {
    scheduled = false;
    while (batch.length > 0 && inFlight < options.maxInFlight) {
      const current = batch.splice(0, options.maxBatch);
      inFlight += 1;
      const done = commit(current.map((p) => p.input)).then(
        () => current.forEach((p) => p.resolve()),
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          current.forEach((p) => p.reject(error));
        },
      );
      const tracked = done.finally(() => {
        inFlight -= 1;
        running.delete(tracked);
        if (batch.length > 0) schedule();
      });
      running.add(tracked);
    }
  };

  const call = (input: I): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      batch.push({ input, resolve, reject });
      schedule();
    });
  return Object.assign(call, {
    async drain(): Promise<void> {
      while (batch.length > 0 || running.size > 0) {
        if (running.size > 0) await Promise.allSettled([...running]);
        else await new Promise((resolve) => setImmediate(resolve));
      }
    },
  });
}
