// Hop 1 of handling an event the inbox took from the store: who it is from (and whether it is for
// one of our accounts at all), what we remember about them, their cached profile and language,
// then the context the flow runs with (dispatch.ts picks the flow). Returns what handling
// produced, for the inbox to store in one transaction with marking the event handled. Every
// failure of a flow lands in one error path here. Nothing here waits for Graph: a profile that
// is missing or old is looked up after the replies are stored (profile-cache.ts).
import { accountKeyOf, type AccountDirectory } from '../accounts/directory.ts';
import { handleComment } from '../comments/handle.ts';
import type { BotSettings, EventContext } from '../conversation/context.ts';
import { createReplies } from '../conversation/context.ts';
import type { WebhookEvent } from '../events/types.ts';
import { reportFailure, type FailureHook } from '../failure-hook.ts';
import { isGraphId } from '../graph/ids.ts';
import type { Recipient } from '../graph/messages.ts';
import { textMessage } from '../graph/messages.ts';
import type { SendApi } from '../graph/send-api.ts';
import { DEFAULT_LOCALE, nearestLocale, type Locale } from '../i18n.ts';
import { eventKey } from '../inbox/event-key.ts';
import type { Logger } from '../logger.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import { profileLookupFor } from '../profile-cache.ts';
import type { EventOutcome, PreloadedUser, StoreReads, UserState } from '../state/store.ts';
import { emptyOutcome, userKey } from '../state/store.ts';
import { dispatch } from './dispatch.ts';

export interface HandlingDeps {
  /** Read only: what handling changes is returned, and stored by the inbox. */
  store: StoreReads;
  sendApi: SendApi;
  settings: BotSettings;
  log: Logger;
  now: () => number;
  /** The accounts this bot answers for: each event is matched to one by its `entry.id`. */
  accounts: AccountDirectory;
  /** Told about every handler that throws (the shop's alerts, see BotOptions.onError). */
  onError?: FailureHook;
}

/**
 * Runs the handler for one event and returns what it produced: the user's new state and the
 * replies, for the caller to store atomically. Handler bugs become an apology, never a throw.
 * An event for an account this bot does not serve is logged and produces nothing. Every reply
 * (and the apology) carries the account whose entry the event came in, so it goes out with that
 * account's token through that account's API. `preloaded` is the user's state when the store has
 * read it already (with the lane's claim); used only if it is this event's user.
 */
export async function handleEvent(event: WebhookEvent, deps: HandlingDeps, preloaded?: PreloadedUser): Promise<EventOutcome> {
  const account = accountKeyOf(event, deps.accounts);
  if (account === undefined && !onlyLogged(event)) {
    // Another Page's (or Instagram account's) conversation: our tokens must never answer it.
    deps.log.warn('event for an account this bot does not serve: acknowledged, not handled', { kind: event.kind, object: event.object, entry_id: event.entry_id });
    return emptyOutcome();
  }
  // A comment is not a conversation yet: it has an author, not a sender (services/comments/).
  if (event.kind === 'comment') {
    if (account === undefined) return emptyOutcome();
    const outcome = await handleComment(event, { ...deps, account });
    return { ...outcome, actions: outcome.actions.map((action) => ({ ...action, account })) };
  }
  const senderId = account === undefined ? undefined : replyTarget(event, deps.accounts, deps.log);
  const key = senderId === undefined || account === undefined ? undefined : userKey(account, event.channel, senderId);
  const log = deps.log.child({ kind: event.kind, channel: event.channel, account, user: key });
  const user: UserState = key ? (preloaded?.key === key ? preloaded.state : await deps.store.getUser(key)) : {};
  const wantsProfile = key !== undefined && senderId !== undefined && account !== undefined && needsProfile(event);
  const profile = wantsProfile ? user.profile : undefined;
  const profileLookup = wantsProfile ? profileLookupFor(user.profile, senderId, event.channel, account, deps.now()) : undefined;
  const locale = chooseLocale(event, user);
  const actions: OutgoingAction[] = [];
  const recipient: Recipient | undefined = senderId ? { id: senderId } : undefined;
  const ctx: EventContext = {
    event,
    userKey: key,
    user,
    locale,
    t: deps.settings.translations.fixedT(locale),
    firstName: profile?.first_name,
    reply: createReplies(recipient, actions),
    sentUpdates: [],
    statusUpdates: [],
    store: deps.store,
    settings: deps.settings,
    log,
    now: deps.now(),
  };
  try {
    await dispatch(ctx);
  } catch (err) {
    // With the stack (error level), the event's id and the log's bindings: kind, channel, account, user.
    const id = eventIdOf(event);
    log.error('handler failed', { err, id });
    reportFailure(deps.onError, { stage: 'handling', error: err, event: { kind: event.kind, id, user: key } }, log);
    actions.length = 0;
    // Nothing half-done is kept: the changes go with the replies.
    ctx.sentUpdates.length = 0;
    ctx.statusUpdates.length = 0;
    if (recipient && awaitsAnswer(event)) actions.push(apology(ctx, recipient));
  }
  if (key && isInbound(event)) user.last_inbound_at = inboundTime(event.timestamp, deps.now());
  const from = (action: OutgoingAction): OutgoingAction => ({ ...action, account });
  return {
    userKey: key,
    user: key ? user : undefined,
    sentUpdates: ctx.sentUpdates,
    statusUpdates: ctx.statusUpdates,
    // No typing indicator ahead of the replies: they are ready now (nothing above waits for
    // Graph), and a typing_on first would only hold them back by one Send API call.
    actions: account === undefined ? [] : actions.map(from),
    apology: recipient && account !== undefined && !event.standby ? from(apology(ctx, recipient)) : undefined,
    ...(profileLookup ? { profileLookup } : {}),
  };
}

/**
 * The event as a person would look it up: the message's mid (Meta's id, also in the Page Inbox),
 * else its dedup key (services/inbox/event-key.ts), which names its kind, sender and time.
 */
function eventIdOf(event: WebhookEvent): string {
  if (event.kind === 'message' || event.kind === 'echo') return event.message.mid;
  if (event.kind === 'postback' && event.postback.mid) return event.postback.mid;
  try {
    return eventKey(event);
  } catch {
    return `${event.kind}:${event.entry_id}`;
  }
}

/**
 * A conversation event (anything from `messaging` or `standby`) is ours only in an entry of one
 * of our accounts. `change` and `unknown` events are only ever logged, so they are handled (the
 * log then says what they were) whoever they are for, and never answered. (Messaging items under
 * objects other than page and instagram are already `unknown`.)
 */
function onlyLogged(event: WebhookEvent): boolean {
  return event.kind === 'change' || event.kind === 'unknown';
}

/**
 * Who a reply would go to: the sender, unless it is one of our own accounts, any of them (echoes,
 * or a notification that names one of our Pages as the sender whatever entry.id says). A sender id is a PSID or
 * IGSID, always decimal digits; anything else cannot be addressed (nor placed in a Graph path),
 * so such an event is handled as one without a sender. Plugin users without a PSID come as
 * `sender.user_ref`, never as a non-numeric `sender.id`.
 */
function replyTarget(event: WebhookEvent, accounts: AccountDirectory, log: Logger): string | undefined {
  if (!('sender' in event) || event.kind === 'echo') return undefined;
  const id = event.sender?.id;
  if (id === undefined || id === event.entry_id || accounts.isOwnId(id)) return undefined;
  if (!isGraphId(id)) {
    log.warn('sender id is not a numeric PSID/IGSID: handled as an event without a sender', { kind: event.kind });
    return undefined;
  }
  return id;
}

const PROFILE_KINDS = new Set<WebhookEvent['kind']>(['message', 'postback', 'referral', 'optin', 'account_linking', 'reaction', 'handover']);

function needsProfile(event: WebhookEvent): boolean {
  return !event.standby && PROFILE_KINDS.has(event.kind);
}

function chooseLocale(event: WebhookEvent, user: UserState): Locale {
  if (user.locale) return user.locale;
  // Instagram profiles have no locale: the default unless the user picked one.
  return event.channel === 'messenger' ? nearestLocale(user.profile?.locale) : DEFAULT_LOCALE;
}

function isInbound(event: WebhookEvent): event is Extract<WebhookEvent, { timestamp: number }> {
  return event.kind === 'message' || event.kind === 'postback' || event.kind === 'reaction' || event.kind === 'referral';
}

/** Meta redelivers for up to 36 hours; an older timestamp is not a real delivery time. */
const REDELIVERY_HORIZON_MS = 36 * 60 * 60 * 1000;

/**
 * When the user last wrote, for the 24-hour window: Meta's timestamp, so a late redelivery counts
 * from the real message; our clock when the timestamp is in the future or older than any
 * redelivery could be (clock skew, replayed example payloads).
 */
function inboundTime(timestamp: number, now: number): number {
  return timestamp > now || now - timestamp > REDELIVERY_HORIZON_MS ? now : timestamp;
}

/**
 * Whether the customer is waiting for the bot after this event, so that a failure deserves an
 * apology: not on standby (a person answers), and not for receipts (deliveries and reads are
 * nothing the customer said).
 */
function awaitsAnswer(event: WebhookEvent): boolean {
  return !event.standby && event.kind !== 'delivery' && event.kind !== 'read';
}

function apology(ctx: EventContext, recipient: Recipient): OutgoingAction {
  return { type: 'message', recipient, message: textMessage(ctx.t('apology')) };
}
