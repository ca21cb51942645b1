// What a handler asks the bot to do towards someone, as the outbox stores and delivers it: the
// sender (services/outbox/sender.ts) performs each one through the Send API, in order, with
// retries. Plain data, so it can be stored as it is and read back by a later release.
import type { Channel } from '../events/types.ts';
import type { OutgoingMessage, Recipient, SenderAction } from '../graph/messages.ts';

/** What any action may carry besides its own fields. */
export interface ActionTiming {
  /**
   * Epoch ms from which the action must not be sent any more (a private reply: 7 days after the
   * comment). The sender refuses an expired action and records why (`isExpired`).
   */
  expires_at?: number;
  /**
   * The key of the account it is sent as (its token, its API); absent in rows stored by a release
   * before several accounts, which belong to the default account. It never goes into a request body.
   */
  account?: string;
}

/** One thing the bot does towards a user. Serializable, so an outbox can store it. */
export type OutgoingAction = ActionTiming &
  (
    | {
        type: 'message';
        recipient: Recipient;
        message: OutgoingMessage;
        /**
         * Set on private replies (`recipient.comment_id`), whose recipient does not say the channel:
         * Instagram's private replies have a limit of their own (services/outbox/action-policy.ts).
         */
        channel?: Channel;
      }
    | { type: 'sender_action'; recipient: Recipient; sender_action: SenderAction }
    | { type: 'pass_thread_control'; recipient: Recipient; target_app_id: string; metadata?: string }
    | { type: 'take_thread_control'; recipient: Recipient; metadata?: string }
    /** A public reply under a comment: `POST /{comment-id}/comments` (Facebook) or `/{ig-comment-id}/replies`. */
    | { type: 'comment_reply'; channel: Channel; comment_id: string; message: string }
  );
