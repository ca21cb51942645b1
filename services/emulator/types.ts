// The emulator's own records: simulated users, what the page is shown, and what the inspector
// lists. Notification and Send API bodies inside them keep Meta's shapes untouched.
import type { AccountApi } from '../accounts/types.ts';
import type { Channel } from '../events/types.ts';
import type { PostsOutput } from './posts.ts';

/** One simulated Messenger or Instagram user: one per browser tab. */
export interface SimUser {
  /** PSID (Messenger) or IGSID (Instagram), scoped to our Page / IG account like Meta's. */
  id: string;
  channel: Channel;
  /** The key of the account the user talks to (services/emulator/accounts.ts). */
  account: string;
  /** The id the user writes to, as Meta puts it in `entry.id` and `recipient.id`: a Page or Instagram account id. */
  account_id: string;
  first_name: string;
  last_name: string;
  /** Instagram handle, derived from the name. */
  username: string;
  /** Messenger profile locale (Instagram profiles have none; the bot never sees it there). */
  locale: string;
  /** Who owns the thread under the handover protocol: our app, or the Page Inbox (a person). */
  thread_owner: 'app' | 'inbox';
  created_at: number;
  last_active_at: number;
}

/** The account a record concerns, as the inspector names it. */
export interface RecordAccount {
  key: string;
  name: string;
  type: 'page' | 'instagram';
}

/** One webhook notification the emulator POSTed to the app, and how the app answered. */
export interface WebhookRecord {
  kind: 'webhook';
  seq: number;
  at: number;
  user_id: string | undefined;
  /** The account whose entry the notification carried. */
  account?: RecordAccount;
  /** The event inside, e.g. `message`, `postback`, `delivery`, for the inspector's summary line. */
  event: string;
  body: unknown;
  /** HTTP status from /webhook; undefined when no answer arrived. */
  status: number | undefined;
  /** Milliseconds from sending to the answer. */
  ms: number | undefined;
  error?: string;
}

/** One call the bot (or a script) made to the emulated Graph API or Instagram API. Never headers or tokens. */
export interface GraphCallRecord {
  kind: 'graph';
  seq: number;
  at: number;
  user_id: string | undefined;
  /** Which API answered: the Graph API (Pages) or the Instagram API (Instagram Login); graph when absent. */
  api?: AccountApi;
  /** The account whose token the call carried, when it was an account's. */
  account?: RecordAccount;
  method: string;
  /** Path with version, e.g. `/v24.0/me/messages`. */
  path: string;
  /** Query parameters without `access_token` and `appsecret_proof`. */
  query: Record<string, string>;
  body: unknown;
  status: number;
  response: unknown;
  ms?: number;
}

export type InspectorRecord = WebhookRecord | GraphCallRecord;

/** What the page of one user is told about the bot's side of the conversation. */
export type ChatOutput =
  /** The user's own message, as their page shows it. */
  | { type: 'user'; mid: string; at: number; text?: string; sticker?: string; image?: string }
  | { type: 'message'; mid: string; at: number; message: unknown }
  /** The user's reaction to a bot message (none after unreact). */
  | { type: 'reaction'; mid: string; reaction: string | undefined; emoji: string | undefined }
  | { type: 'typing'; on: boolean }
  | { type: 'status'; mids: string[]; status: 'delivered' | 'read' }
  | { type: 'handover'; owner: 'app' | 'inbox'; app_id: string; metadata?: string };

/** Everything one user's page stream carries (`posts`: their Posts view, services/emulator/posts.ts). */
export type StreamEvent = { event: 'chat'; data: ChatOutput } | { event: 'inspector'; data: InspectorRecord } | { event: 'posts'; data: PostsOutput };
