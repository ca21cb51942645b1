// `entry[].changes[]` (subscriptions with include_values) and `entry[].changed_fields` (without).
// Comments on our posts get their own kind (comments.ts); every other change stays a `change`.
import type { ChangeEvent, EventBase, WebhookEvent } from './types.ts';
import { readComment } from './comments.ts';
import { isObject, isString } from './guards.ts';
import { unknownEvent } from './unknown.ts';

function changeEvent(base: EventBase, field: string, uid: string | undefined): ChangeEvent {
  return { ...base, kind: 'change', field, ...(uid === undefined ? {} : { uid }) };
}

export function normalizeChange(item: unknown, base: EventBase, uid: string | undefined): WebhookEvent {
  if (!isObject(item) || !isString(item.field)) {
    return unknownEvent(base, 'change has no string field', item);
  }
  const comment = readComment(item.field, item.value, base);
  if (comment) return comment;
  const event = changeEvent(base, item.field, uid);
  return Object.hasOwn(item, 'value') ? { ...event, value: item.value } : event;
}

export function normalizeChangedField(name: unknown, base: EventBase, uid: string | undefined): WebhookEvent {
  return isString(name) ? changeEvent(base, name, uid) : unknownEvent(base, 'changed field is not a string', name);
}
