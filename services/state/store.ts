// What the bot remembers, behind one small interface so the in-memory store can be swapped for
// a durable or shared one without touching handlers. Users are keyed `<channel>:<sender id>`.
import type { WebhookEvent } from '../events/types.ts';
import type { OutgoingAction } from '../graph/send-api.ts';
import type { Locale } from '../i18n.ts';

export type ConversationStep = 'awaiting_order_number';

export interface CachedProfile {
  first_name?: string;
  locale?: string;
  fetched_at: number;
  /** The last fetch failed: retry after a short pause instead of on every message. */
  failed?: boolean;
}

export interface UserState {
  /** A language the user picked from the menu; wins over the profile locale. */
  locale?: Locale;
  step?: ConversationStep;
  profile?: CachedProfile;
  /** Who answers the thread: the bot, or people in the Page Inbox after a handover. */
  thread_owner?: 'bot' | 'human';
  last_inbound_at?: number;
}

export type MessageStatus = 'sent' | 'delivered' | 'read';

export interface SentMessage {
  mid: string;
  sent_at: number;
  status: MessageStatus;
  /** The user's current reaction, if any. */
  reaction?: string;
  /** The bot already thanked the user for reacting to this message. */
  thanked: boolean;
}

export interface StatusUpdate {
  mids?: readonly string[];
  /** Every message sent at or before this time (ms) is covered. */
  watermark?: number;
}

export interface StateStore {
  getUser(userKey: string): Promise<UserState>;
  putUser(userKey: string, state: UserState): Promise<void>;
  recordSent(userKey: string, mid: string, sentAt: number): Promise<void>;
  getSent(userKey: string, mid: string): Promise<SentMessage | undefined>;
  /** Moves statuses forward only (sent → delivered → read); returns how many changed. */
  updateStatus(userKey: string, update: StatusUpdate, status: MessageStatus): Promise<number>;
}

export function userKey(channel: string, senderId: string): string {
  return `${channel}:${senderId}`;
}

const RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };

/** True when `next` is further along than `current`. */
export function isStatusAdvance(current: MessageStatus, next: MessageStatus): boolean {
  return RANK[next] > RANK[current];
}

/** A verified webhook body as it arrived, stored before the 200 and expanded into events later. */
export interface NewNotification {
  body: Uint8Array;
}

/** Turns one stored body into its events (with keys and lanes); throws if it cannot be read. */
export type NotificationExpander = (body: Uint8Array) => NewInboxEvent[];

export interface ExpandResult {
  /** Notifications taken from the inbox (expanded, or set aside as unreadable). */
  notifications: number;
  /** Events stored in the inbox; the others were redeliveries. */
  stored: number;
  duplicates: number;
  /** Notifications that could not be expanded: id and reason, for the log. */
  unreadable: { id: number; reason: string }[];
}

/** An event waiting in the durable inbox. */
export interface InboxRow {
  id: number;
  lane: string;
}

export interface NewInboxEvent {
  /** Dedup key (see inbox/event-key.ts). */
  key: string;
  lane: string;
  timestamp: number;
  event: WebhookEvent;
}

/** A change to one of the bot's sent messages, decided by a handler (reactions). */
export interface SentUpdate {
  mid: string;
  /** The user's reaction now; null when they removed it. */
  reaction?: string | null;
  /** The bot thanked the user for reacting to this message (so it never does twice). */
  thanked?: true;
}

/** What handling one event produced: stored atomically with removing the event from the inbox. */
export interface EventOutcome {
  userKey: string | undefined;
  user: UserState | undefined;
  /** Applied in the same transaction, so a crash can neither lose nor repeat them. */
  sentUpdates: SentUpdate[];
  actions: OutgoingAction[];
  /** Sent in place of a reply that fails permanently. */
  apology: OutgoingAction | undefined;
}

export interface OutboxRow {
  id: number;
  /** Replies to one recipient are sent strictly in id order. */
  lane: string;
  user_key: string | undefined;
  event_id: number;
  action: OutgoingAction;
  apology: OutgoingAction | undefined;
  attempts: number;
  next_attempt_at: number;
  /**
   * When the notification this reply answers was stored by the webhook (epoch ms), for the reply
   * latency metric; absent for rows stored by a release that did not record it.
   */
  received_at?: number;
}

export interface Backlog {
  /** Notifications stored but not yet expanded into events. */
  received: number;
  inbox: number;
  outbox: number;
  failed: number;
}

/**
 * Everything the bot keeps: user state, the inbox of received events (with dedup keys) and the
 * outbox of replies. Implementations: memory (tests, throwaway runs) and SQLite (default).
 */
export interface BotStore extends StateStore {
  /** Stores one verified webhook body; resolves once it is durable (the webhook answers 200 after). */
  addNotification(notification: NewNotification, now: number): Promise<void>;
  /**
   * In one transaction: takes stored notifications oldest first until they held `maxEvents` events
   * (at least one notification), expands each with `expand` and stores its events as `addToInbox`
   * does. A body `expand` throws on is set aside (kept with the reason, never expanded again) and
   * reported, so one unreadable body cannot block the rest.
   */
  expandNotifications(maxEvents: number, expand: NotificationExpander, now: number): Promise<ExpandResult>;
  /** In one transaction: drops events whose key was seen before, stores the rest. Returns those stored. */
  addToInbox(events: readonly NewInboxEvent[], now: number): Promise<InboxRow[]>;
  /** Up to `limit` waiting events with an id above `afterId`, in id (arrival) order. */
  inboxAfter(afterId: number, limit: number): Promise<InboxRow[]>;
  inboxEvent(id: number): Promise<WebhookEvent | undefined>;
  /** In one transaction: removes the event, saves the user's state, queues the replies. */
  completeEvent(id: number, outcome: EventOutcome, now: number): Promise<OutboxRow[]>;
  /** The lanes with queued replies (for recovery at start-up, without loading the replies). */
  outboxLanes(): Promise<string[]>;
  outboxHead(lane: string): Promise<OutboxRow | undefined>;
  /** In one transaction: removes the reply and records the sent message id for status tracking. */
  outboxSent(id: number, sent: { userKey: string | undefined; mid: string | undefined }, now: number): Promise<void>;
  outboxRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  /**
   * Gives a reply up, recording the reason. `dropRest`: the later replies to the same event go too
   * (they would make no sense alone). `apologise`: the reply's apology takes its place at the head
   * of the lane. Returns how many later replies were dropped.
   */
  outboxFail(id: number, failure: { reason: string; dropRest: boolean; apologise: boolean }, now: number): Promise<number>;
  backlog(): Promise<Backlog>;
  /** Forgets dedup keys and message statuses older than the retention. */
  prune(now: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Meta redelivers for up to 36 hours; keys are kept longer than that. */
export const DEDUP_RETENTION_MS = 48 * 60 * 60 * 1000;
export const SENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
