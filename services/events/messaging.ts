// One item of `entry[].messaging[]` or `entry[].standby[]` → one event (unknown when malformed).
import type { EventBase, MessagingBase, Participant, WebhookEvent } from './types.ts';
import type { JsonObject } from './guards.ts';
import { isObject } from './guards.ts';
import { isParticipant } from './payload-guards.ts';
import { READERS } from './messaging-readers.ts';
import { withoutStoryUrls } from './stories.ts';
import { readTime } from './time.ts';
import { unknownEvent } from './unknown.ts';

/**
 * Meta sends ids as strings. Hand-written payloads (other frameworks' tests) send numbers, which
 * mean the same when exact: such an id becomes its string. A number past 2^53 has already lost
 * digits in JSON.parse, so it names nobody and the participant is refused.
 */
function readParticipant(value: unknown): Participant | undefined | 'invalid' {
  if (value === undefined) return undefined;
  const candidate = isObject(value) && typeof value.id === 'number' && Number.isSafeInteger(value.id) && value.id >= 0 ? { ...value, id: String(value.id) } : value;
  return isParticipant(candidate) ? candidate : 'invalid';
}

/**
 * sender is absent on policy and app_roles items, and checkbox-plugin optins only carry user_ref.
 * The timestamp is Meta's in milliseconds; without a readable one (Meta's own message_deliveries
 * example has none) the item is as old as its entry.
 */
function readCommon(item: JsonObject, base: EventBase): MessagingBase | string {
  const sender = readParticipant(item.sender);
  const recipient = readParticipant(item.recipient);
  const timestamp = readTime(item.timestamp) ?? base.entry_time;
  if (sender === 'invalid') return 'sender is not a participant';
  if (recipient === 'invalid') return 'recipient is not a participant';
  return {
    ...base,
    ...(sender === undefined ? {} : { sender }),
    ...(recipient === undefined ? {} : { recipient }),
    timestamp,
  };
}

export function normalizeMessagingItem(raw: unknown, base: EventBase): WebhookEvent {
  if (!isObject(raw)) return unknownEvent(base, 'messaging item is not an object', raw);
  // Before anything else, so no event (an unknown one included) keeps a story's CDN URL.
  const item = withoutStoryUrls(raw);
  const match = READERS.find(([field]) => Object.hasOwn(item, field));
  if (match === undefined) return unknownEvent(base, 'messaging item has no known field', item);
  const [field, read] = match;
  const common = readCommon(item, base);
  const result = typeof common === 'string' ? common : read(item[field], common);
  return typeof result === 'string' ? unknownEvent(base, `${field}: ${result}`, item) : result;
}
