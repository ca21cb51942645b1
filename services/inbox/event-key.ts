// A stable key per event, the same every time Meta redelivers it, so a redelivery is recognised
// and not handled twice. Meta's own ids are used where they exist (message mid, watermarks).
import { createHash } from 'node:crypto';
import type { CommentEvent, MessagingBase, WebhookEvent } from '../events/types.ts';
import { assertNever } from '../events/types.ts';

export function eventKey(event: WebhookEvent): string {
  const scope = `${event.channel}:${event.standby ? 'sb:' : ''}`;
  return scope + specificKey(event);
}

function specificKey(event: WebhookEvent): string {
  switch (event.kind) {
    case 'message':
      return `msg:${event.message.mid}`;
    case 'echo':
      return `echo:${event.message.mid}`;
    case 'message_edit':
      return `edit:${event.message_edit.mid}:${event.message_edit.num_edit ?? digest(event.message_edit)}`;
    case 'postback':
      return event.postback.mid ? `pb:${event.postback.mid}` : `pb:${who(event)}:${event.timestamp}:${digest(event.postback.payload)}`;
    case 'read':
      return `read:${who(event)}:${event.read.watermark ?? event.read.mid ?? event.timestamp}`;
    case 'delivery':
      return `dlv:${who(event)}:${event.delivery.watermark}:${digest(event.delivery.mids ?? [])}`;
    case 'reaction':
      // The timestamp tells a redelivery from the user reacting again after an unreact.
      return `rx:${who(event)}:${event.reaction.mid}:${event.reaction.action}:${event.timestamp}`;
    case 'referral':
    case 'optin':
    case 'handover':
    case 'policy':
    case 'account_linking':
    case 'game_play':
      return `${event.kind}:${who(event)}:${event.timestamp}:${digest(withoutBatchTime(event))}`;
    case 'comment':
      return commentKey(event);
    case 'change':
      return `chg:${event.entry_id}:${event.entry_time}:${event.field}:${digest(event.value ?? null)}`;
    case 'unknown':
      return `unk:${event.entry_id}:${event.entry_time}:${digest(event.raw)}`;
    default:
      return assertNever(event, 'event kind');
  }
}

/**
 * A new comment is keyed by its id alone, so every copy Meta sends (a redelivery in another batch,
 * with another entry.time) is the same event and the comment is answered once. Instagram sends
 * only new comments. Edits, removals and hides are keyed by what they say, so each is seen once
 * too; none of them is ever answered (see services/comments/), so an edit cannot earn a second reply.
 */
function commentKey(event: CommentEvent): string {
  if (event.field !== 'feed') return `cmt:${event.value.id}`;
  const { verb, comment_id } = event.value;
  return verb === 'add' ? `cmt:${comment_id}` : `cmt:${comment_id}:${verb}:${digest(withoutBatchTime(event))}`;
}

function who(event: MessagingBase): string {
  return event.sender?.id ?? event.sender?.user_ref ?? `to:${event.recipient?.id ?? '?'}`;
}

/** entry.time belongs to the delivery batch, which may differ when Meta redelivers. */
function withoutBatchTime(event: WebhookEvent): Omit<WebhookEvent, 'entry_time'> {
  const { entry_time: _batchTime, ...rest } = event;
  return rest;
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('base64url').slice(0, 22);
}
