// What the bot remembers, behind one small interface so the in-memory store can be swapped for
// a durable or shared one without touching handlers. Users are keyed per account:
// `<account>/<channel>:<sender id>` (see `userKey`).
import type { Channel, WebhookEvent } from '../events/types.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import type { TokenStore } from '../accounts/tokens.ts';
import type { Locale } from '../i18n.ts';

export type ConversationStep = 'awaiting_order_number';

export interface CachedProfile {
  first_name?: string;
  locale?: string;
  fetched_at: number;
  /** The last fetch failed: retry after a short pause instead of on every message. */
  failed?: boolean;
}

/**
 * A profile to look up once the event's replies are stored (services/profile-cache.ts): the
 * user's cached one is missing or old. `cached` is what the cache held, kept if the lookup fails.
 */
export interface ProfileLookup {
  userId: string;
  channel: Channel;
  /** The account the user wrote to: its token looks them up (PSIDs and IGSIDs are scoped to it). */
  account: string;
  cached: CachedProfile | undefined;
}

export interface UserState {
  /** A language the user picked from the menu; wins over the profile locale. */
  locale?: Locale;
  step?: ConversationStep;
  profile?: CachedProfile;
  /** Who answers the thread: the bot, or people in the Page Inbox after a handover. */
  thread_owner?: 'bot' | 'human';
  last_inbound_at?: number;
  /** Instagram stories (mentions of us, replies to ours) already thanked for, newest last, bounded. */
  thanked_stories?: string[];
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

/** A user's state the store read already (InboxRow.user), under its key: the handler uses it instead of reading. */
export interface PreloadedUser {
  key: string;
  state: UserState;
}

/**
 * What handling may read (`EventContext.store`). Handlers change state only through what they
 * return (`EventOutcome`), which the inbox stores in one transaction with marking the event handled.
 */
export interface StoreReads {
  getUser(userKey: string): Promise<UserState>;
  getSent(userKey: string, mid: string): Promise<SentMessage | undefined>;
}

export interface StateStore extends StoreReads {
  putUser(userKey: string, state: UserState): Promise<void>;
  recordSent(userKey: string, mid: string, sentAt: number): Promise<void>;
}

/**
 * A user's key: `<account>/<channel>:<sender id>`. PSIDs and IGSIDs are scoped to one Page or
 * Instagram account, so the account is part of the key and no two accounts' users can collide.
 */
export function userKey(account: string, channel: string, senderId: string): string {
  return `${account}/${channel}:${senderId}`;
}

/**
 * The lane a reply is sent in: the user's (so their replies go out in order), or for a reply to
 * someone without a user key (an opt-in's user_ref, a Facebook comment) one per recipient, so that
 * a private reply and the public reply to the same comment are sent in that order.
 */
export function replyLane(userKey: string | undefined, action: OutgoingAction): string {
  if (userKey) return userKey;
  if (action.type === 'comment_reply') return `recipient:comment:${action.comment_id}`;
  const { id, user_ref, comment_id } = action.recipient;
  return `recipient:${id ?? user_ref ?? (comment_id === undefined ? '?' : `comment:${comment_id}`)}`;
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

/**
 * Turns one stored body into its events (with keys and lanes); `receivedAt` is when the webhook
 * stored it (ms). Throws if the body cannot be read at all; an event that cannot be read (keyed)
 * is reported in `unreadable` and the others are still returned.
 */
export type NotificationExpander = (body: Uint8Array, receivedAt: number) => ExpandedNotification;

export interface ExpandedNotification {
  events: NewInboxEvent[];
  unreadable: UnreadableEvent[];
}

/** One event of a body that could not be read or stored. */
export interface UnreadableEvent {
  /** Its place among the body's events, from 0, in the order Meta sent them. */
  position: number;
  reason: string;
}

export interface ExpandResult {
  /** Notifications taken from the inbox (expanded, or set aside as unreadable). */
  notifications: number;
  /** Events stored in the inbox; the others were redeliveries (or set aside). */
  stored: number;
  duplicates: number;
  /**
   * Notifications set aside (kept with the reason, never expanded again), for the log. `events`:
   * the positions of the events that could not be read or stored, the others were; absent when
   * the whole body could not be read.
   */
  unreadable: { id: number; reason: string; events?: number[] }[];
  /**
   * With `ifFree`: another instance was expanding, so nothing was taken. It notifies when it is
   * done; the caller may claim lanes meanwhile and expand (waiting its turn) afterwards.
   */
  busy?: true;
  /** The lanes claimed with `ExpandOptions.claim`; absent when the store did not claim. */
  claimed?: ClaimedLane[];
}

export interface ExpandOptions {
  /** Do not wait while another instance is expanding (PostgreSQL); answer `busy` instead. */
  ifFree?: boolean;
  /**
   * Also claim up to `limit` inbox lanes for `owner`, in the same transaction (as
   * `claimInboxLanes` with `withEvents`), and answer them in `claimed`. A store may not (the
   * caller claims then): PostgreSQL does, saving the claim's round trip and commit.
   */
  claim?: ExpandClaim;
}

/** Lanes an expansion claims for `owner`: at most `limit`, each with its first `withEvents` events. */
export interface ExpandClaim {
  owner: string;
  limit: number;
  leaseMs: number;
  withEvents: number;
}

/** An event waiting in the durable inbox. */
export interface InboxRow {
  id: number;
  lane: string;
  /**
   * Handling attempts counted so far (see `countAttempt`): more than 0 means an earlier attempt
   * failed, or the bot stopped (or its thread died) while handling it.
   */
  attempts: number;
  /** When the webhook stored the notification it came in (ms; undefined for rows from older releases). */
  received_at?: number | undefined;
  /**
   * The stored event, when the store read it with the row (PostgreSQL does, saving a round trip);
   * absent otherwise, or when it could not be read: the caller reads it with `inboxEvent` then.
   */
  event?: WebhookEvent;
  /**
   * The state of the user whose lane this is (`{}`: none stored yet), when the store read it with
   * the claim (PostgreSQL does, for the first row of a lane an expansion filled and claimed),
   * saving the handler a read. Good for the row's first try only: nothing else writes that user
   * while the lane is held, and that try is the first handling since the claim.
   */
  user?: UserState;
}

export interface NewInboxEvent {
  /** Dedup key (see inbox/event-key.ts). */
  key: string;
  lane: string;
  timestamp: number;
  event: WebhookEvent;
  /** Its place among its body's events (see `UnreadableEvent`), to name it if it cannot be stored. */
  position?: number;
}

/** A change to one of the bot's sent messages, decided by a handler (reactions). */
export interface SentUpdate {
  mid: string;
  /** The user's reaction now; null when they removed it. */
  reaction?: string | null;
  /** The bot thanked the user for reacting to this message (so it never does twice). */
  thanked?: true;
}

/**
 * A delivery or a read, decided by a handler: the messages it covers (by mid, or sent at or before
 * the watermark) move forward to `status`, never back (sent → delivered → read).
 */
export interface StatusChange {
  update: StatusUpdate;
  status: MessageStatus;
}

/** What handling one event produced: stored atomically with removing the event from the inbox. */
export interface EventOutcome {
  userKey: string | undefined;
  user: UserState | undefined;
  /**
   * Changes to the user's sent messages (reactions; deliveries and reads), applied in the same
   * transaction, so a crash can neither lose nor repeat them. Only with a `userKey`.
   */
  sentUpdates: SentUpdate[];
  statusUpdates: StatusChange[];
  actions: OutgoingAction[];
  /** Sent in place of a reply that fails permanently. */
  apology: OutgoingAction | undefined;
  /** The user's profile, to look up after this outcome is stored (never before the replies). Only with a `userKey`. */
  profileLookup?: ProfileLookup;
}

/** An outcome with nothing to store: no user, no changes, no replies (a fresh one each time). */
export function emptyOutcome(): EventOutcome {
  return { userKey: undefined, user: undefined, sentUpdates: [], statusUpdates: [], actions: [], apology: undefined };
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
  /** Replies given up (failed_sends). */
  failed: number;
  /** Notifications set aside because they (or some of their events) could not be read or stored. */
  unreadable: number;
  /** Events set aside because handling them kept failing. */
  failed_events: number;
}

/** Most set-aside notifications and events a store that keeps them in memory holds (the counts go on). */
export const SET_ASIDE_KEPT = 1000;

/** The reason stored with a body some of whose events could not be read or stored. */
export function unreadableEventsReason(unreadable: readonly UnreadableEvent[]): string {
  return [...unreadable].sort((a, b) => a.position - b.position).map((u) => `event ${u.position + 1}: ${u.reason}`).join('; ').slice(0, 2000);
}

/** An error as a short reason to store with what was set aside (never a stack). */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 500);
}

/**
 * Everything the bot keeps: user state, the inbox of received events (with dedup keys) and the
 * outbox of replies. Implementations: memory (tests, throwaway runs) and SQLite (default). The
 * contract tests in test/reliability/notifications.test.ts and set-aside.test.ts run for each store;
 * a new one joins their `stores` lists.
 */
export interface BotStore extends StateStore, TokenStore {
  /** Stores one verified webhook body; resolves once it is durable (the webhook answers 200 after). */
  addNotification(notification: NewNotification, now: number): Promise<void>;
  /**
   * In one transaction: takes stored notifications oldest first until they held `maxEvents` events
   * (at least one notification), expands each with `expand` (given the time it was received) and
   * stores its events as `addToInbox` does. Each notification is isolated: whatever goes wrong
   * with one (`expand` throws, an event cannot be keyed, serialised or stored) sets that one aside
   * in `unreadable_notifications`, with the reason and a copy of the body, never expanded again,
   * and the others go on. When only some events fail, the others are stored and the reason names
   * the failed ones by position. Rejects only when the store itself fails (nothing is taken then).
   */
  expandNotifications(maxEvents: number, expand: NotificationExpander, now: number, options?: ExpandOptions): Promise<ExpandResult>;
  /** In one transaction: drops events whose key was seen before, stores the rest. Returns those stored. */
  addToInbox(events: readonly NewInboxEvent[], now: number): Promise<InboxRow[]>;
  /** Up to `limit` waiting events with an id above `afterId`, in id (arrival) order. */
  inboxAfter(afterId: number, limit: number): Promise<InboxRow[]>;
  inboxEvent(id: number): Promise<WebhookEvent | undefined>;
  /**
   * In one transaction, if `owner` still holds the event's lane (see `claimInboxLanes`): removes
   * the event, saves the user's state, queues the replies. Their outbox lane is taken by `owner`
   * when nobody holds it, so the instance that handled an event sends its replies without another
   * claim; `held` lists the reply lanes `owner` holds afterwards (another live instance may hold
   * one, sending this user's earlier replies: it sends these too). Resolves `LOST` (and changes
   * nothing) when the event's lane was lost meanwhile.
   */
  completeEvent(id: number, outcome: EventOutcome, now: number, owner: string): Promise<Completion | Lost>;
  /**
   * Caches the user's profile (looked up after their event was completed), if `owner` still holds
   * the user's inbox `lane`; only `profile` changes in the user's state. `LOST` (nothing changes)
   * when the lane was lost meanwhile.
   */
  putProfile(userKey: string, profile: CachedProfile, lane: string, owner: string): Promise<void | Lost>;
  /**
   * Records, durably, that handling the event starts once more (after a failure, or when it was
   * found in the inbox at start-up), so an event that keeps killing the bot is still counted.
   * Returns the event's attempts including this one (0 when the event is no longer there).
   */
  countAttempt(id: number): Promise<number>;
  /**
   * In one transaction, if `owner` still holds the lane: moves the event from the inbox to
   * `failed_events` with the reason (the stored event is kept as it is, even if it cannot be read).
   * Nothing happens if it is gone; `LOST` when the claim was lost.
   */
  setAsideEvent(id: number, reason: string, now: number, owner: string): Promise<void | Lost>;

  // --- Claims: how several instances share the work (see ARCHITECTURE.md "Several instances") ---
  /**
   * Takes up to `limit` inbox lanes with events waiting that nobody holds (or whose holder's lease
   * ran out), oldest waiting first, for `owner` until `now + leaseMs`. `takenOver`: the lane's
   * previous holder never released it (it died, or this store was reopened): its head event may
   * have been in flight. Instances never get the same lane at once.
   */
  claimInboxLanes(owner: string, limit: number, leaseMs: number, now: number, options?: ClaimOptions): Promise<ClaimedLane[]>;
  /** The lane's next `limit` events in id (arrival) order. */
  laneEvents(lane: string, limit: number): Promise<InboxRow[]>;
  /**
   * Gives the lane back when no event waits in it (`released`). `requeue`: give it back even with
   * events waiting, to the back of the line (fairness between users; another instance may take it).
   * `busy` when events arrived meanwhile (the owner keeps the lane and goes on); `LOST` when the
   * owner does not hold it (any more): it must leave the lane alone.
   */
  releaseInboxLane(lane: string, owner: string, now: number, options?: { requeue?: boolean }): Promise<Release>;
  /** Like `claimInboxLanes`, for reply lanes whose next reply is due (`available_at <= now`). */
  claimOutboxLanes(owner: string, limit: number, leaseMs: number, now: number): Promise<string[]>;
  /**
   * Gives the reply lane back: when it is empty (`released`), or, with `availableAt`, even with
   * replies waiting, claimable again from that time (a retry's backoff, a paused account). `busy`
   * when replies arrived meanwhile (without `availableAt`); `LOST` when the owner does not hold it.
   */
  releaseOutboxLane(lane: string, owner: string, now: number, availableAt?: number): Promise<Release>;
  /** Extends every lease `owner` holds to `now + leaseMs`; returns how many lanes it holds. */
  renewClaims(owner: string, leaseMs: number, now: number): Promise<ClaimCounts>;
  /** Gives back every lane `owner` holds (a graceful stop), so another instance goes on at once. */
  releaseClaims(owner: string): Promise<void>;
  /**
   * At start-up, for stores that only one bot uses at a time (memory, SQLite): every claim left by
   * an earlier run is expired, so its lanes are taken over at once. PostgreSQL leaves other
   * instances' claims alone (they expire by themselves).
   */
  recoverClaims(now: number): Promise<void>;
  /** The lanes `owner` holds (for /healthz). */
  claimsOf(owner: string): Promise<ClaimCounts>;

  /** The lane's next reply. One that cannot be read is given up (a failed send with the reason) and the next one returned. */
  outboxHead(lane: string): Promise<OutboxRow | undefined>;
  /**
   * In one transaction, if `owner` holds the lane: removes the reply and records the sent message
   * id for status tracking. `LOST` when the claim was lost (another instance may send it again).
   * With `releaseIfEmpty`, a store may also give the lane back when this was its last reply, as
   * `releaseOutboxLane` would, and answer `released` (PostgreSQL does: two round trips fewer).
   */
  outboxSent(id: number, sent: { userKey: string | undefined; mid: string | undefined }, now: number, owner: string, options?: { releaseIfEmpty?: boolean }): Promise<void | Lost | 'released'>;
  /** Schedules the reply's next attempt and gives its lane back until then (fenced like outboxSent). */
  outboxRetry(id: number, retry: { attempts: number; nextAttemptAt: number; error: string }, now: number, owner: string): Promise<void | Lost>;
  /**
   * Gives a reply up, recording the reason. `dropRest`: the later replies to the same event go too
   * (they would make no sense alone). `apologise`: the reply's apology takes its place at the head
   * of the lane. Returns how many later replies were dropped (fenced like outboxSent).
   */
  outboxFail(id: number, failure: { reason: string; dropRest: boolean; apologise: boolean }, now: number, owner: string): Promise<number | Lost>;
  /** The lanes with queued replies (diagnostics and tests). */
  outboxLanes(): Promise<string[]>;

  /** Pauses sending for an account until `until` (an invalid token), for every instance. */
  pauseAccount(account: string, until: number, reason: string): Promise<void>;
  /** Lifts the pause (a send with the account's token worked again). */
  resumeAccount(account: string): Promise<void>;
  /**
   * Lifts every pause (a start: the operator replaced a token and restarted), and makes every
   * reply lane claimable now; the sender puts off again the replies whose retry is not yet due.
   */
  resumeAccounts(): Promise<void>;
  /** The accounts paused at `now`, with the time each pause ends. */
  pausedAccounts(now: number): Promise<Map<string, number>>;

  backlog(): Promise<Backlog>;
  /** Forgets dedup keys and message statuses older than the retention. */
  prune(now: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What a fenced write resolves when the caller's claim on the lane was lost (it must drop the lane). */
export const LOST = 'lost' as const;
export type Lost = typeof LOST;

/** How giving a lane back went (see releaseInboxLane). */
export type Release = 'released' | 'busy' | Lost;

/** What completing an event queued, and which of its reply lanes the completing owner holds. */
export interface Completion {
  replies: OutboxRow[];
  held: string[];
  /**
   * Of `replies`, those known to be the next of their lane (held by the owner, nothing queued
   * before them), so the sender need not read the lane's head. A store may leave it out.
   */
  heads?: OutboxRow[];
}

export interface ClaimedLane {
  lane: string;
  /** The previous holder never released it: its head event may have been in flight. */
  takenOver: boolean;
  /**
   * With `ClaimOptions.withEvents`: the lane's first events, as `laneEvents` reads them, when the
   * store read them with the claim (PostgreSQL does); absent otherwise (the caller reads them).
   */
  rows?: InboxRow[];
}

export interface ClaimOptions {
  /** Read this many of each claimed lane's first events with the claim, if the store can (see `ClaimedLane.rows`). */
  withEvents?: number;
}

export interface ClaimCounts {
  inbox: number;
  outbox: number;
}

/** Lanes are held this long after each renewal; a dead instance's lanes are free again after it. */
export const LEASE_MS = 10_000;

/** The account a reply is sent with when it names none (a reply stored by a single-Page release). */
export const DEFAULT_ACCOUNT = '';

/** Meta redelivers for up to 36 hours; keys are kept longer than that. */
export const DEDUP_RETENTION_MS = 48 * 60 * 60 * 1000;
export const SENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
