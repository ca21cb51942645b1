// From comment to conversation: a new comment by a customer that matches a trigger gets one private
// reply (a Send API message to `recipient.comment_id`) and, when the trigger says so, one public
// reply under it. Both are returned as actions, so the outbox sends them like every reply: stored
// with the event's outcome, sent once, in order, retried, rate-limited. Nothing is sent from here.
//
// Who the customer is. An Instagram comment's `from.id` is the commenter's IGSID, the id their
// messages come from: the comment is handled as that user (their language is read and kept, and
// their replies share the lane of their messages), so when they answer the private reply the
// conversation simply goes on. A Facebook comment's `from.id` is not a PSID, and no PSID is known
// until the customer answers: such a comment belongs to no user (its replies wait in the comment's
// own lane), and the conversation that follows picks its language from the Messenger profile or the
// customer's words, like any other.
import type { AccountDirectory } from '../accounts/directory.ts';
import type { BotSettings } from '../conversation/context.ts';
import { mainMenu } from '../conversation/menu.ts';
import type { CommentEvent } from '../events/types.ts';
import { reportFailure, type FailureHook } from '../failure-hook.ts';
import { isCommentId, isGraphId } from '../graph/ids.ts';
import { textMessage } from '../graph/messages.ts';
import { DEFAULT_LOCALE, type Locale } from '../i18n.ts';
import { eventKey } from '../inbox/event-key.ts';
import type { Logger } from '../logger.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import type { EventOutcome, StoreReads, UserState } from '../state/store.ts';
import { emptyOutcome, userKey } from '../state/store.ts';
import { commentFacts, type CommentFacts } from './comment.ts';
import type { TriggerMatch } from './triggers.ts';

/** Meta accepts a private reply within 7 days of the comment. */
export const PRIVATE_REPLY_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** What Meta takes in a comment: 2,200 characters on Instagram; Facebook takes 8,000. */
const PUBLIC_REPLY_MAX = { instagram: 2200, messenger: 8000 } as const;

export interface CommentDeps {
  /** Read only: the commenter's new state is returned with the replies. */
  store: StoreReads;
  settings: BotSettings;
  log: Logger;
  now: () => number;
  /** The accounts this bot answers for: their own comments are never answered. */
  accounts: AccountDirectory;
  /** The account whose entry the comment came in (the user key and every reply carry it). */
  account: string;
  /** Told when the replies cannot be built (the shop's alerts, see BotOptions.onError). */
  onError?: FailureHook;
}

/** A comment that produces nothing: no user, no replies. */
const nothing = emptyOutcome;

/**
 * What a comment event produces: nothing, or the replies (and, on Instagram, the commenter's
 * state). Never throws for a comment it cannot answer: it logs why and produces nothing. There is
 * no apology either: a private reply is the one message Meta allows for the comment.
 */
export async function handleComment(event: CommentEvent, deps: CommentDeps): Promise<EventOutcome> {
  const comment = commentFacts(event);
  const log = deps.log.child({ kind: 'comment', channel: comment.channel, comment_id: comment.comment_id });
  const refusal = refusalOf(event, comment, deps);
  if (refusal) {
    log[refusal.level](refusal.reason, refusal.details ?? {});
    return nothing();
  }
  const match = deps.settings.catalog.commentReplies.match({ channel: comment.channel, text: comment.text, post_id: comment.post_id, media_id: comment.media_id });
  if (!match) {
    log.debug('comment matches no trigger', {});
    return nothing();
  }
  const age = deps.now() - comment.created_at;
  if (age >= PRIVATE_REPLY_WINDOW_MS) {
    // Meta would refuse it: a private reply is only allowed within 7 days of the comment.
    log.warn('private reply refused: the comment is older than 7 days', { trigger: match.trigger.name, age_hours: Math.floor(age / 3_600_000) });
    return nothing();
  }
  const key = comment.channel === 'instagram' && comment.author_id !== undefined && isGraphId(comment.author_id) ? userKey(deps.account, 'instagram', comment.author_id) : undefined;
  const user: UserState = key ? await deps.store.getUser(key) : {};
  if (user.thread_owner === 'human') {
    log.info('comment not answered: a person from the shop owns this conversation', { trigger: match.trigger.name });
    return nothing();
  }
  const locale = user.locale ?? onlyLocale(match) ?? DEFAULT_LOCALE;
  // Words of one language other than English tell the language of someone who has not picked
  // one, as typed words do (services/conversation/messages.ts).
  const learned = onlyLocale(match);
  if (key && user.locale === undefined && learned !== undefined && learned !== DEFAULT_LOCALE) user.locale = learned;
  let actions: OutgoingAction[];
  try {
    actions = repliesFor(comment, match, locale, deps.settings);
  } catch (err) {
    log.error('comment replies could not be built; nothing sent', { err, trigger: match.trigger.name, locale, user: key });
    reportFailure(deps.onError, { stage: 'handling', error: err, event: { kind: 'comment', id: eventKey(event), user: key } }, log);
    return nothing();
  }
  log.info('comment answered', { trigger: match.trigger.name, locale, public_reply: actions.length > 1, is_reply: comment.is_reply });
  return { ...emptyOutcome(), userKey: key, user: key ? user : undefined, actions };
}

interface Refusal {
  level: 'debug' | 'info' | 'warn';
  reason: string;
  details?: Record<string, unknown>;
}

/** Why a comment gets no reply whatever it says, or undefined. */
function refusalOf(event: CommentEvent, comment: CommentFacts, deps: CommentDeps): Refusal | undefined {
  if (event.standby) return { level: 'debug', reason: 'comment in standby: another app answers' };
  if (comment.verb !== 'add') {
    // An edit never earns a second reply (nor a first one); removed and hidden comments are left alone.
    return { level: 'info', reason: 'comment not answered: only new comments are', details: { verb: comment.verb } };
  }
  const author = comment.author_id;
  if (author === undefined) return { level: 'warn', reason: 'comment without from.id: it could be our own, so it is not answered' };
  if (author === event.entry_id || deps.accounts.isOwnId(author)) return { level: 'debug', reason: 'our own comment or reply: not answered' };
  if (!isCommentId(comment.comment_id)) return { level: 'warn', reason: 'comment id is not a Graph comment id: not answered' };
  if (comment.text.trim() === '') return { level: 'debug', reason: 'comment without text: not answered' };
  return undefined;
}

/** The language the matched words are in, when they are all of one. */
function onlyLocale(match: TriggerMatch): Locale | undefined {
  const [only, ...others] = match.locales;
  return others.length === 0 ? only : undefined;
}

function repliesFor(comment: CommentFacts, match: TriggerMatch, locale: Locale, settings: BotSettings): OutgoingAction[] {
  const t = settings.translations.fixedT(locale);
  const { private_reply: privately, public_reply: publicly } = match.trigger;
  const message = textMessage(t(privately.text), privately.menu ? mainMenu(t) : undefined);
  const actions: OutgoingAction[] = [
    { type: 'message', recipient: { comment_id: comment.comment_id }, message, channel: comment.channel, expires_at: comment.created_at + PRIVATE_REPLY_WINDOW_MS },
  ];
  if (publicly) actions.push({ type: 'comment_reply', channel: comment.channel, comment_id: comment.comment_id, message: publicText(t(publicly.text), comment.channel) });
  return actions;
}

function publicText(text: string, channel: CommentFacts['channel']): string {
  const max = PUBLIC_REPLY_MAX[channel];
  if (text.trim() === '' || [...text].length > max) throw new RangeError(`public reply must be 1 to ${max} characters, got ${[...text].length}`);
  return text;
}
