// Instagram stories inside messages: a story mention (an attachment of type `story_mention`) and a
// story reply (`reply_to.story`) both carry the story's CDN URL. Meta's terms forbid keeping it,
// and the inbox stores events, so the normaliser drops it here, before anything is stored; the
// rest of Meta's object (the story's `id` among it) is kept as it came.
import type { JsonObject } from './guards.ts';
import { isObject, isUnknownArray } from './guards.ts';

/** `item` with every story URL left out of its `message`; the same object when it has none. */
export function withoutStoryUrls(item: JsonObject): JsonObject {
  const message = item.message;
  if (!isObject(message)) return item;
  const attachments = isUnknownArray(message.attachments) ? message.attachments.map(withoutMentionUrl) : undefined;
  const replyTo = withoutReplyUrl(message.reply_to);
  const changed = (attachments !== undefined && attachments.some((a, i) => a !== (message.attachments as unknown[])[i])) || replyTo !== message.reply_to;
  if (!changed) return item;
  return { ...item, message: { ...message, ...(attachments === undefined ? {} : { attachments }), ...(replyTo === undefined ? {} : { reply_to: replyTo }) } };
}

function withoutMentionUrl(attachment: unknown): unknown {
  if (!isObject(attachment) || attachment.type !== 'story_mention') return attachment;
  const { url: _payloadUrl, ...payload } = isObject(attachment.payload) ? attachment.payload : {};
  const { url: _url, ...rest } = attachment;
  return { ...rest, payload };
}

function withoutReplyUrl(replyTo: unknown): unknown {
  if (!isObject(replyTo) || !isObject(replyTo.story) || !Object.hasOwn(replyTo.story, 'url')) return replyTo;
  const { url: _url, ...story } = replyTo.story;
  return { ...replyTo, story };
}
