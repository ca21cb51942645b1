// The webhook fields the bot needs, derived from the event kinds it handles. A new kind in the
// WebhookEvent union fails to compile here until someone decides which field delivers it.
import type { Account } from '../../services/accounts/types.ts';
import type { Channel, EventKind } from '../../services/events/types.ts';

export type WebhookObjectName = 'page' | 'instagram';

/**
 * Kinds that arrive as messaging items; `change` and `unknown` have no subscription of their own.
 * `comment` comes from `feed` (Page) and `comments` / `live_comments` (Instagram), needed only
 * when data/comment-replies.json has triggers for that platform (`webhookFields`).
 */
type MessagingKind = Exclude<EventKind, 'change' | 'comment' | 'unknown'>;

/** Messenger (`object=page`) field per kind, from Meta's Messenger webhook events reference. */
const MESSENGER_FIELD: Record<MessagingKind, string> = {
  message: 'messages',
  echo: 'message_echoes',
  message_edit: 'message_edits',
  postback: 'messaging_postbacks',
  read: 'message_reads',
  delivery: 'message_deliveries',
  reaction: 'message_reactions',
  referral: 'messaging_referrals',
  optin: 'messaging_optins',
  handover: 'messaging_handovers',
  policy: 'messaging_policy_enforcement',
  account_linking: 'messaging_account_linking',
  game_play: 'messaging_game_plays',
};

/**
 * Instagram (`object=instagram`) field per kind, or null where Instagram has no such event.
 * Instagram echoes arrive under `messages` with `is_echo`, so `echo` shares that field.
 */
const INSTAGRAM_FIELD: Record<MessagingKind, string | null> = {
  message: 'messages',
  echo: 'messages',
  message_edit: 'message_edit',
  postback: 'messaging_postbacks',
  read: 'messaging_seen',
  delivery: null,
  reaction: 'message_reactions',
  referral: 'messaging_referral',
  optin: null,
  handover: 'messaging_handover',
  policy: null,
  account_linking: null,
  game_play: null,
};

/** `standby` is not a kind but a flag on any messaging event (another app owns the thread). */
const STANDBY = 'standby';

function fieldsOf(table: Record<MessagingKind, string | null>): readonly string[] {
  const fields = Object.values(table).filter((f): f is string => f !== null);
  return Object.freeze([...new Set([...fields, STANDBY])]);
}

/** The messaging fields for `object=page` and each Page's install (`subscribed_fields`). */
export const MESSENGER_FIELDS = fieldsOf(MESSENGER_FIELD);
/** The messaging fields for `object=instagram` and each Instagram Login account's install. */
export const INSTAGRAM_FIELDS = fieldsOf(INSTAGRAM_FIELD);

/** Comments on the Page's posts arrive as `feed` changes with `item: "comment"`. */
export const PAGE_COMMENT_FIELDS: readonly string[] = Object.freeze(['feed']);
/** Comments on the Instagram account's media, and on its live videos. */
export const INSTAGRAM_COMMENT_FIELDS: readonly string[] = Object.freeze(['comments', 'live_comments']);

/**
 * Which channels have comment triggers (data/comment-replies.json, `CommentTriggers.covers`):
 * the comment fields are subscribed only for those, so a shop without triggers gets no comment
 * notifications it would only drop.
 */
export interface CommentCoverage {
  covers(channel: Channel): boolean;
}

/** The fields the bot needs per object, given its comment triggers. One definition for subscribe, status, doctor and the watchdog. */
export interface WebhookFields {
  /** `object=page` on the app subscription, and each Page's install. */
  page: readonly string[];
  /** `object=instagram` on the app subscription, and each Instagram Login account's install. */
  instagram: readonly string[];
}

export function webhookFields(comments: CommentCoverage): WebhookFields {
  return {
    page: Object.freeze([...MESSENGER_FIELDS, ...(comments.covers('messenger') ? PAGE_COMMENT_FIELDS : [])]),
    instagram: Object.freeze([...INSTAGRAM_FIELDS, ...(comments.covers('instagram') ? INSTAGRAM_COMMENT_FIELDS : [])]),
  };
}

export interface NeededObject {
  object: WebhookObjectName;
  fields: readonly string[];
}

/**
 * What the app needs subscribed for these accounts: `page` when one is a Page, `instagram` when
 * one has an Instagram account (linked to a Page, or on Instagram Login).
 */
export function neededObjects(accounts: readonly Account[], fields: WebhookFields): NeededObject[] {
  const needed: NeededObject[] = [];
  if (accounts.some((a) => a.type === 'page')) needed.push({ object: 'page', fields: fields.page });
  if (accounts.some((a) => a.instagram_account_id !== undefined)) needed.push({ object: 'instagram', fields: fields.instagram });
  return needed;
}

/** The fields of an account's own install: a Page's `object=page` fields, an Instagram Login account's `object=instagram` ones. */
export function installFieldsOf(account: Account, fields: WebhookFields): readonly string[] {
  return account.type === 'page' ? fields.page : fields.instagram;
}

export interface FieldDiff {
  missing: string[];
  extra: string[];
}

/** Needed fields that are absent, and present fields the bot does not use (harmless but noisy). */
export function diffFields(needed: readonly string[], present: readonly string[]): FieldDiff {
  const have = new Set(present);
  const want = new Set(needed);
  return {
    missing: needed.filter((f) => !have.has(f)),
    extra: present.filter((f) => !want.has(f)).sort(),
  };
}
