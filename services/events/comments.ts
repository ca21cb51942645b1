// Comments on our posts, read out of `entry[].changes[]`: a Page `feed` change whose item is a
// comment, and Instagram `comments` / `live_comments` changes. Anything else under `changes` stays
// a plain `change` event. Meta's `value` object is kept as it came; only its shape is checked.
import type { CommentAuthor, CommentEvent, EventBase, FeedCommentValue, InstagramCommentValue, WebhookEvent } from './types.ts';
import type { JsonObject } from './guards.ts';
import { isObject, isOptional, isString } from './guards.ts';
import { readTime } from './time.ts';
import { unknownEvent } from './unknown.ts';

const INSTAGRAM_COMMENT_FIELDS = new Set(['comments', 'live_comments']);

/**
 * The comment event for a change item, undefined when the item is not a comment at all (another
 * feed item, another field), an unknown event when it is one but lacks what we route on.
 */
export function readComment(field: string, value: unknown, base: EventBase): WebhookEvent | undefined {
  if (base.object === 'page' && field === 'feed' && isObject(value) && value.item === 'comment') return readFeedComment(value, base);
  if (base.object === 'instagram' && INSTAGRAM_COMMENT_FIELDS.has(field)) return readInstagramComment(field as 'comments' | 'live_comments', value, base);
  return undefined;
}

function readFeedComment(value: JsonObject, base: EventBase): WebhookEvent {
  const item = { field: 'feed', value };
  if (!isString(value.comment_id) || !isString(value.post_id)) return unknownEvent(base, 'feed comment: no string comment_id or post_id', item);
  if (!isString(value.verb)) return unknownEvent(base, 'feed comment: no string verb', item);
  if (!isOptional(value.from, isAuthor)) return unknownEvent(base, 'feed comment: from has no string id', item);
  if (!isOptional(value.message, isString) || !isOptional(value.parent_id, isString)) return unknownEvent(base, 'feed comment: message or parent_id is not a string', item);
  const comment = value as FeedCommentValue;
  const event: CommentEvent = { ...base, kind: 'comment', created_at: readTime(comment.created_time) ?? base.entry_time, field: 'feed', value: comment };
  return event;
}

function readInstagramComment(field: 'comments' | 'live_comments', value: unknown, base: EventBase): WebhookEvent {
  const item = { field, value };
  if (!isObject(value) || !isString(value.id)) return unknownEvent(base, `${field}: no string comment id`, item);
  if (!isOptional(value.from, isAuthor)) return unknownEvent(base, `${field}: from has no string id`, item);
  if (!isOptional(value.text, isString) || !isOptional(value.parent_id, isString)) return unknownEvent(base, `${field}: text or parent_id is not a string`, item);
  if (!isOptional(value.media, isMedia)) return unknownEvent(base, `${field}: media has no string id`, item);
  const event: CommentEvent = { ...base, kind: 'comment', created_at: base.entry_time, field, value: value as InstagramCommentValue };
  return event;
}

function isMedia(value: unknown): value is { id: string } {
  return isObject(value) && isString(value.id);
}

function isAuthor(value: unknown): value is CommentAuthor {
  return isObject(value) && isString(value.id);
}
