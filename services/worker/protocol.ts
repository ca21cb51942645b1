// The messages between the webhook thread and the bot worker (services/worker/). Requests carry
// an id and get exactly one reply with that id; `wake`, `graph` and `failure` are one-way.
import type { HandlingReport } from '../bot.ts';
import type { Config } from '../config.ts';
import type { ObservedGraphCall } from '../graph/client.ts';
import type { InboxRetry } from '../inbox/inbox.ts';
import type { MetricsSnapshot } from '../metrics/bot-metrics.ts';
import type { PostedFailure } from './failures.ts';

export interface WorkerInit {
  config: Readonly<Config>;
  /** Report every Graph call back (the live dashboard watches them). */
  observeGraph: boolean;
  /** How failing events are retried before they are set aside (the inbox's default if absent). */
  inboxRetry?: InboxRetry;
  /** Report handler and send failures back (the webhook thread has an onError hook). */
  reportFailures?: boolean;
  /**
   * PostgreSQL: this process's tag on the wake-up notifications its two stores send. The worker
   * skips those: the webhook thread wakes it directly, and after an expansion it claims at once.
   */
  wakeTag?: string;
}

/**
 * `health`: the token, progress, due replies and claims as the worker sees them (a
 * `HandlingReport`); `metrics`: the worker's registry as JSON, for the webhook thread's scrape.
 */
export type RequestBody = { type: 'recover' } | { type: 'idle' } | { type: 'health' } | { type: 'metrics' } | { type: 'close'; graceMs: number };

export type WorkerRequest = RequestBody & { id: number };

/** To the worker: a request, or `wake` (new notifications are stored). */
export type ToWorker = WorkerRequest | { type: 'wake' };

/** From the worker: a reply (`report` for `health`, `metrics` for `metrics`), an observed Graph call, or a failure for onError. */
export type FromWorker =
  | { type: 'reply'; id: number; report?: HandlingReport; metrics?: MetricsSnapshot; error?: string }
  | { type: 'graph'; call: ObservedGraphCall }
  | { type: 'failure'; failure: PostedFailure };
