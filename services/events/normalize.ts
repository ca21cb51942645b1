// The one normalisation step: an authentic, JSON-parsed webhook body → `WebhookEvent[]`.
// Only a body that is not a notification at all throws; anything odd inside it becomes an
// `unknown` event, so the route can log it and still answer 200 (Meta redelivers otherwise).
import type { Channel, EventBase, NormalizedNotification, WebhookEvent } from './types.ts';
import type { JsonObject } from './guards.ts';
import { PayloadError } from '../errors.ts';
import { isNumber, isObject, isString, isUnknownArray } from './guards.ts';
import { normalizeMessagingItem } from './messaging.ts';
import { normalizeChange, normalizeChangedField } from './changes.ts';
import { unknownEvent } from './unknown.ts';

const SOURCES = ['messaging', 'standby', 'changes', 'changed_fields'] as const;
type Source = (typeof SOURCES)[number];
type SourceReader = (item: unknown, base: EventBase, uid: string | undefined) => WebhookEvent;

const SOURCE_READERS: Record<Source, SourceReader> = {
  messaging: normalizeMessagingItem,
  standby: normalizeMessagingItem,
  changes: normalizeChange,
  changed_fields: normalizeChangedField,
};

/** Only Instagram has its own object; `page` and the app-level objects (`user`, ...) are Messenger's. */
function channelOf(object: string): Channel {
  return object === 'instagram' ? 'instagram' : 'messenger';
}

function normalizeSource(entry: JsonObject, source: Source, base: EventBase): WebhookEvent[] {
  const items = entry[source];
  const sourceBase = source === 'standby' ? { ...base, standby: true } : base;
  if (!isUnknownArray(items)) return [unknownEvent(sourceBase, `entry.${source} is not an array`, items)];
  const uid = isString(entry.uid) ? entry.uid : undefined;
  return items.map((item) => SOURCE_READERS[source](item, sourceBase, uid));
}

function normalizeEntry(entry: unknown, object: string, channel: Channel): WebhookEvent[] {
  const fallback: EventBase = { channel, object, entry_id: '', entry_time: 0, standby: false };
  if (!isObject(entry)) return [unknownEvent(fallback, 'entry is not an object', entry)];
  const { id, time } = entry;
  // Meta's own quick-start curl sends an entry without id and time: log it, route nothing from it.
  if (!isString(id) || !isNumber(time)) {
    return [unknownEvent(fallback, 'entry has no string id and number time', entry)];
  }
  const base: EventBase = { ...fallback, entry_id: id, entry_time: time };
  const present = SOURCES.filter((source) => Object.hasOwn(entry, source));
  if (present.length === 0) {
    return [unknownEvent(base, 'entry has no messaging, standby, changes or changed_fields', entry)];
  }
  return present.flatMap((source) => normalizeSource(entry, source, base));
}

/**
 * The part of a notification the webhook checks before its 200: a JSON object with a string
 * `object` and an `entry` array. Throws `PayloadError` otherwise; everything inside is normalised later.
 */
export function readEnvelope(body: unknown): { object: string; entry: unknown[] } {
  if (!isObject(body)) throw new PayloadError('webhook body is not a JSON object');
  const { object, entry } = body;
  if (!isString(object)) throw new PayloadError('webhook body has no string "object"');
  if (!isUnknownArray(entry)) throw new PayloadError('webhook body has no "entry" array');
  return { object, entry };
}

/** Throws `PayloadError` only when the body is not a notification (see `readEnvelope`). */
export function normalizeNotification(body: unknown): NormalizedNotification {
  const { object, entry } = readEnvelope(body);
  const channel = channelOf(object);
  return { object, events: entry.flatMap((item) => normalizeEntry(item, object, channel)) };
}
