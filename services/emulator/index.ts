// The local Messenger/Instagram emulator: simulated users, an emulated Graph API (for the Pages)
// and Instagram API (for the Instagram Login account), and Meta's side of the webhook. Users'
// actions become signed notifications POSTed to the app's real /webhook; the bot's calls land in
// the emulated APIs and reach the user's page through one stream. Each user talks to one account
// (chosen on the page's setup screen): its entry id, its token, its API. Each account also has a
// sample post per channel it offers, where users comment (services/emulator/posts.ts).
// Whatever a page is shown (records, chat, history) is scrubbed of every configured secret first,
// and a recorded call keeps no token-carrying field (`setup doctor`'s debug_token has input_token).
import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { emulatorRouter } from '../../routes/emulator.ts';
import { secretsOf, type Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { asSecretSet, createRedactor, type SecretSet, type Secrets } from '../redact.ts';
import { bodyWithoutTokens, withoutTokens } from '../token-fields.ts';
import { channelsOf, emulatedAccounts, targetOf, type EmulatedAccount } from './accounts.ts';
import type { UserAction } from './actions.ts';
import { createGraphApi } from './graph-api.ts';
import type { EmulatedApi, GraphCall, GraphEffects, GraphReply } from './graph-shared.ts';
import { createInstagramApi } from './instagram-api.ts';
import { newMid } from './ids.ts';
import { createMediaStore, type MediaStore } from './media.ts';
import { createPosts, type Posts } from './posts.ts';
import { createStreamHub, type StreamHub } from './sse.ts';
import * as n from './notifications.ts';
import type { AccountIds, Notification } from './notifications.ts';
import { createWebhookSender } from './webhook-sender.ts';
import { createUserRegistry, type NewUser } from './users.ts';
import type { ChatOutput, GraphCallRecord, InspectorRecord, RecordAccount, SimUser, StreamEvent, WebhookRecord } from './types.ts';

export type { UserAction } from './actions.ts';
export type * from './types.ts';

/** The Instagram account the emulator plays: kept with the accounts, since the bot must know it as its own. */
export { EMULATED_IG_ACCOUNT_ID } from '../accounts/emulated.ts';
export type { EmulatedAccount } from './accounts.ts';
export const PAGE_NAME = 'Tidewater Tea Co.';
const PAGE_INBOX_APP_ID = '263902037430900';
const APP_NAME = 'Tidewater Tea Co. bot';
const HISTORY_LIMIT = 300;
const SHARED_LIMIT = 100;

export interface EmulatorDeps {
  config: Readonly<Config>;
  log: Logger;
  /** The app's own webhook on loopback, e.g. http://127.0.0.1:3000/webhook. */
  webhookUrl: string;
  now?: () => number;
  fetch?: typeof fetch;
  /** How many simulated users are kept at once (the least active are forgotten). */
  maxUsers?: number;
  /** Tracks open page streams so shutdown can end them; one is made when not given. */
  streams?: StreamHub;
  /**
   * The app's secret values (secretsOf(config) when absent). The tokens the emulated Instagram API
   * hands out on a refresh join them, so no record or stream ever shows one.
   */
  secrets?: Secrets;
}

export interface ActOutcome {
  /** The `mid` of the user's message or postback, when the action has one. */
  mid: string | undefined;
  webhook: WebhookRecord;
}

export interface EmulatorCore {
  /** The first Page's ids (the one older scripts and tests know). */
  ids: AccountIds;
  /** Every account the emulator plays, in the configured order. */
  accounts: readonly EmulatedAccount[];
  /** The first Page's name. */
  pageName: string;
  /** Public base URL of the app (APP_URL), for media links inside notifications. */
  baseUrl: string;
  /** Throws when `input.account` is not an account that offers `input.channel` (the route checks first). */
  createUser(input: NewUser): SimUser;
  getUser(id: string): SimUser | undefined;
  /** Performs one user action: builds Meta's notification, signs it and POSTs it to /webhook. */
  act(user: SimUser, action: UserAction): Promise<ActOutcome>;
  /** The emulated Graph API, recording the call for the inspector. */
  graph(call: GraphCall): Promise<GraphReply>;
  /** The emulated Instagram API (Instagram Login accounts), recording the call for the inspector. */
  instagram(call: GraphCall): Promise<GraphReply>;
  /** Live events for one user's page; returns the unsubscribe function. */
  subscribe(userId: string, listener: (event: StreamEvent) => void): () => void;
  /** What a page that (re)connects is shown first: its conversation and records so far. */
  history(userId: string): StreamEvent[];
  /** Whether the bot sent this user a message with this mid. */
  botSent(userId: string, mid: string): boolean;
  media: MediaStore;
  /** The sample posts users comment on, and their stories (services/emulator/posts.ts). */
  posts: Posts;
  /** Every record so far (bounded), oldest first. */
  records(): InspectorRecord[];
  /** Resolves once every queued webhook (user actions, receipts) has been answered. */
  idle(): Promise<void>;
}

export interface Emulator extends EmulatorCore {
  /** Mounted at /emulator by app.ts, in emulator mode only. */
  router: Router;
}

interface UserLog {
  events: StreamEvent[];
  botMids: Set<string>;
  pendingReceipts: string[];
  receiptsQueued: boolean;
}

export function createEmulator(deps: EmulatorDeps): Emulator {
  const secrets = asSecretSet(deps.secrets ?? secretsOf(deps.config));
  const core = createEmulatorCore(deps, secrets);
  return { ...core, router: emulatorRouter(core, { log: deps.log, streams: deps.streams ?? createStreamHub({ secrets }) }) };
}

function createEmulatorCore(deps: EmulatorDeps, secrets: SecretSet): EmulatorCore {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const redactor = createRedactor(secrets);
  const accounts = emulatedAccounts(config.accounts);
  const firstPage = accounts.find((a) => a.type === 'page');
  const ids: AccountIds = { pageId: firstPage?.page_id ?? '', igAccountId: firstPage?.instagram_account_id ?? '' };
  const accountByKey = new Map(accounts.map((a) => [a.key, a]));
  const listeners = new Map<string, Set<(event: StreamEvent) => void>>();
  const logs = new Map<string, UserLog>();
  const shared: StreamEvent[] = [];
  const allRecords: InspectorRecord[] = [];
  const lanes = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  let seq = 0;

  const users = createUserRegistry({
    now,
    limit: deps.maxUsers ?? 500,
    onForget: (id) => {
      logs.delete(id);
      listeners.delete(id);
      posts.forget(id);
    },
  });
  const media = createMediaStore();
  const postWebhook = createWebhookSender({ url: deps.webhookUrl, appSecret: config.APP_SECRET, fetch: deps.fetch ?? globalThis.fetch });
  const profilePic = (user: SimUser) => `${config.APP_URL}/emulator/avatar.svg#${user.id}`;

  const effects: GraphEffects = {
    messageSent(user, mid, message) {
      const userLog = logOf(user.id);
      userLog.botMids.add(mid);
      emit(user.id, { event: 'chat', data: { type: 'message', mid, at: now(), message } });
      userLog.pendingReceipts.push(mid);
      if (!userLog.receiptsQueued) {
        userLog.receiptsQueued = true;
        void inLane(user.id, () => sendReceipts(user));
      }
    },
    senderAction(user, action) {
      if (action === 'typing_on' || action === 'typing_off') emit(user.id, { event: 'chat', data: { type: 'typing', on: action === 'typing_on' } });
    },
    threadPassed(user, target, metadata) {
      user.thread_owner = target === config.APP_ID ? 'app' : 'inbox';
      emit(user.id, { event: 'chat', data: { type: 'handover', owner: user.thread_owner, app_id: target, ...(metadata ? { metadata } : {}) } });
    },
    threadTaken(user, metadata) {
      user.thread_owner = 'app';
      emit(user.id, { event: 'chat', data: { type: 'handover', owner: 'app', app_id: config.APP_ID ?? '', ...(metadata ? { metadata } : {}) } });
    },
  };
  const posts: Posts = createPosts({
    accounts,
    baseUrl: config.APP_URL,
    now,
    users,
    send: (user, notification) => inLane(user.id, () => deliver(user, notification)),
    notify(user, notification) {
      inLane(user.id, () => deliver(user, notification)).catch((err: unknown) => log.warn('emulator webhook could not be sent', { err }));
    },
    show: (user, output) => emit(user.id, { event: 'posts', data: output }),
    chat: (user, output) => emit(user.id, { event: 'chat', data: output }),
    messageSent: (user, mid, message) => effects.messageSent(user, mid, message),
  });
  const graphApi = createGraphApi({
    config,
    pages: accounts.filter((a) => a.api === 'graph'),
    users,
    effects,
    comments: posts,
    appName: APP_NAME,
    profilePic,
    verifyCallback: (url, token) => verifyCallback(url, token, deps.fetch ?? globalThis.fetch),
  });
  const instagramApi = createInstagramApi({ config, accounts: accounts.filter((a) => a.api === 'instagram'), users, effects, comments: posts, appName: APP_NAME, profilePic, now, issued: (token) => secrets.add(token) });

  function recordAccount(key: string | undefined): RecordAccount | undefined {
    const account = key === undefined ? undefined : accountByKey.get(key);
    return account ? { key: account.key, name: account.name, type: account.type } : undefined;
  }

  /** Meta signs an Instagram Login account's notifications with the Instagram app secret. */
  function secretOf(user: SimUser): string {
    return accountByKey.get(user.account)?.api === 'instagram' ? config.INSTAGRAM_APP_SECRET : config.APP_SECRET;
  }

  async function called(api: EmulatedApi, call: GraphCall): Promise<GraphReply> {
    const started = performance.now();
    const reply = await (api === 'graph' ? graphApi : instagramApi)(call);
    const account = recordAccount(reply.account);
    record<GraphCallRecord>({
      kind: 'graph',
      at: now(),
      user_id: reply.userId,
      api,
      ...(account ? { account } : {}),
      method: call.method.toUpperCase(),
      path: call.version === '' ? `/${call.path}` : `/${call.version}/${call.path}`,
      query: withoutTokens(call.query),
      body: bodyWithoutTokens(call.body),
      status: reply.status,
      // The refresh endpoint answers with a new token: never kept, shown or streamed.
      response: withoutTokens(reply.body),
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
    return reply;
  }

  function logOf(userId: string): UserLog {
    let userLog = logs.get(userId);
    if (!userLog) {
      userLog = { events: [...shared], botMids: new Set(), pendingReceipts: [], receiptsQueued: false };
      logs.set(userId, userLog);
    }
    return userLog;
  }

  /** Sends an event to one user's pages, or to every page when it concerns no user. */
  function emit(userId: string | undefined, event: StreamEvent): void {
    publish(userId, redactor.deep(event));
  }

  /** `emit` for an event already scrubbed. */
  function publish(userId: string | undefined, event: StreamEvent): void {
    const histories = userId === undefined ? [shared, ...[...logs.values()].map((l) => l.events)] : [logOf(userId).events];
    for (const history of histories) {
      history.push(event);
      if (history.length > (history === shared ? SHARED_LIMIT : HISTORY_LIMIT)) history.shift();
    }
    const targets = userId === undefined ? [...listeners.values()].flatMap((set) => [...set]) : [...(listeners.get(userId) ?? [])];
    for (const listener of targets) {
      try {
        listener(event);
      } catch (err) {
        log.warn('emulator stream listener failed', { err });
      }
    }
  }

  function record<R extends InspectorRecord>(entry: Omit<R, 'seq'>): R {
    seq += 1;
    const full = redactor.deep({ ...entry, seq } as R);
    allRecords.push(full);
    if (allRecords.length > 1000) allRecords.shift();
    publish(full.user_id, { event: 'inspector', data: full });
    return full;
  }

  /** One user's webhooks go out strictly in order, each after the previous one was answered. */
  function inLane<T>(userId: string, job: () => Promise<T>): Promise<T> {
    const previous = lanes.get(userId) ?? Promise.resolve();
    const run = previous.then(job, job);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    lanes.set(userId, settled);
    inFlight.add(settled);
    void settled.then(() => {
      inFlight.delete(settled);
      if (lanes.get(userId) === settled) lanes.delete(userId);
    });
    return run;
  }

  async function deliver(user: SimUser, notification: Notification): Promise<WebhookRecord> {
    const at = now();
    const outcome = await postWebhook(notification, secretOf(user));
    if (outcome.status !== 200) log.warn('emulator webhook not acknowledged', { status: outcome.status, error: outcome.error });
    const account = recordAccount(user.account);
    return record<WebhookRecord>({
      kind: 'webhook',
      at,
      user_id: user.id,
      ...(account ? { account } : {}),
      event: n.eventName(notification),
      body: notification,
      status: outcome.status,
      ms: outcome.ms,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
  }

  /** Delivery (Messenger only) and read receipts for the bot's messages, batched per user. */
  async function sendReceipts(user: SimUser): Promise<void> {
    const userLog = logOf(user.id);
    userLog.receiptsQueued = false;
    const mids = userLog.pendingReceipts.splice(0);
    const last = mids.at(-1);
    if (last === undefined) return;
    if (user.channel === 'messenger') {
      await deliver(user, n.deliveryNotification(user, now(), mids, now()));
      emit(user.id, { event: 'chat', data: { type: 'status', mids, status: 'delivered' } });
    }
    const seen = user.channel === 'messenger' ? { watermark: now() } : { mid: last };
    await deliver(user, n.readNotification(user, now(), seen));
    emit(user.id, { event: 'chat', data: { type: 'status', mids, status: 'read' } });
  }

  function notificationFor(user: SimUser, action: UserAction, mid: string): Notification | undefined {
    const at = now();
    switch (action.type) {
      case 'text':
        return n.messageNotification(user, at, n.textMessage(mid, action.text));
      case 'quick_reply':
        return n.messageNotification(user, at, n.textMessage(mid, action.text, action.payload));
      case 'postback':
        return n.postbackNotification(user, at, { mid, title: action.title, payload: action.payload });
      case 'get_started':
        return n.postbackNotification(user, at, { mid, title: 'Get Started', payload: 'GET_STARTED' });
      case 'sticker':
        return n.messageNotification(user, at, n.stickerMessage(mid, `${config.APP_URL}/emulator/sticker.png`));
      case 'image':
        return n.messageNotification(user, at, n.imageMessage(mid, action.url));
      case 'reaction':
        return n.reactionNotification(user, at, action.mid, action.action, action.reaction);
      case 'return_thread':
        user.thread_owner = 'app';
        return n.passThreadNotification(user, at, { previous_owner_app_id: PAGE_INBOX_APP_ID, new_owner_app_id: config.APP_ID ?? '', metadata: 'conversation done in the Page Inbox' });
    }
  }

  function createUser(input: NewUser): SimUser {
    const account = input.account === undefined ? accounts.find((a) => channelsOf(a).includes(input.channel)) : accountByKey.get(input.account);
    const target = account ? targetOf(account, input.channel) : undefined;
    if (!target) throw new Error(`no emulated account ${input.account ?? ''} offers ${input.channel}`);
    return users.create({ target, name: input.name, locale: input.locale });
  }

  return {
    ids,
    accounts,
    pageName: firstPage?.name ?? PAGE_NAME,
    baseUrl: config.APP_URL,
    createUser,
    getUser: (id) => users.get(id),
    botSent: (userId, mid) => logs.get(userId)?.botMids.has(mid) ?? false,
    media,
    posts,
    records: () => [...allRecords],
    history: (userId) => [...(logs.get(userId)?.events ?? shared)],
    act(user, action) {
      users.touch(user);
      const hasMid = action.type !== 'reaction' && action.type !== 'return_thread';
      const mid = hasMid ? newMid(user.channel, user.account_id) : undefined;
      const chat: ChatOutput | undefined = chatEchoOf(action, mid, now());
      if (chat) emit(user.id, { event: 'chat', data: chat });
      if (action.type === 'reaction') {
        const react = action.action === 'react';
        emit(user.id, { event: 'chat', data: { type: 'reaction', mid: action.mid, reaction: react ? action.reaction : undefined, emoji: react ? n.REACTIONS[action.reaction] : undefined } });
      }
      if (action.type === 'return_thread') emit(user.id, { event: 'chat', data: { type: 'handover', owner: 'app', app_id: config.APP_ID ?? '' } });
      return inLane(user.id, async () => {
        const notification = notificationFor(user, action, mid ?? '');
        const webhook = notification ? await deliver(user, notification) : record<WebhookRecord>({ kind: 'webhook', at: now(), user_id: user.id, event: action.type, body: null, status: undefined, ms: 0 });
        return { mid, webhook };
      });
    },
    graph: (call) => called('graph', call),
    instagram: (call) => called('instagram', call),
    subscribe(userId, listener) {
      let set = listeners.get(userId);
      if (!set) {
        set = new Set();
        listeners.set(userId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

/** What the user's own page shows for the action (their bubble), before the bot sees it. */
function chatEchoOf(action: UserAction, mid: string | undefined, at: number): ChatOutput | undefined {
  if (mid === undefined) return undefined;
  switch (action.type) {
    case 'text':
    case 'quick_reply':
      return { type: 'user', mid, at, text: action.text };
    case 'postback':
      return { type: 'user', mid, at, text: action.title };
    case 'get_started':
      return { type: 'user', mid, at, text: 'Get Started' };
    case 'sticker':
      return { type: 'user', mid, at, sticker: '/emulator/sticker.png' };
    case 'image':
      return { type: 'user', mid, at, image: action.url };
    default:
      return undefined;
  }
}

/** Meta's GET challenge to a callback URL; only URLs on this machine are reachable from here. */
async function verifyCallback(callbackUrl: string, verifyToken: string, fetchFn: typeof fetch): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return 'callback_url is not a valid URL';
  }
  if (!['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
    return `the emulator only reaches callback URLs on this machine (use http://localhost:PORT/webhook), not ${url.host}`;
  }
  const challenge = randomBytes(9).toString('hex');
  url.searchParams.set('hub.mode', 'subscribe');
  url.searchParams.set('hub.verify_token', verifyToken);
  url.searchParams.set('hub.challenge', challenge);
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(5000) });
    const text = (await response.text()).slice(0, 100);
    if (response.status === 200 && text === challenge) return undefined;
    return `The URL couldn't be validated. Response does not match challenge, expected value="${challenge}", received="${text}" (HTTP ${response.status})`;
  } catch {
    return "The URL couldn't be validated. Callback verification failed: could not connect";
  }
}
