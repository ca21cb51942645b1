// The in-memory BotStore: for tests, the emulator and throwaway runs (`DATABASE_URL=memory:`).
// Same semantics as the SQLite store, nothing survives a restart.
import type { WebhookEvent } from '../events/types.ts';
import type { StoredToken } from '../accounts/tokens.ts';
import { createLaneTable } from './lane-table.ts';
import type { BotStore, ExpandedNotification, ExpandResult, InboxRow, MessageStatus, NewInboxEvent, OutboxRow, SentMessage, StatusUpdate, UnreadableEvent, UserState } from './store.ts';
import { DEDUP_RETENTION_MS, LOST, SENT_RETENTION_MS, SET_ASIDE_KEPT, isStatusAdvance, reasonOf, replyLane, unreadableEventsReason } from './store.ts';

interface InboxEntry extends InboxRow {
  timestamp: number;
  event: WebhookEvent;
}

interface StoredNotification {
  receivedAt: number;
  body: Uint8Array;
}

/** What was set aside, kept for a person to look at (the most recent SET_ASIDE_KEPT), and counted. */
interface SetAside<T> {
  kept: Map<number, T & { reason: string; failed_at: number }>;
  count: number;
}

export function createMemoryStore(): BotStore {
  const users = new Map<string, UserState>();
  const sent = new Map<string, Map<string, SentMessage>>();
  const seen = new Map<string, number>();
  const notifications = new Map<number, StoredNotification>();
  const unreadable: SetAside<StoredNotification> = { kept: new Map(), count: 0 };
  const failedEvents: SetAside<InboxEntry> = { kept: new Map(), count: 0 };
  let nextNotificationId = 1;
  const inbox = new Map<number, InboxEntry>();
  const outbox = new Map<number, OutboxRow>();
  // Per-lane ids in insertion (= id) order, so the head of a lane is found without a scan.
  const outboxLanes = new Map<string, Set<number>>();
  const removeOutbox = (row: OutboxRow): void => {
    outbox.delete(row.id);
    const ids = outboxLanes.get(row.lane);
    ids?.delete(row.id);
    if (ids?.size === 0) outboxLanes.delete(row.lane);
  };
  const inboxLanes = createLaneTable();
  const replyLanes = createLaneTable();
  const pauses = new Map<string, number>();
  const tokens = new Map<string, StoredToken>();
  let failed = 0;
  let nextInboxId = 1;
  let nextOutboxId = 1;
  const sentOf = (key: string): Map<string, SentMessage> => {
    let log = sent.get(key);
    if (!log) sent.set(key, (log = new Map<string, SentMessage>()));
    return log;
  };
  const recordSent = (key: string, mid: string, at: number): void => {
    sentOf(key).set(mid, { mid, sent_at: at, status: 'sent', thanked: false });
  };
  const resolved = <T>(value: T): Promise<T> => Promise.resolve(value);
  const addToInbox = (events: readonly NewInboxEvent[], now: number): InboxRow[] => {
    // Copies first: one that cannot be made fails the whole call before anything is stored.
    const copies = events.map((e) => structuredClone(e.event));
    const stored: InboxRow[] = [];
    events.forEach((e, i) => {
      if (seen.has(e.key)) return;
      seen.set(e.key, now);
      stored.push(insert(e, copies[i] as WebhookEvent, now, now));
    });
    return stored;
  };
  const insert = (e: NewInboxEvent, event: WebhookEvent, now: number, receivedAt?: number): InboxRow => {
    const row: InboxEntry = { id: nextInboxId++, lane: e.lane, timestamp: e.timestamp, event, attempts: 0, received_at: receivedAt };
    inbox.set(row.id, row);
    inboxLanes.add(e.lane, 1, now);
    return { id: row.id, lane: row.lane, attempts: 0, received_at: receivedAt };
  };
  /** Stores what can be stored of one body's events; returns the counts and the events that could not be. */
  const storeExpanded = (expanded: ExpandedNotification, now: number, receivedAt: number) => {
    const failed: UnreadableEvent[] = [...expanded.unreadable];
    let stored = 0;
    let duplicates = 0;
    expanded.events.forEach((e, i) => {
      let copy: WebhookEvent;
      try {
        copy = structuredClone(e.event);
      } catch (err) {
        failed.push({ position: e.position ?? i, reason: `could not be stored: ${reasonOf(err)}` });
        return;
      }
      if (seen.has(e.key)) duplicates += 1;
      else {
        seen.set(e.key, now);
        insert(e, copy, now, receivedAt);
        stored += 1;
      }
    });
    return { stored, duplicates, failed };
  };

  return {
    getUser: (key) => resolved(structuredClone(users.get(key) ?? {})),
    putUser: (key, state) => resolved(void users.set(key, structuredClone(state))),
    recordSent: (key, mid, at) => resolved(recordSent(key, mid, at)),
    getSent: (key, mid) => resolved(clone(sent.get(key)?.get(mid))),

    addNotification({ body }, now) {
      notifications.set(nextNotificationId++, { receivedAt: now, body: Uint8Array.prototype.slice.call(body) });
      return resolved(undefined);
    },
    expandNotifications(maxEvents, expand, now) {
      const result: ExpandResult = { notifications: 0, stored: 0, duplicates: 0, unreadable: [] };
      for (const [id, notification] of notifications) {
        if (result.notifications > 0 && (result.stored + result.duplicates >= maxEvents || result.notifications >= maxEvents)) break;
        notifications.delete(id);
        result.notifications += 1;
        let outcome: ReturnType<typeof storeExpanded>;
        try {
          outcome = storeExpanded(expand(notification.body, notification.receivedAt), now, notification.receivedAt);
        } catch (err) {
          const reason = reasonOf(err);
          keep(unreadable, id, { ...notification, reason, failed_at: now });
          result.unreadable.push({ id, reason });
          continue;
        }
        result.stored += outcome.stored;
        result.duplicates += outcome.duplicates;
        if (outcome.failed.length > 0) {
          const reason = unreadableEventsReason(outcome.failed);
          keep(unreadable, id, { ...notification, reason, failed_at: now });
          result.unreadable.push({ id, reason, events: outcome.failed.map((f) => f.position).sort((a, b) => a - b) });
        }
      }
      return resolved(result);
    },
    addToInbox: (events, now) => resolved(addToInbox(events, now)),
    inboxAfter(afterId, limit) {
      const rows: InboxRow[] = [];
      // Map order is insertion order, which is id order.
      for (const { id, lane, attempts, received_at } of inbox.values()) {
        if (rows.length >= limit) break;
        if (id > afterId) rows.push({ id, lane, attempts, received_at });
      }
      return resolved(rows);
    },
    inboxEvent: (id) => resolved(clone(inbox.get(id)?.event)),
    completeEvent(id, outcome, now, owner) {
      // An event that is gone was completed (or set aside) by whoever held its lane: LOST.
      const entry = inbox.get(id);
      if (!entry || !inboxLanes.holds(entry.lane, owner)) return resolved(LOST);
      // Copies first: one that cannot be made (a state that cannot be cloned) changes nothing.
      const user = outcome.userKey && outcome.user ? structuredClone(outcome.user) : undefined;
      const actions = outcome.actions.map((action) => structuredClone(action));
      const apologyCopy = clone(outcome.apology);
      inbox.delete(id);
      inboxLanes.remove(entry.lane);
      if (outcome.userKey && user) users.set(outcome.userKey, user);
      const sentLog = outcome.userKey ? sent.get(outcome.userKey) : undefined;
      if (sentLog) {
        for (const update of outcome.sentUpdates) {
          const message = sentLog.get(update.mid);
          if (!message) continue;
          if (update.reaction !== undefined) message.reaction = update.reaction ?? undefined;
          if (update.thanked) message.thanked = true;
        }
        for (const { update, status } of outcome.statusUpdates) advance(sentLog, update, status);
      }
      const receivedAt = entry?.received_at;
      const rows = actions.map((action) => {
        const row: OutboxRow = {
          id: nextOutboxId++,
          lane: replyLane(outcome.userKey, action),
          user_key: outcome.userKey,
          event_id: id,
          action,
          apology: clone(apologyCopy),
          attempts: 0,
          next_attempt_at: now,
          ...(receivedAt === undefined ? {} : { received_at: receivedAt }),
        };
        outbox.set(row.id, row);
        const ids = outboxLanes.get(row.lane) ?? new Set<number>();
        outboxLanes.set(row.lane, ids.add(row.id));
        replyLanes.add(row.lane, 1, now, owner);
        return structuredClone(row);
      });
      return resolved({ replies: rows, held: [...new Set(rows.map((r) => r.lane))].filter((lane) => replyLanes.holds(lane, owner)) });
    },
    putProfile(key, profile, lane, owner) {
      if (!inboxLanes.holds(lane, owner)) return resolved(LOST);
      users.set(key, { ...(users.get(key) ?? {}), profile: structuredClone(profile) });
      return resolved(undefined);
    },
    countAttempt(id) {
      const row = inbox.get(id);
      if (!row) return resolved(0);
      row.attempts += 1;
      return resolved(row.attempts);
    },
    setAsideEvent(id, reason, now, owner) {
      const row = inbox.get(id);
      if (!row) return resolved(undefined);
      if (!inboxLanes.holds(row.lane, owner)) return resolved(LOST);
      inbox.delete(id);
      inboxLanes.remove(row.lane);
      keep(failedEvents, id, { ...row, reason, failed_at: now });
      return resolved(undefined);
    },
    claimInboxLanes: (owner, limit, leaseMs, now) => resolved(inboxLanes.claim(owner, limit, leaseMs, now)),
    laneEvents(lane, limit) {
      const rows: InboxRow[] = [];
      for (const { id, lane: l, attempts, received_at } of inbox.values()) {
        if (rows.length >= limit) break;
        if (l === lane) rows.push({ id, lane, attempts, received_at });
      }
      return resolved(rows);
    },
    releaseInboxLane: (lane, owner, now, options = {}) => resolved(inboxLanes.release(lane, owner, now, options)),
    claimOutboxLanes: (owner, limit, leaseMs, now) => resolved(replyLanes.claim(owner, limit, leaseMs, now).map((c) => c.lane)),
    releaseOutboxLane: (lane, owner, now, availableAt) => resolved(replyLanes.release(lane, owner, now, availableAt === undefined ? {} : { availableAt })),
    renewClaims: (owner, leaseMs, now) => resolved({ inbox: inboxLanes.renew(owner, leaseMs, now), outbox: replyLanes.renew(owner, leaseMs, now) }),
    releaseClaims(owner) {
      inboxLanes.releaseAll(owner);
      replyLanes.releaseAll(owner);
      return resolved(undefined);
    },
    recoverClaims() {
      inboxLanes.expireAll();
      replyLanes.expireAll();
      return resolved(undefined);
    },
    claimsOf: (owner) => resolved({ inbox: inboxLanes.countOf(owner), outbox: replyLanes.countOf(owner) }),
    pauseAccount(account, until) {
      pauses.set(account, until);
      return resolved(undefined);
    },
    resumeAccount(account) {
      pauses.delete(account);
      return resolved(undefined);
    },
    resumeAccounts() {
      pauses.clear();
      replyLanes.makeAvailable();
      return resolved(undefined);
    },
    getToken: (account) => resolved(clone(tokens.get(account))),
    putToken(account, token) {
      tokens.set(account, { ...token });
      return resolved(undefined);
    },
    pausedAccounts: (now) => resolved(new Map([...pauses].filter(([, until]) => until > now))),
    outboxLanes: () => resolved([...outboxLanes.keys()]),
    outboxHead(lane) {
      const first = outboxLanes.get(lane)?.values().next();
      return resolved(first && !first.done ? clone(outbox.get(first.value)) : undefined);
    },
    outboxSent(id, { userKey, mid }, now, owner) {
      const row = outbox.get(id);
      if (row && !replyLanes.holds(row.lane, owner)) return resolved(LOST);
      if (row) {
        removeOutbox(row);
        replyLanes.remove(row.lane);
      }
      if (userKey && mid) recordSent(userKey, mid, now);
      return resolved(undefined);
    },
    outboxRetry(id, { attempts, nextAttemptAt }, now, owner) {
      const row = outbox.get(id);
      if (!row) return resolved(undefined);
      if (!replyLanes.holds(row.lane, owner)) return resolved(LOST);
      Object.assign(row, { attempts, next_attempt_at: nextAttemptAt });
      replyLanes.release(row.lane, owner, now, { availableAt: nextAttemptAt });
      return resolved(undefined);
    },
    outboxFail(id, failure, _now, owner) {
      const row = outbox.get(id);
      if (!row) return resolved(0);
      if (!replyLanes.holds(row.lane, owner)) return resolved(LOST);
      let dropped = 0;
      if (failure.dropRest) {
        for (const otherId of [...(outboxLanes.get(row.lane) ?? [])]) {
          const other = outbox.get(otherId);
          if (other && other.id !== id && other.event_id === row.event_id) {
            removeOutbox(other);
            replyLanes.remove(other.lane);
            dropped += 1;
          }
        }
      }
      failed += 1 + dropped;
      if (failure.apologise && row.apology) Object.assign(row, { action: row.apology, apology: undefined, attempts: 0 });
      else {
        removeOutbox(row);
        replyLanes.remove(row.lane);
      }
      return resolved(dropped);
    },
    backlog: () => resolved({ received: notifications.size, inbox: inbox.size, outbox: outbox.size, failed, unreadable: unreadable.count, failed_events: failedEvents.count }),
    prune(now) {
      for (const [key, at] of seen) if (at < now - DEDUP_RETENTION_MS) seen.delete(key);
      for (const log of sent.values()) for (const [mid, m] of log) if (m.sent_at < now - SENT_RETENTION_MS) log.delete(mid);
      return resolved(undefined);
    },
    ping: () => resolved(undefined),
    close: () => resolved(undefined),
  };
}

function keep<T>(aside: SetAside<T>, id: number, entry: T & { reason: string; failed_at: number }): void {
  aside.count += 1;
  aside.kept.set(id, entry);
  if (aside.kept.size > SET_ASIDE_KEPT) aside.kept.delete(aside.kept.keys().next().value as number);
}

/** Moves the covered messages forward to `status`, never back. */
function advance(log: Map<string, SentMessage>, update: StatusUpdate, status: MessageStatus): void {
  const listed = new Set(update.mids ?? []);
  for (const message of log.values()) {
    const covered = listed.has(message.mid) || (update.watermark !== undefined && message.sent_at <= update.watermark);
    if (covered && isStatusAdvance(message.status, status)) message.status = status;
  }
}

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
