// The one normalisation step: an authentic, JSON-parsed webhook body → `WebhookEvent[]`.
// Only a body that is not a notification at all throws; anything odd inside it becomes an
// `unknown` event, so the route can log it and still answer 200 (Meta redelivers otherwise).
import type { Channel, EventBase, NormalizedNotification, WebhookEvent } from './types.ts';
import type { JsonObject } from './guards.ts';
import { PayloadError } from '../errors.ts';
import { isObject, isString, isUnknownArray } from './guards.ts';
import { normalizeMessagingItem } from './messaging.ts';
import { normalizeChange, normalizeChangedField } from './changes.ts';
import { readTime } from './time.ts';
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

/** The objects whose `messaging`/`standby` items are conversations: anything else is not ours to answer. */
function carriesMessaging(object: string): boolean {
  return object === 'page' || object === 'instagram';
}

function normalizeSource(entry: JsonObject, source: Source, base: EventBase): WebhookEvent[] {
  const items = entry[source];
  const sourceBase = source === 'standby' ? { ...base, standby: true } : base;
  if (!isUnknownArray(items)) return [unknownEvent(sourceBase, `entry.${source} is not an array`, items)];
  if ((source === 'messaging' || source === 'standby') && !carriesMessaging(base.object)) {
    const reason = `entry.${source} under object "${base.object}", which is neither page nor instagram`;
    return items.map((item) => unknownEvent(sourceBase, reason, item));
  }
  const uid = isString(entry.uid) ? entry.uid : undefined;
  return items.map((item) => SOURCE_READERS[source](item, sourceBase, uid));
}

/** `entry.id` is a numeric string; a hand-written payload may send a number, which means the same. */
function readEntryId(id: unknown): string | undefined {
  if (isString(id)) return id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? String(id) : undefined;
}

function normalizeEntry(entry: unknown, object: string, channel: Channel, receivedAt: number): WebhookEvent[] {
  const fallback: EventBase = { channel, object, entry_id: '', entry_time: receivedAt, standby: false };
  if (!isObject(entry)) return [unknownEvent(fallback, 'entry is not an object', entry)];
  // A missing id leaves entry_id empty: the events are kept (and logged) but no account of ours
  // has that id, so nothing is answered. A missing or unreadable time is the time of receipt.
  const base: EventBase = { ...fallback, entry_id: readEntryId(entry.id) ?? '', entry_time: readTime(entry.time) ?? receivedAt };
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

export interface NormalizeOptions {
  /**
   * When the notification was received (epoch ms): the time of an entry whose `time` is missing
   * or unreadable, and so of its items without a `timestamp`. Default: now.
   */
  receivedAt?: number;
}

/**
 * Throws `PayloadError` only when the body is not a notification (see `readEnvelope`).
 * Times become epoch milliseconds (see `readTime`); an item without a readable `timestamp` takes
 * the entry's time, an entry without a readable `time` the time of receipt.
 */
export function normalizeNotification(body: unknown, options: NormalizeOptions = {}): NormalizedNotification {
  const { object, entry } = readEnvelope(body);
  const channel = channelOf(object);
  const receivedAt = options.receivedAt ?? Date.now();
  return { object, events: entry.flatMap((item) => normalizeEntry(item, object, channel, receivedAt)) };
}
