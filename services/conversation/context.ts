// The per-event context handed to every handler: the event, the user's remembered state, a `t`
// fixed to this user's language, a logger keyed by the event, `reply` which only collects
// outgoing actions, and the store to read. Handlers never call Graph to send and never write the
// store: what they collect is stored with the event, and delivered, after they return.
import type { WebhookEvent } from '../events/types.ts';
import type { Locale, Translate, Translations } from '../i18n.ts';
import type { Logger } from '../logger.ts';
import type { Catalog } from '../shop/catalog.ts';
import type { SentUpdate, StatusChange, StoreReads, UserState } from '../state/store.ts';
import type { OutgoingMessage, QuickReply, Recipient } from '../graph/messages.ts';
import { splitText, textMessage } from '../graph/messages.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';

/** What the conversation needs to know about the shop and the app, fixed at start-up. */
export interface BotSettings {
  catalog: Catalog;
  /** Public base URL, for product images and links. */
  appUrl: string;
  /** Our own app ID, to recognise thread control coming back to us. */
  appId: string | undefined;
  translations: Translations;
}

export interface Replies {
  text(text: string, quickReplies?: QuickReply[]): void;
  message(message: OutgoingMessage): void;
  passThreadControl(targetAppId: string, metadata: string): void;
}

export interface EventContext<E extends WebhookEvent = WebhookEvent> {
  event: E;
  /** `<account>/<channel>:<sender id>` when the event has a sender we can answer; undefined otherwise. */
  userKey: string | undefined;
  /** Mutable copy of the user's state; saved after the handler returns. */
  user: UserState;
  locale: Locale;
  t: Translate;
  /** First name from the profile, when known. */
  firstName: string | undefined;
  reply: Replies;
  /** Reactions to the bot's sent messages, stored atomically with the event's outcome. */
  sentUpdates: SentUpdate[];
  /** Deliveries and reads of the bot's sent messages, stored atomically with the event's outcome. */
  statusUpdates: StatusChange[];
  /** Read-only: a handler changes state only through the context (user, replies, updates). */
  store: StoreReads;
  settings: BotSettings;
  log: Logger;
  now: number;
}

/** Collects a handler's actions in order. With no recipient, any reply is a bug and throws. */
export function createReplies(recipient: Recipient | undefined, outbox: OutgoingAction[]): Replies {
  const to = (): Recipient => {
    if (!recipient) throw new Error('this event has no sender to reply to');
    return recipient;
  };
  return {
    text(text, quickReplies) {
      const parts = splitText(text);
      parts.forEach((part, i) => {
        // Quick replies belong on the last bubble, where the user can still tap them.
        const message = textMessage(part, i === parts.length - 1 ? quickReplies : undefined);
        outbox.push({ type: 'message', recipient: to(), message });
      });
    },
    message(message) {
      outbox.push({ type: 'message', recipient: to(), message });
    },
    passThreadControl(targetAppId, metadata) {
      outbox.push({ type: 'pass_thread_control', recipient: to(), target_app_id: targetAppId, metadata });
    },
  };
}
