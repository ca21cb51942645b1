// What the bot remembers, behind one small interface so the in-memory store can be swapped for
// a durable or shared one without touching handlers. Users are keyed `<channel>:<sender id>`.
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
  setReaction(userKey: string, mid: string, reaction: string | undefined): Promise<void>;
  /** Marks a sent message thanked; true only the first time, so thanks go out once per message. */
  claimThanks(userKey: string, mid: string): Promise<boolean>;
}

export function userKey(channel: string, senderId: string): string {
  return `${channel}:${senderId}`;
}

const RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };

/** True when `next` is further along than `current`. */
export function isStatusAdvance(current: MessageStatus, next: MessageStatus): boolean {
  return RANK[next] > RANK[current];
}
