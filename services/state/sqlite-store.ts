// The durable BotStore on SQLite (better-sqlite3): WAL journal, so a committed transaction
// survives the process being killed at any instant; one transaction per webhook request.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { WebhookEvent } from '../events/types.ts';
import type { OutgoingAction } from '../graph/send-api.ts';
import type { Backlog, BotStore, EventOutcome, ExpandResult, InboxRow, MessageStatus, NewInboxEvent, NotificationExpander, OutboxRow, SentMessage, StatusUpdate, UserState } from './store.ts';
import { DEDUP_RETENTION_MS, SENT_RETENTION_MS } from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dedup (key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_seen ON dedup(seen_at);
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS unreadable_notifications (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL, reason TEXT NOT NULL, failed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, ts INTEGER NOT NULL, event TEXT NOT NULL, received_at INTEGER);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, user_key TEXT, event_id INTEGER NOT NULL,
  action TEXT NOT NULL, apology TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
  last_error TEXT, received_at INTEGER);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox(lane, id);
CREATE TABLE IF NOT EXISTS failed_sends (id INTEGER PRIMARY KEY, lane TEXT NOT NULL, user_key TEXT, action TEXT NOT NULL, reason TEXT NOT NULL, failed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sent_messages (
  user_key TEXT NOT NULL, mid TEXT NOT NULL, sent_at INTEGER NOT NULL, status TEXT NOT NULL,
  reaction TEXT, thanked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_key, mid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sent_by_time ON sent_messages(sent_at);
`;

interface OutboxRecord {
  id: number;
  lane: string;
  user_key: string | null;
  event_id: number;
  action: string;
  apology: string | null;
  attempts: number;
  next_attempt_at: number;
  received_at: number | null;
}

interface SentRecord {
  mid: string;
  sent_at: number;
  status: MessageStatus;
  reaction: string | null;
  thanked: number;
}

export interface SqliteStoreOptions {
  /**
   * False for a connection that must never stall on a WAL checkpoint (the webhook's, when another
   * connection in the process does the handling and checkpoints as it commits).
   */
  checkpoint?: boolean;
  /** SQLite's page cache for this connection, MB (a fixed ceiling: memory stays flat as the database grows). */
  cacheMb?: number;
  /**
   * When another connection holds the write lock, `block` (the default) sleeps in SQLite's busy
   * handler; `yield` retries the webhook's group commit from the event loop instead, so the thread
   * that answers Meta keeps serving requests while it waits.
   */
  onLocked?: 'block' | 'yield';
  /** How long a commit may wait for the write lock before it fails (the webhook then answers 500). */
  lockWaitMs?: number;
}

const DEFAULT_LOCK_WAIT_MS = 5000;
/**
 * Most handled events (or sent replies) per shared commit: enough to save most commits, few enough
 * that the write lock is held well under a millisecond, so the webhook's commits rarely wait for it.
 */
const HANDLING_BATCH = 8;

/** better-sqlite3's default is 16 MB per connection; the handling connection does well with less. */
const DEFAULT_CACHE_MB = 8;

/** Opens (and creates on first use) the database file at `path`. */
export function createSqliteStore(path: string, options: SqliteStoreOptions = {}): BotStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: commits survive a process crash (kill -9); only power loss can drop the last ones.
  db.pragma('synchronous = NORMAL');
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  db.pragma(`busy_timeout = ${options.onLocked === 'yield' ? 0 : lockWaitMs}`);
  if (options.checkpoint === false) db.pragma('wal_autocheckpoint = 0');
  db.pragma(`cache_size = -${Math.round((options.cacheMb ?? DEFAULT_CACHE_MB) * 1024)}`);
  db.exec(SCHEMA);
  // metrics (#14): databases created before reply latency was measured lack these columns.
  addColumnIfMissing(db, 'inbox', 'received_at', 'INTEGER');
  addColumnIfMissing(db, 'outbox', 'received_at', 'INTEGER');
  const q = prepare(db);

  // receivedAt: when the webhook stored the notification, kept with its events and replies (reply latency).
  const insertEvents = (events: readonly NewInboxEvent[], now: number, receivedAt = now): InboxRow[] => {
    const stored: InboxRow[] = [];
    for (const e of events) {
      if (q.markSeen.run(e.key, now).changes === 0) continue;
      const id = Number(q.insertInbox.run(e.lane, e.timestamp, JSON.stringify(e.event), receivedAt).lastInsertRowid);
      stored.push({ id, lane: e.lane });
    }
    return stored;
  };
  // Group commit: every request that arrives in the same event-loop turn shares one transaction;
  // each still resolves only after that commit, so nothing is acknowledged before it is safe.
  const addNotification = createGroupCommit(
    db.transaction((batch: { body: Uint8Array; now: number }[]) => batch.map((p) => void q.insertNotification.run(p.now, p.body))),
    options.onLocked === 'yield' ? { retryLockedMs: lockWaitMs } : {},
  );
  const addToInbox = db.transaction(insertEvents);
  const expandNotifications = db.transaction((maxEvents: number, expand: NotificationExpander, now: number): ExpandResult => {
    const result: ExpandResult = { notifications: 0, stored: 0, duplicates: 0, unreadable: [] };
    // One row at a time: a 1,000-event body is large, and the budget may stop after the first.
    while (result.notifications === 0 || result.stored + result.duplicates < maxEvents) {
      const row = q.oldestNotification.get() as { id: number; body: Buffer; received_at: number } | undefined;
      if (!row) break;
      result.notifications += 1;
      let events: NewInboxEvent[];
      try {
        events = expand(row.body);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        result.unreadable.push({ id: row.id, reason });
        q.setAsideNotification.run(reason, now, row.id);
        events = [];
      }
      const stored = insertEvents(events, now, row.received_at).length;
      result.stored += stored;
      result.duplicates += events.length - stored;
      q.deleteNotification.run(row.id);
    }
    return result;
  });
  const completeOne = (id: number, outcome: EventOutcome, now: number): OutboxRow[] => {
    const receivedAt = (q.deleteInbox.get(id) as { received_at: number | null } | undefined)?.received_at ?? null;
    if (outcome.userKey && outcome.user) q.putUser.run(outcome.userKey, JSON.stringify(outcome.user));
    for (const update of outcome.userKey ? outcome.sentUpdates : []) {
      if (update.reaction !== undefined) q.setReaction.run(update.reaction, outcome.userKey, update.mid);
      if (update.thanked) q.markThanked.run(outcome.userKey, update.mid);
    }
    return outcome.actions.map((action) => {
      const lane = outcome.userKey ?? `recipient:${action.recipient.id ?? action.recipient.user_ref ?? '?'}`;
      const apology = outcome.apology ? JSON.stringify(outcome.apology) : null;
      const rowId = Number(q.insertOutbox.run(lane, outcome.userKey ?? null, id, JSON.stringify(action), apology, now, receivedAt).lastInsertRowid);
      return { id: rowId, lane, user_key: outcome.userKey, event_id: id, action, apology: outcome.apology, attempts: 0, next_attempt_at: now, ...(receivedAt === null ? {} : { received_at: receivedAt }) };
    });
  };
  // Events handled (and replies sent) in the same turn share a commit too: each one's changes stay
  // all-or-nothing, and a failing one is retried alone (see createGroupCommit).
  const completeEvent = createGroupCommit(
    db.transaction((batch: { id: number; outcome: EventOutcome; now: number }[]) => batch.map((c) => completeOne(c.id, c.outcome, c.now))),
    { maxBatch: HANDLING_BATCH },
  );
  const outboxSent = createGroupCommit(
    db.transaction((batch: { id: number; userKey: string | undefined; mid: string | undefined; now: number }[]) =>
      batch.map(({ id, userKey, mid, now }) => {
        q.deleteOutbox.run(id);
        if (userKey && mid) q.recordSent.run(userKey, mid, now);
      }),
    ),
    { maxBatch: HANDLING_BATCH },
  );
  const outboxFail = db.transaction((id: number, failure: Parameters<BotStore['outboxFail']>[1], now: number): number => {
    const row = q.outboxById.get(id) as OutboxRecord | undefined;
    if (!row) return 0;
    const rest = failure.dropRest ? (q.outboxOfEvent.all(row.lane, row.event_id) as OutboxRecord[]).filter((r) => r.id !== id) : [];
    q.insertFailed.run(row.id, row.lane, row.user_key, row.action, failure.reason, now);
    for (const r of rest) {
      q.insertFailed.run(r.id, r.lane, r.user_key, r.action, `skipped after ${failure.reason}`, now);
      q.deleteOutbox.run(r.id);
    }
    if (failure.apologise && row.apology !== null) q.replaceWithApology.run(id);
    else q.deleteOutbox.run(id);
    return rest.length;
  });
  const updateStatus = db.transaction((key: string, update: StatusUpdate, status: MessageStatus): number => {
    const below = statusesBelow(status);
    let changed = 0;
    for (const mid of update.mids ?? []) changed += q.advanceMid.run(status, key, mid, ...below).changes;
    if (update.watermark !== undefined) changed += q.advanceWatermark.run(status, key, update.watermark, ...below).changes;
    return changed;
  });

  const resolved = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };

  return {
    getUser: (key) => resolved(() => parse<UserState>((q.getUser.get(key) as { state: string } | undefined)?.state) ?? {}),
    putUser: (key, state) => resolved(() => void q.putUser.run(key, JSON.stringify(state))),
    recordSent: (key, mid, at) => resolved(() => void q.recordSent.run(key, mid, at)),
    getSent: (key, mid) => resolved(() => toSent(q.getSent.get(key, mid) as SentRecord | undefined)),
    updateStatus: (key, update, status) => resolved(() => updateStatus(key, update, status)),
    addNotification: ({ body }, now) => addNotification({ body, now }),
    // IMMEDIATE: these read before they write. A deferred transaction would fail at once with
    // "database is locked" if another connection (the webhook's) committed in between.
    expandNotifications: (maxEvents, expand, now) => resolved(() => expandNotifications.immediate(maxEvents, expand, now)),
    addToInbox: (events, now) => resolved(() => addToInbox(events, now)),
    inboxAfter: (afterId, limit) => resolved(() => q.inboxAfter.all(afterId, limit) as InboxRow[]),
    inboxEvent: (id) => resolved(() => parse<WebhookEvent>((q.inboxEvent.get(id) as { event: string } | undefined)?.event)),
    completeEvent: (id, outcome, now) => completeEvent({ id, outcome, now }),
    outboxLanes: () => resolved(() => (q.outboxLanes.all() as { lane: string }[]).map((r) => r.lane)),
    outboxHead: (lane) => resolved(() => {
      const row = q.outboxHead.get(lane) as OutboxRecord | undefined;
      return row ? toOutboxRow(row) : undefined;
    }),
    outboxSent: (id, sent, now) => outboxSent({ id, userKey: sent.userKey, mid: sent.mid, now }),
    outboxRetry: (id, attempts, nextAt, error) => resolved(() => void q.retryOutbox.run(attempts, nextAt, error, id)),
    outboxFail: (id, failure, now) => resolved(() => outboxFail.immediate(id, failure, now)),
    backlog: () => resolved(() => q.backlog.get() as Backlog),
    prune: (now) => resolved(() => {
      q.pruneDedup.run(now - DEDUP_RETENTION_MS);
      q.pruneSent.run(now - SENT_RETENTION_MS);
    }),
    ping: () => resolved(() => void q.ping.get()),
    close: () => resolved(() => void db.close()),
  };
}

interface Pending<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (err: Error) => void;
}

/**
 * Collects calls until the next turn of the event loop, then runs them in one transaction
 * (`commit` returns one output per input, in order); each call resolves only after that commit.
 * With `retryLockedMs`, a commit that finds the write lock taken is retried a millisecond later
 * (calls arriving meanwhile join it) rather than sleeping in SQLite, for up to that long.
 */
function createGroupCommit<I, O>(commit: (inputs: I[]) => O[], options: { retryLockedMs?: number; maxBatch?: number } = {}): (input: I) => Promise<O> {
  const { retryLockedMs, maxBatch = Infinity } = options;
  let batch: Pending<I, O>[] = [];
  let lockedSince: number | undefined;
  const run = (items: Pending<I, O>[]): void => {
    const outputs = commit(items.map((p) => p.input));
    items.forEach((p, i) => p.resolve(outputs[i] as O));
  };
  const flush = (): void => {
    const current = batch.length > maxBatch ? batch.splice(0, maxBatch) : batch;
    batch = current === batch ? [] : batch;
    if (batch.length > 0) setImmediate(flush);
    try {
      run(current);
      lockedSince = undefined;
    } catch (err) {
      const now = performance.now();
      if (retryLockedMs !== undefined && isLocked(err) && now - (lockedSince ??= now) < retryLockedMs) {
        batch = current.concat(batch);
        setTimeout(flush, 1);
        return;
      }
      lockedSince = undefined;
      // The shared transaction rolled back: retry each request alone, so one bad request (or a
      // busy database) fails only itself.
      for (const p of current) {
        try {
          run([p]);
        } catch (err) {
          p.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  };
  return (input: I): Promise<O> =>
    new Promise((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push({ input, resolve, reject });
    });
}

function isLocked(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function prepare(db: Database.Database) {
  return {
    markSeen: db.prepare('INSERT OR IGNORE INTO dedup (key, seen_at) VALUES (?, ?)'),
    insertInbox: db.prepare('INSERT INTO inbox (lane, ts, event, received_at) VALUES (?, ?, ?, ?)'),
    deleteInbox: db.prepare('DELETE FROM inbox WHERE id = ? RETURNING received_at'),
    insertNotification: db.prepare('INSERT INTO notifications (received_at, body) VALUES (?, ?)'),
    oldestNotification: db.prepare('SELECT id, body, received_at FROM notifications ORDER BY id LIMIT 1'),
    setAsideNotification: db.prepare(
      'INSERT OR REPLACE INTO unreadable_notifications (id, received_at, body, reason, failed_at) SELECT id, received_at, body, ?, ? FROM notifications WHERE id = ?',
    ),
    deleteNotification: db.prepare('DELETE FROM notifications WHERE id = ?'),
    inboxAfter: db.prepare('SELECT id, lane FROM inbox WHERE id > ? ORDER BY id LIMIT ?'),
    inboxEvent: db.prepare('SELECT event FROM inbox WHERE id = ?'),
    getUser: db.prepare('SELECT state FROM users WHERE key = ?'),
    putUser: db.prepare('INSERT INTO users (key, state) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state'),
    insertOutbox: db.prepare('INSERT INTO outbox (lane, user_key, event_id, action, apology, next_attempt_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE id = ?'),
    outboxById: db.prepare('SELECT * FROM outbox WHERE id = ?'),
    outboxOfEvent: db.prepare('SELECT * FROM outbox WHERE lane = ? AND event_id = ? ORDER BY id'),
    outboxHead: db.prepare('SELECT * FROM outbox WHERE lane = ? ORDER BY id LIMIT 1'),
    outboxLanes: db.prepare('SELECT DISTINCT lane FROM outbox'),
    retryOutbox: db.prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?'),
    replaceWithApology: db.prepare('UPDATE outbox SET action = apology, apology = NULL, attempts = 0, last_error = NULL WHERE id = ?'),
    insertFailed: db.prepare('INSERT OR REPLACE INTO failed_sends (id, lane, user_key, action, reason, failed_at) VALUES (?, ?, ?, ?, ?, ?)'),
    recordSent: db.prepare("INSERT OR IGNORE INTO sent_messages (user_key, mid, sent_at, status) VALUES (?, ?, ?, 'sent')"),
    getSent: db.prepare('SELECT mid, sent_at, status, reaction, thanked FROM sent_messages WHERE user_key = ? AND mid = ?'),
    advanceMid: db.prepare('UPDATE sent_messages SET status = ? WHERE user_key = ? AND mid = ? AND status IN (?, ?)'),
    advanceWatermark: db.prepare('UPDATE sent_messages SET status = ? WHERE user_key = ? AND sent_at <= ? AND status IN (?, ?)'),
    setReaction: db.prepare('UPDATE sent_messages SET reaction = ? WHERE user_key = ? AND mid = ?'),
    markThanked: db.prepare('UPDATE sent_messages SET thanked = 1 WHERE user_key = ? AND mid = ?'),
    backlog: db.prepare('SELECT (SELECT count(*) FROM notifications) AS received, (SELECT count(*) FROM inbox) AS inbox, (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM failed_sends) AS failed'),
    pruneDedup: db.prepare('DELETE FROM dedup WHERE seen_at < ?'),
    pruneSent: db.prepare('DELETE FROM sent_messages WHERE sent_at < ?'),
    ping: db.prepare('SELECT 1'),
  };
}

/** The statuses a message may advance from to reach `status` (padded to two for the statement). */
function statusesBelow(status: MessageStatus): [string, string] {
  if (status === 'read') return ['sent', 'delivered'];
  if (status === 'delivered') return ['sent', 'sent'];
  return ['', ''];
}

function parse<T>(json: string | undefined): T | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as T);
}

function toSent(row: SentRecord | undefined): SentMessage | undefined {
  if (!row) return undefined;
  return { mid: row.mid, sent_at: row.sent_at, status: row.status, thanked: row.thanked === 1, ...(row.reaction === null ? {} : { reaction: row.reaction }) };
}

function toOutboxRow(row: OutboxRecord): OutboxRow {
  return {
    id: row.id,
    lane: row.lane,
    user_key: row.user_key ?? undefined,
    event_id: row.event_id,
    action: JSON.parse(row.action) as OutgoingAction,
    apology: parse<OutgoingAction>(row.apology ?? undefined),
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    ...(row.received_at === null ? {} : { received_at: row.received_at }),
  };
}

/** Adds a nullable column to a table created by an earlier release (SQLite has no ADD COLUMN IF NOT EXISTS). */
function addColumnIfMissing(db: Database.Database, table: string, column: string, type: string): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[];
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
