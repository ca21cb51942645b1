// What a shop's own alerting can hear about (BotOptions.onError): a handler that threw, a reply
// the outbox gave up on or could not send because Graph rejected the token. The hook is the
// shop's code, called as it happens and never awaited: a hook that throws (or rejects) is logged,
// and handling and sending go on as if there were no hook.
import type { WebhookEvent } from './events/types.ts';
import type { Logger } from './logger.ts';
import type { OutgoingAction } from './outbox/outgoing-action.ts';

export interface BotFailure {
  stage: 'handling' | 'sending';
  /** What was thrown: for a send, a GraphApiError (code, error_subcode, fbtrace_id, endpoint; never a token). */
  error: unknown;
  /** The event whose handler failed: its kind, its id (the message's mid, or its dedup key) and the user's key. */
  event?: { kind: WebhookEvent['kind']; id: string; user: string | undefined };
  /** The reply that failed: its type, the account it goes out as, the user it is for. */
  action?: { type: OutgoingAction['type']; account: string | undefined; user: string | undefined };
}

export type FailureHook = (failure: BotFailure) => void;

/** Tells the hook, if there is one; whatever the hook does, this returns normally. */
export function reportFailure(hook: FailureHook | undefined, failure: BotFailure, log: Logger): void {
  if (!hook) return;
  const failed = (err: unknown): void => log.error('the onError hook failed; handling and sending go on', { err, stage: failure.stage });
  try {
    // Typed as returning nothing, but an async hook returns a promise: its rejection is caught too.
    const result: unknown = hook(failure);
    // Not waited for: the hook's own work (an HTTP call to an alerting service) never holds up ours.
    if (result instanceof Promise) void result.catch(failed);
  } catch (err) {
    failed(err);
  }
}
