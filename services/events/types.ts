// Meta's webhook payloads, typed with Meta's own snake_case field names, and the one discriminated
// union (`WebhookEvent`) that the rest of the bot works with. Nothing here is camelCased or merged:
// each event keeps the documented object (`message`, `postback`, `read`, ...) untouched.

/** Which product the event came through: Messenger (`object: "page"`) or Instagram. */
export type Channel = 'messenger' | 'instagram';

/** The webhook `object` values Meta sends. Others are kept as plain strings. */
export type WebhookObject = 'page' | 'instagram' | 'user' | 'permissions' | (string & {});

export interface Participant {
  id?: string;
  /** Checkbox-plugin / chat-plugin users are identified by `user_ref` instead of a PSID. */
  user_ref?: string;
}

export interface Referral {
  ref?: string;
  source?: string;
  type?: string;
  ad_id?: string;
  referer_uri?: string;
  is_guest_user?: boolean;
  ads_context_data?: Record<string, unknown>;
  product?: { id: string };
}

export type AttachmentType =
  | 'image'
  | 'video'
  | 'audio'
  | 'file'
  | 'location'
  | 'fallback'
  | 'template'
  | 'sticker'
  | 'share'
  | 'story_mention'
  | 'ig_reel'
  | 'reel'
  | 'ig_post'
  | 'post'
  | 'appointment_booking'
  | 'animated_image_share'
  | (string & {});

export interface AttachmentPayload {
  url?: string;
  /** Messenger stickers arrive as `type: "image"` with a `sticker_id`. */
  sticker_id?: number;
  title?: string;
  coordinates?: { lat: number; long: number };
  /** Instagram shares/reels. */
  reel_video_id?: string;
  ig_post_media_id?: string;
  [key: string]: unknown;
}

export interface Attachment {
  type: AttachmentType;
  payload?: AttachmentPayload | null;
  title?: string;
  url?: string;
}

/**
 * Messenger replies carry `is_self_reply`; Instagram story replies carry the story instead. Meta
 * sends the story's CDN `url`; the normaliser drops it (Meta's terms: never stored), so no event has it.
 */
export type ReplyTo = { mid: string; is_self_reply?: boolean } | { story: { id: string; url?: string } };

export interface MessagePayload {
  mid: string;
  text?: string;
  quick_reply?: { payload: string };
  reply_to?: ReplyTo;
  attachments?: Attachment[];
  referral?: Referral;
  commands?: { name: string }[];
  is_deleted?: boolean;
  is_unsupported?: boolean;
  is_echo?: boolean;
  app_id?: number;
  metadata?: string;
  [key: string]: unknown;
}

export interface PostbackPayload {
  mid?: string;
  title?: string;
  payload: string;
  referral?: Referral;
}

/** Messenger `message_reads` carry a watermark; Instagram `messaging_seen` carries the read `mid`. */
export interface ReadPayload {
  watermark?: number;
  mid?: string;
}

export interface DeliveryPayload {
  mids?: string[];
  watermark: number;
}

export interface ReactionPayload {
  mid: string;
  action: 'react' | 'unreact';
  reaction?: string;
  emoji?: string;
}

export interface OptinPayload {
  type?: 'notification_messages' | 'one_time_notif_req' | (string & {});
  ref?: string;
  user_ref?: string;
  payload?: string;
  title?: string;
  notification_messages_token?: string;
  notification_messages_frequency?: string;
  notification_messages_timezone?: string;
  notification_messages_status?: string;
  token_expiry_timestamp?: number;
  user_token_status?: string;
  one_time_notif_token?: string;
}

export interface PassThreadControl {
  new_owner_app_id: string | number;
  previous_owner_app_id?: string | number | null;
  metadata?: string;
}
export interface TakeThreadControl {
  previous_owner_app_id: string | number | null;
  new_owner_app_id?: string | number;
  metadata?: string;
}
export interface RequestThreadControl {
  requested_owner_app_id: string | number;
  metadata?: string;
}
export type AppRoles = Record<string, string[]>;

export interface PolicyEnforcementPayload {
  action: 'warning' | 'block' | 'unblock' | (string & {});
  reason?: string;
}

export interface AccountLinkingPayload {
  status: 'linked' | 'unlinked';
  authorization_code?: string;
}

export interface GamePlayPayload {
  game_id: string;
  player_id: string;
  context_type: 'SOLO' | 'THREAD' | 'GROUP' | (string & {});
  locale?: string;
  context_id?: string;
  score?: number;
  payload?: string;
}

export interface MessageEditPayload {
  mid: string;
  text?: string;
  num_edit?: number;
}

/** Fields every normalised event carries, whatever its kind. */
export interface EventBase {
  channel: Channel;
  /** Meta's `object` of the notification (`page` or `instagram` for messaging events). */
  object: WebhookObject;
  /** `entry[].id`: the Page ID or Instagram account ID the notification is for ('' when absent). */
  entry_id: string;
  /**
   * `entry[].time` in epoch milliseconds, whatever form it came in (seconds, a numeric or ISO 8601
   * string); the time the notification was received when it is missing or unreadable.
   */
  entry_time: number;
  /** True when the event came through `entry[].standby[]` (another app owns the thread). */
  standby: boolean;
}

/** Fields of events from `entry[].messaging[]` / `entry[].standby[]`. */
export interface MessagingBase extends EventBase {
  sender?: Participant;
  recipient?: Participant;
  /** The item's `timestamp` in epoch milliseconds (converted like `entry_time`); `entry_time` when absent. */
  timestamp: number;
}

export interface MessageEvent extends MessagingBase {
  kind: 'message';
  message: MessagePayload;
}
/** A message the Page (or an app on its behalf) sent: `message.is_echo === true`. */
export interface EchoEvent extends MessagingBase {
  kind: 'echo';
  message: MessagePayload & { is_echo: true };
}
export interface MessageEditEvent extends MessagingBase {
  kind: 'message_edit';
  message_edit: MessageEditPayload;
}
export interface PostbackEvent extends MessagingBase {
  kind: 'postback';
  postback: PostbackPayload;
}
export interface ReadEvent extends MessagingBase {
  kind: 'read';
  read: ReadPayload;
}
export interface DeliveryEvent extends MessagingBase {
  kind: 'delivery';
  delivery: DeliveryPayload;
}
export interface ReactionEvent extends MessagingBase {
  kind: 'reaction';
  reaction: ReactionPayload;
}
export interface ReferralEvent extends MessagingBase {
  kind: 'referral';
  referral: Referral;
}
export interface OptinEvent extends MessagingBase {
  kind: 'optin';
  optin: OptinPayload;
}
export type HandoverEvent = MessagingBase & { kind: 'handover' } & (
    | { action: 'pass_thread_control'; pass_thread_control: PassThreadControl }
    | { action: 'take_thread_control'; take_thread_control: TakeThreadControl }
    | { action: 'request_thread_control'; request_thread_control: RequestThreadControl }
    | { action: 'app_roles'; app_roles: AppRoles }
  );
export interface PolicyEnforcementEvent extends MessagingBase {
  kind: 'policy';
  policy_enforcement: PolicyEnforcementPayload;
}
export interface AccountLinkingEvent extends MessagingBase {
  kind: 'account_linking';
  account_linking: AccountLinkingPayload;
}
export interface GamePlayEvent extends MessagingBase {
  kind: 'game_play';
  game_play: GamePlayPayload;
}

/** `entry[].changes[]` (include_values on) or one name of `entry[].changed_fields` (off). */
export interface ChangeEvent extends EventBase {
  kind: 'change';
  field: string;
  /** The `value` object when the subscription includes values; absent for `changed_fields`. */
  value?: unknown;
  /** `entry[].uid` of `user` notifications (sent with `changes` and with `changed_fields`). */
  uid?: string;
}

/** The author of a comment: Facebook gives `name`, Instagram `username` (and its IGSID as `id`). */
export interface CommentAuthor {
  id: string;
  name?: string;
  username?: string;
  self_ig_scoped_id?: string;
}

/**
 * The `value` of a Page `feed` change with `item: "comment"`: a comment on a Page post, or a reply
 * to a comment (then `parent_id` is the comment replied to, else the post).
 */
export interface FeedCommentValue {
  item: 'comment';
  verb: 'add' | 'edited' | 'remove' | 'hide' | 'unhide' | (string & {});
  comment_id: string;
  /** `<page id>_<post id>`. */
  post_id: string;
  parent_id?: string;
  from?: CommentAuthor;
  message?: string;
  /** Seconds since the epoch, as Meta sends it (the event's `timestamp` has it in milliseconds). */
  created_time?: number | string;
  [key: string]: unknown;
}

/** The `value` of an Instagram `comments` (or `live_comments`) change: a new comment or reply. */
export interface InstagramCommentValue {
  /** The comment's id. */
  id: string;
  text?: string;
  from?: CommentAuthor;
  media?: { id: string; media_product_type?: string; ad_id?: string; ad_title?: string; original_media_id?: string };
  /** Set when the comment replies to another comment. */
  parent_id?: string;
  [key: string]: unknown;
}

/**
 * A comment on one of our posts: a Page `feed` change with `item: "comment"` (Messenger channel)
 * or an Instagram `comments` / `live_comments` change. `value` is Meta's object untouched.
 */
export type CommentEvent = EventBase & {
  kind: 'comment';
  /**
   * When the comment was made, epoch ms: `value.created_time` on Facebook; Instagram sends no
   * creation time, so `entry_time` (when Meta sent it, never before the comment was made).
   */
  created_at: number;
} & ({ field: 'feed'; value: FeedCommentValue } | { field: 'comments' | 'live_comments'; value: InstagramCommentValue });

/** Anything authentic that we could not recognise: kept whole so it can be logged and inspected. */
export interface UnknownEvent extends EventBase {
  kind: 'unknown';
  /** Why it was not recognised, for the log. */
  reason: string;
  raw: unknown;
}

export type WebhookEvent =
  | MessageEvent
  | EchoEvent
  | MessageEditEvent
  | PostbackEvent
  | ReadEvent
  | DeliveryEvent
  | ReactionEvent
  | ReferralEvent
  | OptinEvent
  | HandoverEvent
  | PolicyEnforcementEvent
  | AccountLinkingEvent
  | GamePlayEvent
  | CommentEvent
  | ChangeEvent
  | UnknownEvent;

export type EventKind = WebhookEvent['kind'];

/** Narrow the union by kind: `EventOf<'postback'>` is `PostbackEvent`. */
export type EventOf<K extends EventKind> = Extract<WebhookEvent, { kind: K }>;

/** The result of normalising one notification body. */
export interface NormalizedNotification {
  object: WebhookObject;
  events: WebhookEvent[];
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(value)}`);
}
