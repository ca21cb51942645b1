// Expansion on PostgreSQL: stored bodies → inbox events, in one transaction that instances take in
// turn (an advisory transaction lock), so inbox ids follow the bodies' commit order and a
// redelivery is recognised whichever instance stored the first copy.
//
// Fast path: every event of the batch in one statement. When that statement fails because of
// what is in it (a data error, e.g. a value PostgreSQL cannot store), it is rolled back to its
// savepoint and retried per notification, and a failing notification per event, so only the
// events that cannot be stored are set aside (their body kept with the reason). Any other error
// (the connection, a timeout) rolls everything back: nothing is taken, the caller tries again.
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { ExpandClaim, ExpandedNotification, ExpandResult, NotificationExpander, UnreadableEvent } from './store.ts';
import { reasonOf, unreadableEventsReason } from './store.ts';
import { LOCK_CLASS } from './migrations/postgres.ts';
import { CLAIM_INBOX_WITH_EVENTS, DB_NOW, EXPAND_LOCK, FINISH_NOTIFICATIONS, LANES_CHANNEL, NOTIFICATIONS_AFTER, STORE_AND_FINISH, STORE_EVENTS } from './postgres-sql.ts';
import { inlineStatement, type InlineValue } from './postgres-inline.ts';
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

/** What one expansion needs: the budget, the expander, the caller's time, and what to do besides. */
export interface ExpansionRun {
  maxEvents: number;
  expand: NotificationExpander;
  now: number;
  /** Answer `busy` rather than wait while another instance expands. */
  ifFree: boolean;
  /** The payload of the wake-up sent when lanes were filled that nobody holds (see PostgresStoreOptions.wakeTag). */
  wakeTag: string;
  /** Claim lanes in the same transaction (see ExpandOptions.claim). */
  claim?: ExpandClaim | undefined;
}

/** The expansion's result, and with `claim` the claim's rows (CLAIM_INBOX_WITH_EVENTS). */
export interface Expansion<C> {
  result: ExpandResult;
  claimed: C[] | undefined;
  /**
   * With `claim`: the stored state of the users whose lanes this expansion filled (a user's lane
   * is its key), read by a statement after the claim's. `lanes` were looked up; a lane of them
   * without a row has no user yet. Only a lane the claim took may use it (see USERS_OF_LANES).
   */
  users?: { lanes: readonly string[]; rows: readonly UserRecord[] };
}

/** A user's stored state (JSON text), by its key. */
export interface UserRecord extends QueryResultRow {
  key: string;
  state: string;
}

/**
 * One expansion, BEGIN to COMMIT, in three round trips when nothing fails: BEGIN, the lock, a
 * savepoint and the first bodies as one simple query; every event and the bodies' removal in one
 * prepared statement; then the claim, the wake-up and COMMIT as one simple query. The reads after
 * the lock are statements of their own, so under READ COMMITTED they see everything the lock's
 * previous holder committed, and the claim (a statement after the events') sees the lanes they
 * filled. Only node-postgres's prepared statements and simple queries: no session state a
 * transaction-pooling PgBouncer would lose. The caller owns `client` (and rolls back if this throws).
 */
export async function expandAndClaim<C extends QueryResultRow>(client: PoolClient, run: ExpansionRun): Promise<Expansion<C>> {
  // `bot.expanding` (for this transaction): whether the lock was got, which the read checks.
  const lock = run.ifFree
    ? `SELECT set_config('bot.expanding', pg_try_advisory_xact_lock(${LOCK_CLASS}, ${EXPAND_LOCK})::text, true) = 'true' AS got`
    : `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${EXPAND_LOCK}), set_config('bot.expanding', 'true', true) = 'true' AS got`;
  const opened = await multi(client, [
    'BEGIN ISOLATION LEVEL READ COMMITTED',
    lock,
    'SAVEPOINT store_events',
    `SELECT id, received_at, body FROM notifications WHERE current_setting('bot.expanding', true) = 'true' ORDER BY id LIMIT ${READ_CHUNK}`,
  ]);
  if ((opened[1]?.rows[0] as { got?: boolean } | undefined)?.got !== true) {
    await client.query('COMMIT');
    return { result: { notifications: 0, stored: 0, duplicates: 0, unreadable: [], busy: true }, claimed: undefined };
  }
  const taken = await takeNotifications(client, run, (opened[3]?.rows ?? []) as NotificationRecord[]);
  const result: ExpandResult = { notifications: taken.length, stored: 0, duplicates: 0, unreadable: [] };
  const all = taken.flatMap((t) => t.events);
  // The bodies set aside (with their reasons) and every body taken, as of now: the slow path below
  // can add to what is set aside.
  const finished = (): [number[], string[], number[]] => {
    const aside = setAside(taken);
    return [aside.map((a) => a.id), aside.map((a) => safeText(a.reason)), taken.map((t) => t.id)];
  };
  const finishAlone = async (): Promise<void> => {
    const [ids, reasons, takenIds] = finished();
    await client.query({ ...FINISH_NOTIFICATIONS, values: [ids, reasons, run.now, takenIds] });
  };
  if (all.length > 0) {
    try {
      // The fast path: every event and the bodies' removal in one statement, in the savepoint.
      result.stored = (await client.query({ ...STORE_AND_FINISH, values: [...storeEventsValues(all, run.now), ...finished()] })).rowCount ?? 0;
    } catch (err) {
      if (!isDataError(err)) throw err;
      // Something in the batch cannot be stored: back to before it, and store body by body.
      await client.query('ROLLBACK TO SAVEPOINT store_events');
      result.stored = await storeIsolated(client, taken, run.now);
      await finishAlone();
    }
  } else if (taken.length > 0) await finishAlone();
  const lanes = [...new Set(all.map((e) => e.lane))];
  const closed = await multi(client, closingStatements(client, lanes, run));
  result.duplicates = taken.reduce((n, t) => n + t.events.length, 0) - result.stored;
  result.unreadable = setAside(taken).map(({ id, reason, events }) => ({ id, reason, ...(events ? { events } : {}) }));
  if (!run.claim) return { result, claimed: undefined };
  const claimed = (closed[1]?.rows as C[] | undefined) ?? [];
  if (lanes.length === 0) return { result, claimed };
  return { result, claimed, users: { lanes, rows: (closed[2]?.rows ?? []) as UserRecord[] } };
}

interface NotificationRecord extends QueryResultRow {
  id: string;
  received_at: string;
  body: Buffer;
}

/** Runs statements as one simple query; their results in order (pg answers one result alone, not in an array). */
async function multi(client: PoolClient, statements: string[]): Promise<QueryResult[]> {
  const results = (await client.query(statements.join(';\n'))) as unknown as QueryResult | QueryResult[];
  return Array.isArray(results) ? results : [results];
}

/**
 * What ends the expansion, in this order: the savepoint's release, the claim if asked (results[1])
 * and then the users of the lanes filled (results[2], when some were), the wake-up, COMMIT. The
 * wake-up goes only when a lane it filled is still free after the claim: an instance that took
 * them all has nobody to wake. The claim, the users' read and the wake-up are simple-query
 * statements with their values written in (planned each time, small).
 */
function closingStatements(client: PoolClient, lanes: readonly string[], run: ExpansionRun): string[] {
  const statements = ['RELEASE SAVEPOINT store_events'];
  if (run.claim) {
    statements.push(inlineStatement(client, CLAIM_INBOX_WITH_EVENTS.text, [run.claim.owner, run.claim.limit, Math.round(run.claim.leaseMs), run.claim.withEvents]));
    if (lanes.length > 0) statements.push(inlineStatement(client, USERS_OF_LANES, [lanes]));
  }
  if (lanes.length > 0) statements.push(inlineStatement(client, WAKE_IF_FREE, [lanes, run.wakeTag]));
  statements.push('COMMIT');
  return statements;
}

/**
 * $1 lanes: the users whose lanes they are, so that the handler of a lane's first event need not
 * read its user (one round trip less per event). A statement of its own, after the claim's: under
 * READ COMMITTED its snapshot is taken once the claim holds its lanes, so it sees every write of
 * a previous holder (each is fenced on holding the lane, and one committed before the claim took
 * it is in this snapshot; one after finds the lane taken and writes nothing). In the claim's own
 * statement it could miss one: a lane released after that statement's snapshot can still be
 * taken by it (its row is re-read under the lock), its user's state not.
 */
const USERS_OF_LANES = 'SELECT key, state FROM users WHERE key = ANY($1::text[])';

/** $1 lanes, $2 wake tag: notifies the other instances when one of the lanes waits with nobody holding it. */
const WAKE_IF_FREE = `SELECT pg_notify('${LANES_CHANNEL}', $2) FROM (SELECT 1) AS one
   WHERE EXISTS (SELECT 1 FROM inbox_lanes WHERE lane = ANY($1::text[]) AND pending > 0 AND (owner IS NULL OR lease_until < ${DB_NOW}))`;

/** The bodies to set aside, with their reasons and (when only some events failed) the failed positions. */
function setAside(taken: readonly Taken[]): { id: number; reason: string; events?: number[] }[] {
  const aside: { id: number; reason: string; events?: number[] }[] = [];
  for (const t of taken) {
    if (t.wholeReason !== undefined) aside.push({ id: t.id, reason: t.wholeReason });
    else if (t.failed.length > 0) aside.push({ id: t.id, reason: unreadableEventsReason(t.failed), events: t.failed.map((f) => f.position).sort((a, b) => a - b) });
  }
  return aside;
}

/** Expands bodies oldest first (`first` already read) until they held `maxEvents` events (at least one body). */
async function takeNotifications(client: PoolClient, run: ExpansionRun, first: readonly NotificationRecord[]): Promise<Taken[]> {
  const taken: Taken[] = [];
  let events = 0;
  let afterId = 0;
  const full = (): boolean => taken.length > 0 && (events >= run.maxEvents || taken.length >= run.maxEvents);
  let rows = first;
  for (;;) {
    for (const row of rows) {
      if (full()) break;
      const t = expandOne(toNumber(row.id), toNumber(row.received_at), row.body, run.expand);
      taken.push(t);
      events += t.events.length;
      afterId = t.id;
    }
    if (full() || rows.length < READ_CHUNK) return taken;
    rows = (await client.query<NotificationRecord>({ ...NOTIFICATIONS_AFTER, values: [afterId, READ_CHUNK] })).rows;
  }
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
  return { ...STORE_EVENTS, values: storeEventsValues(events, now) };
}

function storeEventsValues(events: readonly PreparedEvent[], now: number): InlineValue[] {
  return [events.map((e) => e.key), events.map((e) => e.lane), events.map((e) => e.ts), events.map((e) => e.event), events.map((e) => e.receivedAt), now];
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
