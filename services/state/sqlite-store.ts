// The durable BotStore on SQLite (better-sqlite3): WAL journal, so a committed transaction
// survives the process being killed at any instant; one transaction per webhook request.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { WebhookEvent } from '../events/types.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import type { StoredToken } from '../accounts/tokens.ts';
import { migrateSqlite } from './migrations/sqlite.ts';
import type { Backlog, BotStore, CachedProfile, ClaimedLane, Completion, EventOutcome, Release, ExpandedNotification, ExpandResult, InboxRow, Lost, MessageStatus, NewInboxEvent, NotificationExpander, OutboxRow, SentMessage, StatusUpdate, UnreadableEvent, UserState } from './store.ts';
import { DEDUP_RETENTION_MS, LEASE_MS, LOST, SENT_RETENTION_MS, reasonOf, replyLane, unreadableEventsReason } from './store.ts';


interface NotificationRecord {
  id: number;
  received_at: number;
  body: Buffer;
}

interface InboxRecord {
  id: number;
  lane: string;
  attempts: number;
  received_at: number | null;
}

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
   * False for a connection that must never stall on a WAL checkpoint: the threaded bot's two
   * (the webhook's and the worker's), whose WAL its checkpointer thread moves instead.
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
  migrateSqlite(db);
  const q = prepare(db);

  const insertEvents = (events: readonly NewInboxEvent[], now: number): InboxRow[] => {
    const stored: InboxRow[] = [];
    for (const e of events) {
      const json = serialise(e.event);
      if (q.markSeen.run(e.key, now).changes === 0) continue;
      const id = Number(q.insertInbox.run(e.lane, e.timestamp, json, now).lastInsertRowid);
      q.addToInboxLane.run(e.lane, now);
      stored.push({ id, lane: e.lane, attempts: 0, received_at: now });
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
  // One notification's events, in a savepoint of the expansion's transaction: if anything in here
  // throws, none of its writes stay, and the body is set aside whole instead.
  const storeExpanded = db.transaction((row: NotificationRecord, expanded: ExpandedNotification, now: number) => {
    const failed: UnreadableEvent[] = [...expanded.unreadable];
    let stored = 0;
    let duplicates = 0;
    expanded.events.forEach((e, i) => {
      let json: string;
      try {
        json = serialise(e.event);
      } catch (err) {
        failed.push({ position: e.position ?? i, reason: `could not be stored: ${reasonOf(err)}` });
        return;
      }
      if (q.markSeen.run(e.key, now).changes === 0) duplicates += 1;
      else {
        q.insertInbox.run(e.lane, e.timestamp, json, row.received_at);
        q.addToInboxLane.run(e.lane, now);
        stored += 1;
      }
    });
    const aside = failed.length > 0 ? { reason: unreadableEventsReason(failed), events: failed.map((f) => f.position).sort((a, b) => a - b) } : undefined;
    if (aside) q.setAsideNotification.run(aside.reason, now, row.id);
    q.deleteNotification.run(row.id);
    return { stored, duplicates, aside };
  });
  const setAsideWhole = (row: NotificationRecord, reason: string, now: number): void => {
    q.setAsideNotification.run(reason, now, row.id);
    q.deleteNotification.run(row.id);
  };
  const expandNotifications = db.transaction((maxEvents: number, expand: NotificationExpander, now: number): ExpandResult => {
    const result: ExpandResult = { notifications: 0, stored: 0, duplicates: 0, unreadable: [] };
    // One row at a time: a 1,000-event body is large, and the budget may stop after the first.
    // Bodies that hold no event (or none that could be read) count too, so the transaction stays short.
    while (result.notifications === 0 || (result.stored + result.duplicates < maxEvents && result.notifications < maxEvents)) {
      const row = q.oldestNotification.get() as NotificationRecord | undefined;
      if (!row) break;
      result.notifications += 1;
      let expanded: ExpandedNotification;
      try {
        expanded = expand(row.body, row.received_at);
      } catch (err) {
        const reason = reasonOf(err);
        setAsideWhole(row, reason, now);
        result.unreadable.push({ id: row.id, reason });
        continue;
      }
      let outcome: ReturnType<typeof storeExpanded>;
      try {
        outcome = storeExpanded(row, expanded, now);
      } catch (err) {
        // Something about this body broke the store's statements (the savepoint is rolled back).
        // Setting it aside whole is the last resort; if even that fails, the store itself is failing.
        const reason = `its events could not be stored: ${reasonOf(err)}`;
        setAsideWhole(row, reason, now);
        result.unreadable.push({ id: row.id, reason });
        continue;
      }
      result.stored += outcome.stored;
      result.duplicates += outcome.duplicates;
      if (outcome.aside) result.unreadable.push({ id: row.id, ...outcome.aside });
    }
    return result;
  });
  /** Moves the covered messages forward to `status` (never back); part of completeEvent's transaction. */
  const advanceStatus = (key: string, update: StatusUpdate, status: MessageStatus): void => {
    const below = statusesBelow(status);
    for (const mid of update.mids ?? []) q.advanceMid.run(status, key, mid, ...below);
    if (update.watermark !== undefined) q.advanceWatermark.run(status, key, update.watermark, ...below);
  };
  const completeOne = (id: number, outcome: EventOutcome, now: number, owner: string): Completion | Lost => {
    // An event that is gone was completed (or set aside) by whoever held its lane: LOST.
    const entry = q.inboxLaneOf.get(id) as { lane: string; received_at: number | null } | undefined;
    if (entry === undefined || q.takeFromInboxLane.run(entry.lane, owner).changes === 0) return LOST;
    q.deleteInbox.run(id);
    // When the notification arrived goes with its replies (reply latency, see metrics).
    const receivedAt = entry?.received_at ?? null;
    const key = outcome.userKey;
    if (key) {
      if (outcome.user) q.putUser.run(key, JSON.stringify(outcome.user));
      for (const update of outcome.sentUpdates) {
        if (update.reaction !== undefined) q.setReaction.run(update.reaction, key, update.mid);
        if (update.thanked) q.markThanked.run(key, update.mid);
      }
      for (const { update, status } of outcome.statusUpdates) advanceStatus(key, update, status);
    }
    const apology = outcome.apology ? JSON.stringify(outcome.apology) : null;
    const held = new Set<string>();
    const replies = outcome.actions.map((action) => {
      const lane = replyLane(outcome.userKey, action);
      const rowId = Number(q.insertOutbox.run(lane, outcome.userKey ?? null, id, JSON.stringify(action), apology, now, receivedAt).lastInsertRowid);
      const { owner: holder } = q.addToOutboxLane.get(lane, owner, now + LEASE_MS, now) as { owner: string | null };
      if (holder === owner) held.add(lane);
      return { id: rowId, lane, user_key: outcome.userKey, event_id: id, action, apology: outcome.apology, attempts: 0, next_attempt_at: now, ...(receivedAt === null ? {} : { received_at: receivedAt }) };
    });
    return { replies, held: [...held] };
  };
  // Events handled (and replies sent) in the same turn share a commit too: each one's changes stay
  // all-or-nothing, and a failing one is retried alone (see createGroupCommit). IMMEDIATE, as they
  // read before they write: a deferred one would fail at once (SQLITE_BUSY, no busy wait) whenever
  // the webhook's connection committed between its read and its first write.
  const completeAll = db.transaction((batch: { id: number; outcome: EventOutcome; now: number; owner: string }[]) => batch.map((c) => completeOne(c.id, c.outcome, c.now, c.owner)));
  const completeEvent = createGroupCommit((batch: Parameters<typeof completeAll>[0]) => completeAll.immediate(batch), { maxBatch: HANDLING_BATCH });
  const countAttempts = db.transaction((ids: number[]) => ids.map((id) => (q.countAttempt.get(id) as { attempts: number } | undefined)?.attempts ?? 0));
  const countAttempt = createGroupCommit((ids: number[]) => countAttempts.immediate(ids), { maxBatch: HANDLING_BATCH });
  // Profiles looked up after their events were completed: shared commits too, IMMEDIATE as they
  // read (the lane, the state) before they write.
  const putProfiles = db.transaction((batch: { key: string; profile: CachedProfile; lane: string; owner: string }[]) =>
    batch.map(({ key, profile, lane, owner }): void | Lost => {
      if (!q.holdsInboxLane.get(lane, owner)) return LOST;
      const state = parse<UserState>((q.getUser.get(key) as { state: string } | undefined)?.state) ?? {};
      q.putUser.run(key, JSON.stringify({ ...state, profile }));
    }),
  );
  const putProfile = createGroupCommit((batch: Parameters<typeof putProfiles>[0]) => putProfiles.immediate(batch), { maxBatch: HANDLING_BATCH });
  const setAsideEvent = db.transaction((id: number, reason: string, now: number, owner: string): void | Lost => {
    const lane = (q.inboxLaneOf.get(id) as { lane: string } | undefined)?.lane;
    if (lane === undefined) return;
    if (q.takeFromInboxLane.run(lane, owner).changes === 0) return LOST;
    q.setAsideEvent.run(reason, now, id);
    q.deleteInbox.run(id);
  });
  /** The reply's lane if `owner` holds it; LOST if someone else does; undefined if the reply is gone. */
  const heldReply = (id: number, owner: string): OutboxRecord | Lost | undefined => {
    const row = q.outboxById.get(id) as OutboxRecord | undefined;
    if (!row) return undefined;
    return q.holdsOutboxLane.get(row.lane, owner) ? row : LOST;
  };
  const recordAllSent = db.transaction((batch: { id: number; userKey: string | undefined; mid: string | undefined; now: number; owner: string }[]) =>
    batch.map(({ id, userKey, mid, now, owner }): void | Lost => {
      const row = heldReply(id, owner);
      if (row === LOST) return LOST;
      if (row) {
        q.deleteOutbox.run(id);
        q.takeFromOutboxLane.run(1, row.lane);
      }
      if (userKey && mid) q.recordSent.run(userKey, mid, now);
    }),
  );
  const outboxSent = createGroupCommit((batch: Parameters<typeof recordAllSent>[0]) => recordAllSent.immediate(batch), { maxBatch: HANDLING_BATCH });
  const outboxRetry = db.transaction((id: number, retry: { attempts: number; nextAttemptAt: number; error: string }, now: number, owner: string): void | Lost => {
    const row = heldReply(id, owner);
    if (row === LOST) return LOST;
    if (!row) return;
    q.retryOutbox.run(retry.attempts, retry.nextAttemptAt, retry.error, id);
    q.parkOutboxLane.run(retry.nextAttemptAt, now, row.lane, owner);
  });
  const outboxFail = db.transaction((id: number, failure: Parameters<BotStore['outboxFail']>[1], now: number, owner: string): number | Lost => {
    const row = heldReply(id, owner);
    if (row === LOST) return LOST;
    if (!row) return 0;
    const rest = failure.dropRest ? (q.outboxOfEvent.all(row.lane, row.event_id) as OutboxRecord[]).filter((r) => r.id !== id) : [];
    q.insertFailed.run(row.id, row.lane, row.user_key, row.action, failure.reason, now);
    for (const r of rest) {
      q.insertFailed.run(r.id, r.lane, r.user_key, r.action, `skipped after ${failure.reason}`, now);
      q.deleteOutbox.run(r.id);
    }
    const apologise = failure.apologise && row.apology !== null;
    if (apologise) q.replaceWithApology.run(id);
    else q.deleteOutbox.run(id);
    q.takeFromOutboxLane.run(rest.length + (apologise ? 0 : 1), row.lane);
    return rest.length;
  });
  // Read, then take: in one IMMEDIATE transaction, so no other connection takes the same lanes.
  const claimLanes = (free: (now: number, limit: number) => { lane: string; owner: string | null }[], take: Database.Statement) =>
    db.transaction((owner: string, limit: number, leaseMs: number, now: number): ClaimedLane[] => {
      const lanes = free(now, limit);
      for (const { lane } of lanes) take.run(owner, now + leaseMs, lane);
      return lanes.map((f) => ({ lane: f.lane, takenOver: f.owner !== null }));
    });
  type FreeLane = { lane: string; owner: string | null };
  const claimInbox = claimLanes((now, limit) => q.freeInboxLanes.all(now, limit) as FreeLane[], q.takeInboxLane);
  const claimOutbox = claimLanes((now, limit) => q.freeOutboxLanes.all(now, now, limit) as FreeLane[], q.takeOutboxLane);
  const releaseInbox = db.transaction((lane: string, owner: string, now: number, requeue: boolean): Release => {
    const released = (requeue ? q.requeueInboxLane.run(now, lane, owner) : q.releaseEmptyInboxLane.run(lane, owner)).changes > 0;
    if (released) q.dropEmptyInboxLane.run(lane);
    return released ? 'released' : q.holdsInboxLane.get(lane, owner) ? 'busy' : LOST;
  });
  const releaseOutbox = db.transaction((lane: string, owner: string, now: number, availableAt: number | undefined): Release => {
    const released = (availableAt === undefined ? q.releaseEmptyOutboxLane.run(lane, owner) : q.parkOutboxLane.run(availableAt, now, lane, owner)).changes > 0;
    if (released) q.dropEmptyOutboxLane.run(lane);
    return released ? 'released' : q.holdsOutboxLane.get(lane, owner) ? 'busy' : LOST;
  });
  const renewClaims = db.transaction((owner: string, leaseMs: number, now: number) => ({
    inbox: q.renewInbox.run(now + leaseMs, owner).changes,
    outbox: q.renewOutbox.run(now + leaseMs, owner).changes,
  }));
  const releaseClaims = db.transaction((owner: string) => {
    q.releaseInboxOf.run(owner);
    q.releaseOutboxOf.run(owner);
    q.dropEmptyLanes();
  });
  const resumeAccounts = db.transaction(() => {
    q.resumeAccounts.run();
    q.makeOutboxAvailable.run();
  });
  const recoverClaims = db.transaction(() => {
    q.expireInboxClaims.run();
    q.expireOutboxClaims.run();
  });
  // A queued reply that cannot be read (a damaged row) is given up with the reason, so the replies
  // behind it still go out. Reading takes no lock; only giving one up writes.
  const giveUpUnreadable = db.transaction((row: OutboxRecord, reason: string, now: number) => {
    q.insertFailed.run(row.id, row.lane, row.user_key, row.action, `unreadable: ${reason}`, now);
    q.deleteOutbox.run(row.id);
    q.takeFromOutboxLane.run(1, row.lane);
  });
  const outboxHead = (lane: string): OutboxRow | undefined => {
    for (;;) {
      const row = q.outboxHead.get(lane) as OutboxRecord | undefined;
      if (!row) return undefined;
      try {
        return toOutboxRow(row);
      } catch (err) {
        giveUpUnreadable.immediate(row, reasonOf(err), Date.now());
      }
    }
  };

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
    // A copy: the commit runs a turn later, and the caller may reuse its buffer meanwhile.
    addNotification: ({ body }, now) => addNotification({ body: Buffer.from(body), now }),
    // IMMEDIATE: these read before they write. A deferred transaction would fail at once with
    // "database is locked" if another connection (the webhook's) committed in between.
    expandNotifications: (maxEvents, expand, now) => resolved(() => expandNotifications.immediate(maxEvents, expand, now)),
    addToInbox: (events, now) => resolved(() => addToInbox(events, now)),
    inboxAfter: (afterId, limit) => resolved(() => (q.inboxAfter.all(afterId, limit) as InboxRecord[]).map(toInboxRow)),
    inboxEvent: (id) => resolved(() => parse<WebhookEvent>((q.inboxEvent.get(id) as { event: string } | undefined)?.event)),
    completeEvent: (id, outcome, now, owner) => completeEvent({ id, outcome, now, owner }),
    putProfile: (key, profile, lane, owner) => putProfile({ key, profile, lane, owner }),
    countAttempt: (id) => countAttempt(id),
    setAsideEvent: (id, reason, now, owner) => resolved(() => setAsideEvent.immediate(id, reason, now, owner)),
    claimInboxLanes: (owner, limit, leaseMs, now) => resolved(() => claimInbox.immediate(owner, limit, leaseMs, now)),
    laneEvents: (lane, limit) => resolved(() => (q.laneEvents.all(lane, limit) as InboxRecord[]).map(toInboxRow)),
    releaseInboxLane: (lane, owner, now, options = {}) => resolved(() => releaseInbox.immediate(lane, owner, now, options.requeue === true)),
    claimOutboxLanes: (owner, limit, leaseMs, now) => resolved(() => claimOutbox.immediate(owner, limit, leaseMs, now).map((c) => c.lane)),
    releaseOutboxLane: (lane, owner, now, availableAt) => resolved(() => releaseOutbox.immediate(lane, owner, now, availableAt)),
    renewClaims: (owner, leaseMs, now) => resolved(() => renewClaims.immediate(owner, leaseMs, now)),
    releaseClaims: (owner) => resolved(() => releaseClaims.immediate(owner)),
    recoverClaims: () => resolved(() => recoverClaims.immediate()),
    claimsOf: (owner) => resolved(() => q.claimsOf.get(owner, owner) as { inbox: number; outbox: number }),
    pauseAccount: (account, until, reason) => resolved(() => void q.pauseAccount.run(account, until, reason)),
    resumeAccount: (account) => resolved(() => void q.resumeAccount.run(account)),
    resumeAccounts: () => resolved(() => resumeAccounts.immediate()),
    getToken: (account) => resolved(() => (q.getToken.get(account) as StoredToken | undefined) ?? undefined),
    putToken: (account, token) => resolved(() => void q.putToken.run(account, token.token, token.expires_at, token.refreshed_at, token.origin)),
    pausedAccounts: (now) => resolved(() => new Map((q.pausedAccounts.all(now) as { account: string; until: number }[]).map((r) => [r.account, r.until]))),
    outboxLanes: () => resolved(() => (q.outboxLanes.all() as { lane: string }[]).map((r) => r.lane)),
    outboxHead: (lane) => resolved(() => outboxHead(lane)),
    outboxSent: (id, sent, now, owner) => outboxSent({ id, userKey: sent.userKey, mid: sent.mid, now, owner }),
    outboxRetry: (id, retry, now, owner) => resolved(() => outboxRetry.immediate(id, retry, now, owner)),
    outboxFail: (id, failure, now, owner) => resolved(() => outboxFail.immediate(id, failure, now, owner)),
    backlog: () => resolved(() => q.backlog.get() as Backlog),
    prune: (now) => resolved(() => {
      q.pruneDedup.run(now - DEDUP_RETENTION_MS);
      q.pruneSent.run(now - SENT_RETENTION_MS);
      q.dropEmptyLanes();
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
    addToInboxLane: db.prepare(
      'INSERT INTO inbox_lanes (lane, pending, since) VALUES (?, 1, ?) ON CONFLICT(lane) DO UPDATE SET pending = pending + 1, since = CASE WHEN pending = 0 THEN excluded.since ELSE since END',
    ),
    inboxLaneOf: db.prepare('SELECT lane, received_at FROM inbox WHERE id = ?'),
    takeFromInboxLane: db.prepare('UPDATE inbox_lanes SET pending = max(pending - 1, 0) WHERE lane = ? AND owner = ?'),
    freeInboxLanes: db.prepare('SELECT lane, owner FROM inbox_lanes WHERE pending > 0 AND (owner IS NULL OR lease_until < ?) ORDER BY since LIMIT ?'),
    takeInboxLane: db.prepare('UPDATE inbox_lanes SET owner = ?, lease_until = ? WHERE lane = ?'),
    laneEvents: db.prepare('SELECT id, lane, attempts, received_at FROM inbox WHERE lane = ? ORDER BY id LIMIT ?'),
    releaseEmptyInboxLane: db.prepare('UPDATE inbox_lanes SET owner = NULL, lease_until = 0 WHERE lane = ? AND owner = ? AND pending = 0'),
    requeueInboxLane: db.prepare('UPDATE inbox_lanes SET owner = NULL, lease_until = 0, since = ? WHERE lane = ? AND owner = ?'),
    dropEmptyInboxLane: db.prepare('DELETE FROM inbox_lanes WHERE lane = ? AND pending = 0 AND owner IS NULL'),
    addToOutboxLane: db.prepare(
      `INSERT INTO outbox_lanes (lane, owner, lease_until, pending, since) VALUES (?, ?, ?, 1, ?) ON CONFLICT(lane) DO UPDATE SET
         pending = pending + 1,
         since = CASE WHEN pending = 0 THEN excluded.since ELSE since END,
         owner = CASE WHEN owner IS NULL OR lease_until < excluded.since THEN excluded.owner ELSE owner END,
         lease_until = CASE WHEN owner IS NULL OR lease_until < excluded.since THEN excluded.lease_until ELSE lease_until END
       RETURNING owner`,
    ),
    holdsOutboxLane: db.prepare('SELECT 1 FROM outbox_lanes WHERE lane = ? AND owner = ?'),
    holdsInboxLane: db.prepare('SELECT 1 FROM inbox_lanes WHERE lane = ? AND owner = ?'),
    takeFromOutboxLane: db.prepare('UPDATE outbox_lanes SET pending = max(pending - ?, 0) WHERE lane = ?'),
    freeOutboxLanes: db.prepare('SELECT lane, owner FROM outbox_lanes WHERE pending > 0 AND available_at <= ? AND (owner IS NULL OR lease_until < ?) ORDER BY since LIMIT ?'),
    takeOutboxLane: db.prepare('UPDATE outbox_lanes SET owner = ?, lease_until = ? WHERE lane = ?'),
    releaseEmptyOutboxLane: db.prepare('UPDATE outbox_lanes SET owner = NULL, lease_until = 0 WHERE lane = ? AND owner = ? AND pending = 0'),
    parkOutboxLane: db.prepare('UPDATE outbox_lanes SET owner = NULL, lease_until = 0, available_at = ?, since = ? WHERE lane = ? AND owner = ?'),
    dropEmptyOutboxLane: db.prepare('DELETE FROM outbox_lanes WHERE lane = ? AND pending = 0 AND owner IS NULL'),
    renewInbox: db.prepare('UPDATE inbox_lanes SET lease_until = ? WHERE owner = ?'),
    renewOutbox: db.prepare('UPDATE outbox_lanes SET lease_until = ? WHERE owner = ?'),
    releaseInboxOf: db.prepare('UPDATE inbox_lanes SET owner = NULL, lease_until = 0 WHERE owner = ?'),
    releaseOutboxOf: db.prepare('UPDATE outbox_lanes SET owner = NULL, lease_until = 0 WHERE owner = ?'),
    expireInboxClaims: db.prepare('UPDATE inbox_lanes SET lease_until = 0 WHERE owner IS NOT NULL'),
    expireOutboxClaims: db.prepare('UPDATE outbox_lanes SET lease_until = 0 WHERE owner IS NOT NULL'),
    claimsOf: db.prepare('SELECT (SELECT count(*) FROM inbox_lanes WHERE owner = ?) AS inbox, (SELECT count(*) FROM outbox_lanes WHERE owner = ?) AS outbox'),
    dropEmptyLanes: () => {
      db.exec('DELETE FROM inbox_lanes WHERE pending = 0 AND owner IS NULL; DELETE FROM outbox_lanes WHERE pending = 0 AND owner IS NULL');
    },
    pauseAccount: db.prepare('INSERT INTO account_pauses (account, until, reason) VALUES (?, ?, ?) ON CONFLICT(account) DO UPDATE SET until = excluded.until, reason = excluded.reason'),
    resumeAccount: db.prepare('DELETE FROM account_pauses WHERE account = ?'),
    resumeAccounts: db.prepare('DELETE FROM account_pauses'),
    getToken: db.prepare('SELECT token, expires_at, refreshed_at, origin FROM account_tokens WHERE account = ?'),
    putToken: db.prepare(
      'INSERT INTO account_tokens (account, token, expires_at, refreshed_at, origin) VALUES (?, ?, ?, ?, ?) ON CONFLICT(account) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, origin = excluded.origin',
    ),
    makeOutboxAvailable: db.prepare('UPDATE outbox_lanes SET available_at = 0 WHERE available_at > 0'),
    pausedAccounts: db.prepare('SELECT account, until FROM account_pauses WHERE until > ?'),
    deleteInbox: db.prepare('DELETE FROM inbox WHERE id = ?'),
    insertNotification: db.prepare('INSERT INTO notifications (received_at, body) VALUES (?, ?)'),
    oldestNotification: db.prepare('SELECT id, received_at, body FROM notifications ORDER BY id LIMIT 1'),
    setAsideNotification: db.prepare(
      'INSERT OR REPLACE INTO unreadable_notifications (id, received_at, body, reason, failed_at) SELECT id, received_at, body, ?, ? FROM notifications WHERE id = ?',
    ),
    deleteNotification: db.prepare('DELETE FROM notifications WHERE id = ?'),
    inboxAfter: db.prepare('SELECT id, lane, attempts, received_at FROM inbox WHERE id > ? ORDER BY id LIMIT ?'),
    countAttempt: db.prepare('UPDATE inbox SET attempts = attempts + 1 WHERE id = ? RETURNING attempts'),
    setAsideEvent: db.prepare(
      'INSERT OR REPLACE INTO failed_events (id, lane, ts, event, attempts, reason, failed_at) SELECT id, lane, ts, event, attempts, ?, ? FROM inbox WHERE id = ?',
    ),
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
    backlog: db.prepare(
      'SELECT (SELECT count(*) FROM notifications) AS received, (SELECT count(*) FROM inbox) AS inbox, (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM failed_sends) AS failed, (SELECT count(*) FROM unreadable_notifications) AS unreadable, (SELECT count(*) FROM failed_events) AS failed_events',
    ),
    pruneDedup: db.prepare('DELETE FROM dedup WHERE seen_at < ?'),
    pruneSent: db.prepare('DELETE FROM sent_messages WHERE sent_at < ?'),
    ping: db.prepare('SELECT 1'),
  };
}

/** JSON text of an event; throws (rather than storing nothing) for what JSON cannot hold. */
function serialise(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (typeof json !== 'string') throw new TypeError('the event is not serialisable as JSON');
  return json;
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

function toInboxRow(row: InboxRecord): InboxRow {
  return { id: row.id, lane: row.lane, attempts: row.attempts, received_at: row.received_at ?? undefined };
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
