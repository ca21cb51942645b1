// The in-memory BotStore: for tests, the emulator and throwaway runs (`DATABASE_URL=memory:`).
// Same semantics as the SQLite store, nothing survives a restart.
import type { WebhookEvent } from '../events/types.ts';
import type { BotStore, ExpandResult, InboxRow, MessageStatus, NewInboxEvent, OutboxRow, SentMessage, StatusUpdate, UserState } from './store.ts';
import { DEDUP_RETENTION_MS, SENT_RETENTION_MS, isStatusAdvance } from './store.ts';

interface InboxEntry extends InboxRow {
  timestamp: number;
  event: WebhookEvent;
  /** When the webhook stored the notification (reply latency). */
  received_at: number;
}

export function createMemoryStore(): BotStore {
  const users = new Map<string, UserState>();
  const sent = new Map<string, Map<string, SentMessage>>();
  const seen = new Map<string, number>();
  const notifications = new Map<number, { body: Uint8Array; received_at: number }>();
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
  const addToInbox = (events: readonly NewInboxEvent[], now: number, receivedAt = now): InboxRow[] => {
    const stored: InboxRow[] = [];
    for (const e of events) {
      if (seen.has(e.key)) continue;
      seen.set(e.key, now);
      const row = { id: nextInboxId++, lane: e.lane, timestamp: e.timestamp, event: structuredClone(e.event), received_at: receivedAt };
      inbox.set(row.id, row);
      stored.push({ id: row.id, lane: row.lane });
    }
    return stored;
  };

  return {
    getUser: (key) => resolved(structuredClone(users.get(key) ?? {})),
    putUser: (key, state) => resolved(void users.set(key, structuredClone(state))),
    recordSent: (key, mid, at) => resolved(recordSent(key, mid, at)),
    getSent: (key, mid) => resolved(clone(sent.get(key)?.get(mid))),
    updateStatus: (key, update, status) => resolved(advance(sentOf(key), update, status)),

    addNotification({ body }, now) {
      notifications.set(nextNotificationId++, { body: Uint8Array.prototype.slice.call(body), received_at: now });
      return resolved(undefined);
    },
    expandNotifications(maxEvents, expand, now) {
      const result: ExpandResult = { notifications: 0, stored: 0, duplicates: 0, unreadable: [] };
      for (const [id, { body, received_at }] of notifications) {
        if (result.notifications > 0 && result.stored + result.duplicates >= maxEvents) break;
        notifications.delete(id);
        result.notifications += 1;
        let events: NewInboxEvent[];
        try {
          events = expand(body);
        } catch (err) {
          // Reported, not kept: nothing in this store outlives the process anyway.
          result.unreadable.push({ id, reason: err instanceof Error ? err.message : String(err) });
          continue;
        }
        const stored = addToInbox(events, now, received_at).length;
        result.stored += stored;
        result.duplicates += events.length - stored;
      }
      return resolved(result);
    },
    addToInbox: (events, now) => resolved(addToInbox(events, now)),
    inboxAfter(afterId, limit) {
      const rows: InboxRow[] = [];
      // Map order is insertion order, which is id order.
      for (const { id, lane } of inbox.values()) {
        if (rows.length >= limit) break;
        if (id > afterId) rows.push({ id, lane });
      }
      return resolved(rows);
    },
    inboxEvent: (id) => resolved(clone(inbox.get(id)?.event)),
    completeEvent(id, outcome, now) {
      const receivedAt = inbox.get(id)?.received_at;
      inbox.delete(id);
      if (outcome.userKey && outcome.user) users.set(outcome.userKey, structuredClone(outcome.user));
      for (const update of outcome.sentUpdates) {
        const message = outcome.userKey ? sent.get(outcome.userKey)?.get(update.mid) : undefined;
        if (!message) continue;
        if (update.reaction !== undefined) message.reaction = update.reaction ?? undefined;
        if (update.thanked) message.thanked = true;
      }
      const rows = outcome.actions.map((action) => {
        const row: OutboxRow = {
          id: nextOutboxId++,
          lane: outcome.userKey ?? `recipient:${action.recipient.id ?? action.recipient.user_ref ?? '?'}`,
          user_key: outcome.userKey,
          event_id: id,
          action: structuredClone(action),
          apology: clone(outcome.apology),
          attempts: 0,
          next_attempt_at: now,
          ...(receivedAt === undefined ? {} : { received_at: receivedAt }),
        };
        outbox.set(row.id, row);
        const ids = outboxLanes.get(row.lane) ?? new Set<number>();
        outboxLanes.set(row.lane, ids.add(row.id));
        return structuredClone(row);
      });
      return resolved(rows);
    },
    outboxLanes: () => resolved([...outboxLanes.keys()]),
    outboxHead(lane) {
      const first = outboxLanes.get(lane)?.values().next();
      return resolved(first && !first.done ? clone(outbox.get(first.value)) : undefined);
    },
    outboxSent(id, { userKey, mid }, now) {
      const row = outbox.get(id);
      if (row) removeOutbox(row);
      if (userKey && mid) recordSent(userKey, mid, now);
      return resolved(undefined);
    },
    outboxRetry(id, attempts, nextAttemptAt) {
      const row = outbox.get(id);
      if (row) Object.assign(row, { attempts, next_attempt_at: nextAttemptAt });
      return resolved(undefined);
    },
    outboxFail(id, failure) {
      const row = outbox.get(id);
      if (!row) return resolved(0);
      let dropped = 0;
      if (failure.dropRest) {
        for (const otherId of [...(outboxLanes.get(row.lane) ?? [])]) {
          const other = outbox.get(otherId);
          if (other && other.id !== id && other.event_id === row.event_id) {
            removeOutbox(other);
            dropped += 1;
          }
        }
      }
      failed += 1 + dropped;
      if (failure.apologise && row.apology) Object.assign(row, { action: row.apology, apology: undefined, attempts: 0 });
      else removeOutbox(row);
      return resolved(dropped);
    },
    backlog: () => resolved({ received: notifications.size, inbox: inbox.size, outbox: outbox.size, failed }),
    prune(now) {
      for (const [key, at] of seen) if (at < now - DEDUP_RETENTION_MS) seen.delete(key);
      for (const log of sent.values()) for (const [mid, m] of log) if (m.sent_at < now - SENT_RETENTION_MS) log.delete(mid);
      return resolved(undefined);
    },
    ping: () => resolved(undefined),
    close: () => resolved(undefined),
  };
}

function advance(log: Map<string, SentMessage>, update: StatusUpdate, status: MessageStatus): number {
  const listed = new Set(update.mids ?? []);
  let changed = 0;
  for (const message of log.values()) {
    const covered = listed.has(message.mid) || (update.watermark !== undefined && message.sent_at <= update.watermark);
    if (covered && isStatusAdvance(message.status, status)) {
      message.status = status;
      changed += 1;
    }
  }
  return changed;
}

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
