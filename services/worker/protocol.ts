// The messages between the webhook thread and the bot worker (services/worker/). Requests carry
// an id and get exactly one reply with that id; `wake` and `graph` are one-way.
import type { Config } from '../config.ts';
import type { ObservedGraphCall } from '../graph/client.ts';
import type { MetricsSnapshot } from '../metrics/bot-metrics.ts';

export interface WorkerInit {
  config: Readonly<Config>;
  /** Report every Graph call back (the live dashboard watches them). */
  observeGraph: boolean;
}

/** `metrics` (#14): the worker's registry as JSON, for the webhook thread's scrape. */
export type RequestBody = { type: 'recover' } | { type: 'idle' } | { type: 'token' } | { type: 'metrics' } | { type: 'close'; graceMs: number };

/** A reply's value: `token` answers a boolean, `metrics` a snapshot, the others nothing. */
export type ReplyValue = boolean | MetricsSnapshot;

export type WorkerRequest = RequestBody & { id: number };

/** To the worker: a request, or `wake` (new notifications are stored). */
export type ToWorker = WorkerRequest | { type: 'wake' };

/** From the worker: a reply (`value` for `token`: is the Page token valid; for `metrics`: the snapshot), or an observed Graph call. */
export type FromWorker =
  | { type: 'reply'; id: number; value?: ReplyValue; error?: string }
  | { type: 'graph'; call: ObservedGraphCall };
