// Builds webhook notifications the way Meta sends them for a simulated user: Messenger under
// `object: "page"` with the Page ID, Instagram under `object: "instagram"` with the IG account ID
// (the one linked to a Page, or an Instagram Login account's): the account the user talks to.
// Pure functions: the caller passes the time.
import type { Attachment, MessagePayload, PassThreadControl, PostbackPayload, ReactionPayload } from '../events/types.ts';
import type { SimUser } from './types.ts';

/** The first Page's ids, for callers that know a single Page (older tests, scripts). */
export interface AccountIds {
  pageId: string;
  igAccountId: string;
}

/** Messenger's reaction names and the emoji the page offers for each. */
export const REACTIONS = { love: '❤️', smile: '😆', wow: '😮', sad: '😢', angry: '😠', like: '👍' } as const;
export type ReactionName = keyof typeof REACTIONS;

/** The thumbs-up sticker's ID on Messenger; stickers arrive as images that carry a `sticker_id`. */
export const THUMBS_UP_STICKER_ID = 369239263222822;

export interface Notification {
  object: 'page' | 'instagram';
  entry: { id: string; time: number; messaging?: Record<string, unknown>[]; standby?: Record<string, unknown>[]; changes?: { field: string; value: Record<string, unknown> }[] }[];
}

/**
 * Wraps one messaging item from the user. While a person in the Page Inbox owns the thread, Meta
 * delivers the user's events to our app under `standby` instead of `messaging`.
 */
function fromUser(user: SimUser, at: number, fields: Record<string, unknown>, standby = false): Notification {
  const account = user.account_id;
  const item = { sender: { id: user.id }, recipient: { id: account }, timestamp: at, ...fields };
  return {
    object: user.channel === 'messenger' ? 'page' : 'instagram',
    entry: [{ id: account, time: at, ...(standby ? { standby: [item] } : { messaging: [item] }) }],
  };
}

const inStandby = (user: SimUser) => user.thread_owner === 'inbox';

export function messageNotification(user: SimUser, at: number, message: MessagePayload): Notification {
  return fromUser(user, at, { message }, inStandby(user));
}

export function textMessage(mid: string, text: string, quickReplyPayload?: string): MessagePayload {
  return quickReplyPayload === undefined ? { mid, text } : { mid, text, quick_reply: { payload: quickReplyPayload } };
}

export function imageMessage(mid: string, url: string): MessagePayload {
  const attachments: Attachment[] = [{ type: 'image', payload: { url } }];
  return { mid, attachments };
}

export function stickerMessage(mid: string, url: string, stickerId: number = THUMBS_UP_STICKER_ID): MessagePayload {
  const attachments: Attachment[] = [{ type: 'image', payload: { url, sticker_id: stickerId } }];
  return { mid, attachments };
}

export function postbackNotification(user: SimUser, at: number, postback: PostbackPayload): Notification {
  return fromUser(user, at, { postback }, inStandby(user));
}

export function reactionNotification(user: SimUser, at: number, mid: string, action: 'react' | 'unreact', name: ReactionName): Notification {
  const reaction: ReactionPayload = action === 'react' ? { mid, action, reaction: name, emoji: REACTIONS[name] } : { mid, action };
  return fromUser(user, at, { reaction }, inStandby(user));
}

/** Messenger only: the bot's messages reached the user's device. */
export function deliveryNotification(user: SimUser, at: number, mids: string[], watermark: number): Notification {
  return fromUser(user, at, { delivery: { mids, watermark } });
}

/** Messenger `message_reads` (a watermark) or Instagram `messaging_seen` (the last `mid` seen). */
export function readNotification(user: SimUser, at: number, seen: { watermark: number } | { mid: string }): Notification {
  return fromUser(user, at, { read: seen });
}

/** The Page Inbox passes the thread back to our app (a person marked the conversation done). */
export function passThreadNotification(user: SimUser, at: number, control: PassThreadControl): Notification {
  return fromUser(user, at, { pass_thread_control: control });
}

/** The name of the event inside a notification, for the inspector's summary line. */
export function eventName(notification: Notification): string {
  const entry = notification.entry[0];
  const item = entry?.messaging?.[0] ?? entry?.standby?.[0];
  const change = entry?.changes?.[0];
  // A comment: `feed comment` (Facebook) or `comments` (Instagram).
  if (!item && change) return typeof change.value.item === 'string' ? `${change.field} ${change.value.item}` : change.field;
  if (!item) return 'unknown';
  const known = ['message', 'postback', 'reaction', 'delivery', 'read', 'pass_thread_control'];
  const kind = known.find((k) => k in item) ?? 'unknown';
  const detail =
    kind === 'message' && typeof item.message === 'object' && item.message !== null && 'quick_reply' in item.message ? 'message (quick_reply)' : kind;
  return entry?.standby ? `standby ${detail}` : detail;
}
