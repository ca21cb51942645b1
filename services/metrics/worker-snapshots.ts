// The bot worker's metrics as the webhook thread knows them. Each scrape asks the worker for its
// registry; while it is restarting (or does not answer in time) the last answer stands in, so a
// scrape never fails. A worker that dies takes its counters with it: what it had counted by its
// last answer carries over, so the process's counters keep rising across restarts (only what it
// counted after that last answer is lost).
import type { MetricsSnapshot } from './bot-metrics.ts';
import { addCounts } from './merge.ts';

export interface WorkerSnapshots {
  /** The worker answered a metrics request. */
  received(snapshot: MetricsSnapshot): void;
  /** The worker exited; a new one starts from zero. */
  workerExited(): void;
  /** The snapshots to merge for a scrape: the carried-over counts, then `live` (or the last answer). */
  current(live: MetricsSnapshot | undefined): MetricsSnapshot[];
}

export function createWorkerSnapshots(): WorkerSnapshots {
  let carried: MetricsSnapshot = [];
  let last: MetricsSnapshot | undefined;
  return {
    received(snapshot) {
      last = snapshot;
    },
    workerExited() {
      if (last) carried = addCounts(carried, last);
      last = undefined;
    },
    current(live) {
      const now = live ?? last;
      return now ? [carried, now] : [carried];
    },
  };
}
