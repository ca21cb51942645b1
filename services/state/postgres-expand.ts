// Expansion on PostgreSQL: stored bodies → inbox events, in one transaction that instances take in
// turn (an advisory transaction lock), so inbox ids follow the bodies' commit order and a
// redelivery is recognised whichever instance stored the first copy.
//
// Fast path: every event of the batch in one statement. When that statement fails because of
// what is in it (a data error, e.g. a value PostgreSQL cannot store), it is rolled back to its
// savepoint and retried per notification, and a failing notification per event, so only the
// events that cannot be stored are set aside (their body kept with the reason). Any other error
// (the connection, a timeout) rolls everything back: nothing is taken, the caller tries again.
import type { PoolClient } from 'pg';
import type { ExpandedNotification, ExpandResult, NotificationExpander, UnreadableEvent } from './store.ts';
import { reasonOf, unreadableEventsReason } from './store.ts';
import { FINISH_NOTIFICATIONS, NOTIFICATIONS_AFTER, STORE_EVENTS } from './postgres-sql.ts';
import { toNumber } from './postgres-pool.ts';

/** An event ready for the statement: every text checked, the event serialised. */
export interface PreparedEvent {
  key: string;
  lane: string;
  ts: number;
  event: string;
  receivedAt: number | null;
  /** Its place in its body (to name it if it cannot be stored). */
  position: number;
}

interface Taken {
  id: number;
  events: PreparedEvent[];
  failed: UnreadableEvent[];
  /** The whole body was set aside (it could not be expanded). */
  wholeReason?: string;
}

/** Bodies read per query: a few, since one large body may use up the event budget by itself. */
const READ_CHUNK = 16;

export async function expandInTransaction(client: PoolClient, maxEvents: number, expand: NotificationExpander, now: number): Promise<ExpandResult> {
  const taken = await takeNotifications(client, maxEvents, expand);
  const result: ExpandResult = { notifications: taken.length, stored: 0, duplicates: 0, unreadable: [] };
  if (taken.length === 0) return result;
  const stored = await storeIsolated(client, taken, now);
  result.stored = stored;
  result.duplicates = taken.reduce((n, t) => n + t.events.length, 0) - stored;
  const aside: { id: number; reason: string }[] = [];
  for (const t of taken) {
    if (t.wholeReason !== undefined) {
      aside.push({ id: t.id, reason: t.wholeReason });
      result.unreadable.push({ id: t.id, reason: t.wholeReason });
    } else if (t.failed.length > 0) {
      const reason = unreadableEventsReason(t.failed);
      aside.push({ id: t.id, reason });
      result.unreadable.push({ id: t.id, reason, events: t.failed.map((f) => f.position).sort((a, b) => a - b) });
    }
  }
  await client.query({
    ...FINISH_NOTIFICATIONS,
    values: [aside.map((a) => a.id), aside.map((a) => safeText(a.reason)), now, taken.map((t) => t.id)],
  });
  return result;
}

/** Reads and expands bodies oldest first until they held `maxEvents` events (at least one body). */
async function takeNotifications(client: PoolClient, maxEvents: number, expand: NotificationExpander): Promise<Taken[]> {
  const taken: Taken[] = [];
  let events = 0;
  let afterId = 0;
  const full = (): boolean => taken.length > 0 && (events >= maxEvents || taken.length >= maxEvents);
  while (!full()) {
    const { rows } = await client.query<{ id: string; received_at: string; body: Buffer }>({ ...NOTIFICATIONS_AFTER, values: [afterId, READ_CHUNK] });
    for (const row of rows) {
      if (full()) break;
      const t = expandOne(toNumber(row.id), toNumber(row.received_at), row.body, expand);
      taken.push(t);
      events += t.events.length;
      afterId = t.id;
    }
    if (rows.length < READ_CHUNK) break;
  }
  return taken;
}

function expandOne(id: number, receivedAt: number, body: Buffer, expand: NotificationExpander): Taken {
  let expanded: ExpandedNotification;
  try {
    expanded = expand(body, receivedAt);
  } catch (err) {
    return { id, events: [], failed: [], wholeReason: reasonOf(err) };
  }
  const failed: UnreadableEvent[] = [...expanded.unreadable];
  const events: PreparedEvent[] = [];
  expanded.events.forEach((e, i) => {
    const position = e.position ?? i;
    try {
      events.push({ key: storable(e.key, 'its key'), lane: storable(e.lane, 'its lane'), ts: timestampOf(e.timestamp), event: serialise(e.event), receivedAt, position });
    } catch (err) {
      failed.push({ position, reason: `could not be stored: ${reasonOf(err)}` });
    }
  });
  return { id, events, failed };
}

/** Stores the events of every body, isolating what fails; returns how many were stored (not duplicates). */
async function storeIsolated(client: PoolClient, taken: Taken[], now: number): Promise<number> {
  const all = taken.flatMap((t) => t.events);
  if (all.length === 0) return 0;
  const whole = await attempt(client, all, now);
  if (typeof whole === 'number') return whole;
  let stored = 0;
  for (const t of taken) {
    if (t.events.length === 0) continue;
    const one = await attempt(client, t.events, now);
    if (typeof one === 'number') {
      stored += one;
      continue;
    }
    const kept: PreparedEvent[] = [];
    for (const e of t.events) {
      const single = await attempt(client, [e], now);
      if (typeof single === 'number') {
        stored += single;
        kept.push(e);
      } else t.failed.push({ position: e.position, reason: `could not be stored: ${reasonOf(single)}` });
    }
    t.events = kept;
  }
  return stored;
}

/** The statement in a savepoint: the count stored, or the data error that rolled it back. */
async function attempt(client: PoolClient, events: readonly PreparedEvent[], now: number): Promise<number | Error> {
  await client.query('SAVEPOINT store_events');
  try {
    const { rowCount } = await client.query(storeEventsQuery(events, now));
    await client.query('RELEASE SAVEPOINT store_events');
    return rowCount ?? 0;
  } catch (err) {
    if (!isDataError(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT store_events');
    await client.query('RELEASE SAVEPOINT store_events');
    return err as Error;
  }
}

export function storeEventsQuery(events: readonly PreparedEvent[], now: number) {
  return {
    ...STORE_EVENTS,
    values: [events.map((e) => e.key), events.map((e) => e.lane), events.map((e) => e.ts), events.map((e) => e.event), events.map((e) => e.receivedAt), now],
  };
}

/**
 * SQLSTATE classes caused by the values themselves: 22 data exception (e.g. invalid byte
 * sequence), 23 integrity constraint, 54 program limit exceeded (e.g. an index row too large).
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/** JSON text of an event; throws for what JSON cannot hold. NUL and other control characters come out escaped. */
export function serialise(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (typeof json !== 'string') throw new TypeError('the event is not serialisable as JSON');
  return json;
}

/** PostgreSQL TEXT cannot hold NUL: a key or lane with one cannot be stored (clearer than the server's error). */
export function storable(text: string, what: string): string {
  if (text.includes('\u0000')) throw new TypeError(`${what} contains a NUL character, which PostgreSQL cannot store`);
  return text;
}

/** A reason or error text for a TEXT column (NUL made visible rather than failing the write). */
export function safeText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

export function timestampOf(ts: number): number {
  if (!Number.isFinite(ts)) throw new TypeError(`its timestamp (${String(ts)}) is not a number`);
  return Math.round(ts);
}
