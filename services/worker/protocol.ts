// The messages between the webhook thread and the bot worker (services/worker/). Requests carry
// an id and get exactly one reply with that id; `wake` and `graph` are one-way.
import type { Config } from '../config.ts';
import type { ObservedGraphCall } from '../graph/client.ts';

export interface WorkerInit {
  config: Readonly<Config>;
  /** Report every Graph call back (the live dashboard watches them). */
  observeGraph: boolean;
}

export type RequestBody = { type: 'recover' } | { type: 'idle' } | { type: 'token' } | { type: 'close'; graceMs: number };

export type WorkerRequest = RequestBody & { id: number };

/** To the worker: a request, or `wake` (new notifications are stored). */
export type ToWorker = WorkerRequest | { type: 'wake' };

/** From the worker: a reply (`value` for `token`: is the Page token valid), or an observed Graph call. */
export type FromWorker =
  | { type: 'reply'; id: number; value?: boolean; error?: string }
  | { type: 'graph'; call: ObservedGraphCall };
