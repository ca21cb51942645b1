// What the outbox must know about an action before it sends it, in pure functions: whether it has
// expired, whether the 24-hour messaging window applies, which rate limits it takes, and which lane
// it waits in when it has no user. The sender asks these; it never inspects actions itself.
import type { OutgoingAction } from './outgoing-action.ts';
import type { AcquireOptions } from './rate-gate.ts';

/** True once `now` (epoch ms) has reached the action's `expires_at`; an action without one never expires. */
export function isExpired(action: OutgoingAction, now: number): boolean {
  return action.expires_at !== undefined && now >= action.expires_at;
}

/** Why an expired action was not sent, for the failed-sends record and the log. */
export function expiryReason(action: OutgoingAction, now: number): string {
  const late = Math.max(0, now - (action.expires_at ?? now));
  return `expired: not sent after its deadline (${new Date(action.expires_at ?? now).toISOString()}, ${Math.round(late / 60_000)} min ago)`;
}

/** A private reply: the one message Meta allows to a comment's author, addressed by `comment_id`. */
export function isPrivateReply(action: OutgoingAction): boolean {
  return action.type === 'message' && action.recipient.comment_id !== undefined;
}

/**
 * Whether Meta's 24-hour window (counted from the user's last message) governs the action. A
 * private reply has its own window instead (7 days from the comment, as `expires_at`): a customer
 * who last wrote a month ago may still be answered about the comment they made today. Public
 * comment replies are not messages at all.
 */
export function inMessagingWindow(action: OutgoingAction): boolean {
  if (action.type === 'comment_reply') return false;
  return !isPrivateReply(action);
}

/**
 * The options for `RateGate.acquire(account, …)`: audio and video take the media limit, Instagram
 * private replies Instagram's private-reply limit (750 per hour per account), both on top of the
 * account's Send API limit. A public comment reply is a Graph call like any other.
 */
export function gateOptionsFor(action: OutgoingAction): AcquireOptions {
  if (action.type !== 'message') return {};
  const options: AcquireOptions = {};
  if ('attachment' in action.message && (action.message.attachment.type === 'audio' || action.message.attachment.type === 'video')) options.media = true;
  if (isPrivateReply(action) && action.channel === 'instagram') options.kind = 'private_reply';
  return options;
}
