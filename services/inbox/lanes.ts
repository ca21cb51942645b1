// Which lane an event is handled in. Each lane's events are handled one at a time, in arrival
// order, by whichever instance holds it (see inbox.ts); lanes are stored with the events when a
// body is expanded (expand.ts).
import { accountKeyOf, type AccountDirectory } from '../accounts/directory.ts';
import { commentLane } from '../comments/comment.ts';
import type { WebhookEvent } from '../events/types.ts';

/**
 * Events of one sender of one account share a lane, `<account>/<channel>:<sender>`: the same key
 * as the user's (services/state/store.ts `userKey`), so a user's events and replies keep one lane.
 * A comment goes in its author's lane (see commentLane). Sender-less events share one per entry.
 * The account is the directory's for `entry.id`; without a directory (or for an id that is none
 * of ours) it is `entry.id` itself, which is the account key for Pages and Instagram Login accounts.
 */
export function laneOf(event: WebhookEvent, accounts?: AccountDirectory): string {
  const account = (accounts ? accountKeyOf(event, accounts) : undefined) ?? event.entry_id;
  if (event.kind === 'comment') return commentLane(event, account);
  const sender = 'sender' in event ? (event.sender?.id ?? event.sender?.user_ref) : undefined;
  return sender ? `${account}/${event.channel}:${sender}` : `${account}/${event.channel}:entry:${event.entry_id}`;
}
