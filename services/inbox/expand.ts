// A stored body → its events, ready for the inbox: normalised, keyed for dedup, given a lane, in
// timestamp order so each user's events are handled in order. One event that cannot be keyed (a
// value too deep to digest, a bug in the key code) is reported by its position and the body's
// other events still go through; only a body that cannot be read at all throws.
import type { AccountDirectory } from '../accounts/directory.ts';
import { laneOf } from './lanes.ts';
import { normalizeNotification } from '../events/normalize.ts';
import type { WebhookEvent } from '../events/types.ts';
import type { ExpandedNotification, NewInboxEvent, NotificationExpander, UnreadableEvent } from '../state/store.ts';
import { reasonOf } from '../state/store.ts';
import { eventKey } from './event-key.ts';

/** `receivedAt` (when the webhook stored the body) stands in for a missing or unreadable entry time. */
export function expandBody(body: Uint8Array, receivedAt: number, accounts?: AccountDirectory): ExpandedNotification {
  const json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown;
  return toInboxEvents(normalizeNotification(json, { receivedAt }).events, accounts);
}

/** The expander for a bot serving `accounts`: each user's lane carries their account's key. */
export function expanderFor(accounts: AccountDirectory): NotificationExpander {
  return (body, receivedAt) => expandBody(body, receivedAt, accounts);
}

/** Keys and lanes for each event, in timestamp order (Meta's order among equal timestamps). */
export function toInboxEvents(events: readonly WebhookEvent[], accounts?: AccountDirectory): ExpandedNotification {
  const keyed: (NewInboxEvent & { position: number })[] = [];
  const unreadable: UnreadableEvent[] = [];
  events.forEach((event, position) => {
    try {
      const timestamp = 'timestamp' in event ? event.timestamp : event.entry_time;
      keyed.push({ key: eventKey(event), lane: laneOf(event, accounts), timestamp, event, position });
    } catch (err) {
      unreadable.push({ position, reason: `${event.kind} event in entry ${String(event.entry_id).slice(0, 40)} could not be keyed: ${reasonOf(err)}` });
    }
  });
  keyed.sort((a, b) => a.timestamp - b.timestamp || a.position - b.position);
  return { events: keyed, unreadable };
}
