// One item of `entry[].messaging[]` or `entry[].standby[]` → one event (unknown when malformed).
import type { EventBase, MessagingBase, WebhookEvent } from './types.ts';
import type { JsonObject } from './guards.ts';
import { isNumber, isObject, isOptional } from './guards.ts';
import { isParticipant } from './payload-guards.ts';
import { READERS } from './messaging-readers.ts';
import { unknownEvent } from './unknown.ts';

/** sender is absent on policy and app_roles items, and checkbox-plugin optins only carry user_ref. */
function readCommon(item: JsonObject, base: EventBase): MessagingBase | string {
  const { sender, recipient, timestamp } = item;
  if (!isNumber(timestamp)) return 'timestamp is not a number';
  if (!isOptional(sender, isParticipant)) return 'sender is not a participant';
  if (!isOptional(recipient, isParticipant)) return 'recipient is not a participant';
  return {
    ...base,
    ...(sender === undefined ? {} : { sender }),
    ...(recipient === undefined ? {} : { recipient }),
    timestamp,
  };
}

export function normalizeMessagingItem(item: unknown, base: EventBase): WebhookEvent {
  if (!isObject(item)) return unknownEvent(base, 'messaging item is not an object', item);
  const match = READERS.find(([field]) => Object.hasOwn(item, field));
  if (match === undefined) return unknownEvent(base, 'messaging item has no known field', item);
  const [field, read] = match;
  const common = readCommon(item, base);
  const result = typeof common === 'string' ? common : read(item[field], common);
  return typeof result === 'string' ? unknownEvent(base, `${field}: ${result}`, item) : result;
}
