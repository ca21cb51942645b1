// Handles one event end to end: who it is from, what we remember about them, their language, the
// handler, then delivery of the replies in order. Every failure lands in one error path here.
import type { EventContext, BotSettings } from './conversation/context.ts';
import { createReplies } from './conversation/context.ts';
import type { WebhookEvent } from './events/types.ts';
import { classifyFailure } from './graph/error-policy.ts';
import type { Recipient } from './graph/messages.ts';
import { textMessage } from './graph/messages.ts';
import type { OutgoingAction, SendApi } from './graph/send-api.ts';
import { DEFAULT_LOCALE, nearestLocale, type Locale } from './i18n.ts';
import type { Logger } from './logger.ts';
import { loadProfile } from './profile-cache.ts';
import { handleEvent } from './receive.ts';
import type { StateStore, UserState } from './state/store.ts';
import { userKey } from './state/store.ts';

export interface ProcessorDeps {
  store: StateStore;
  sendApi: SendApi;
  settings: BotSettings;
  log: Logger;
  now: () => number;
}

/** The replies one event produced, ready to deliver (and, later, to store in an outbox). */
export interface HandlingResult {
  userKey: string | undefined;
  actions: OutgoingAction[];
  /** A localised apology for this user, sent if a reply cannot be delivered. */
  apology: OutgoingAction | undefined;
}

export type EventProcessor = (event: WebhookEvent) => Promise<void>;

export function createProcessor(deps: ProcessorDeps): EventProcessor {
  return async (event) => {
    const result = await handle(event, deps);
    await deliver(result, deps, deps.log.child({ user: result.userKey }));
  };
}

/** Runs the handler for one event and returns its replies. Never throws for handler bugs. */
export async function handle(event: WebhookEvent, deps: ProcessorDeps): Promise<HandlingResult> {
  const senderId = replyTarget(event);
  const key = senderId === undefined ? undefined : userKey(event.channel, senderId);
  const log = deps.log.child({ kind: event.kind, channel: event.channel, user: key });
  const user: UserState = key ? await deps.store.getUser(key) : {};
  const profile = key && senderId && needsProfile(event) ? await loadProfile({ ...deps, log }, user, senderId, event.channel) : undefined;
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
    store: deps.store,
    settings: deps.settings,
    log,
    now: deps.now(),
  };
  try {
    await handleEvent(ctx);
  } catch (err) {
    log.error('handler failed', { err });
    actions.length = 0;
    if (recipient && !event.standby) actions.push(apology(ctx, recipient));
  }
  if (key) {
    if (isInbound(event)) user.last_inbound_at = event.timestamp;
    await deps.store.putUser(key, user);
  }
  const sorry = recipient && !event.standby ? apology(ctx, recipient) : undefined;
  return { userKey: key, actions: withTyping(event, actions, recipient), apology: sorry };
}

/** Performs the actions in order; the first failure stops the rest, so replies never arrive out of order. */
export async function deliver(result: HandlingResult, deps: ProcessorDeps, log: Logger): Promise<void> {
  for (const action of result.actions) {
    try {
      const sent = await deps.sendApi.perform(action);
      if (result.userKey && sent.message_id) await deps.store.recordSent(result.userKey, sent.message_id, deps.now());
    } catch (err) {
      const failure = classifyFailure(err);
      log.error('send failed', { err, action: action.type, failure });
      // The rest is dropped so nothing arrives out of order; the user learns something went wrong
      // unless they cannot be reached at all (blocked, outside the window, token invalid).
      if (result.apology && action !== result.apology && (failure === 'permanent' || failure === 'transient')) {
        await deliver({ ...result, actions: [result.apology], apology: undefined }, deps, log);
      }
      return;
    }
  }
}

/** Who a reply would go to: the sender, unless it is the Page or IG account itself (echoes). */
function replyTarget(event: WebhookEvent): string | undefined {
  if (!('sender' in event) || event.kind === 'echo') return undefined;
  const id = event.sender?.id;
  return id !== undefined && id !== event.entry_id ? id : undefined;
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

function apology(ctx: EventContext, recipient: Recipient): OutgoingAction {
  return { type: 'message', recipient, message: textMessage(ctx.t('apology')) };
}

/** A typing indicator before the replies to something the user said, as Messenger users expect. */
function withTyping(event: WebhookEvent, actions: OutgoingAction[], recipient: Recipient | undefined): OutgoingAction[] {
  const replying = (event.kind === 'message' || event.kind === 'postback') && actions.some((a) => a.type === 'message');
  return replying && recipient ? [{ type: 'sender_action', recipient, sender_action: 'typing_on' }, ...actions] : actions;
}
