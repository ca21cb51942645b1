// Builds the real express app around the real services, with the Graph API faked by nock at the
// HTTP boundary, and helpers to post correctly signed notifications to it.
import { readFileSync } from 'node:fs';
import nock from 'nock';
import request from 'supertest';
import { createApp, type App } from '../../app.ts';
import { createBot, type Bot, type BotOptions } from '../../services/bot.ts';
import { loadConfig, secretsOf, type Config } from '../../services/config.ts';
import { createLogger } from '../../services/logger.ts';
import { signatureFor, toMetaJson } from '../../services/signature.ts';

export const GRAPH = 'https://graph.test';
export const VERSION = 'v24.0';
export const PAGE_ID = '1234567890';
export const IG_ID = '17841400000000001';
export const APP_ID = '111111111111111';

export const TEST_ENV: Record<string, string> = {
  PAGE_ACCESS_TOKEN: 'EAAtestPageToken0123456789',
  APP_SECRET: 'test-app-secret-0123456789',
  VERIFY_TOKEN: 'verify-token-0123456789',
  APP_ID,
  PAGE_ID,
  IG_ACCOUNT_ID: IG_ID,
  APP_URL: 'https://bot.example.test',
  GRAPH_API_URL: GRAPH,
  GRAPH_API_VERSION: VERSION,
  LOG_LEVEL: 'debug',
};

export interface Harness {
  app: App;
  bot: Bot;
  config: Readonly<Config>;
  /** Every log line the app wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  /** Raw log text, to check that no secret ever reached a log line. */
  logText(): string;
}

export function createHarness(env: Record<string, string> = {}, options: Omit<BotOptions, 'log'> = {}): Harness {
  const config = loadConfig({ DATABASE_URL: 'memory:', ...TEST_ENV, ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log, ...options });
  const app = createApp({ config, log, bot });
  return {
    app,
    bot,
    config,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
  };
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/webhooks/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** POSTs a body to /webhook signed like Meta signs it (escaped-unicode JSON, HMAC-SHA256). */
export function postSigned(app: App, body: unknown, secret = TEST_ENV.APP_SECRET as string) {
  const raw = typeof body === 'string' ? body : toMetaJson(body);
  return request(app)
    .post('/webhook')
    .set('Content-Type', 'application/json')
    .set('X-Hub-Signature-256', signatureFor(secret, raw))
    .send(raw);
}

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

/**
 * Fakes the Graph API: `me/messages` answers like Meta (recipient_id, message_id), profiles come
 * from `profiles`, and every call is recorded in order.
 */
export function fakeGraph(options: { profiles?: Record<string, Record<string, unknown>>; failSend?: (body: unknown) => { status: number; body: unknown } | undefined } = {}) {
  const calls: RecordedCall[] = [];
  let counter = 0;
  const record = (method: string, uri: string, body: unknown, headers: Record<string, string | string[] | undefined>) => {
    const url = new URL(uri, GRAPH);
    const auth = headers.authorization;
    calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorization: Array.isArray(auth) ? auth[0] : auth });
  };
  const scope = nock(GRAPH)
    .persist()
    .post(`/${VERSION}/me/messages`)
    .query(true)
    .reply(function (uri, body) {
      record('POST', uri, body, this.req.headers);
      const failure = options.failSend?.(body);
      if (failure) return [failure.status, failure.body];
      const recipient = (body as { recipient?: { id?: string } }).recipient?.id;
      const isMessage = typeof body === 'object' && body !== null && 'message' in body;
      if (!isMessage) return [200, { recipient_id: recipient }];
      counter += 1;
      return [200, { recipient_id: recipient, message_id: `m_bot_${counter}` }];
    })
    .post(/\/me\/(pass|take)_thread_control$/)
    .query(true)
    .reply(function (uri, body) {
      record('POST', uri, body, this.req.headers);
      return [200, { success: true }];
    })
    .get(/^\/v24\.0\/\d+$/)
    .query(true)
    .reply(function (uri) {
      record('GET', uri, undefined, this.req.headers);
      const id = new URL(uri, GRAPH).pathname.split('/').pop() ?? '';
      const profile = options.profiles?.[id];
      return profile ? [200, { id, ...profile }] : [404, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'AbCdEf' } }];
    });
  return {
    calls,
    /** The bodies sent to me/messages, in order. */
    sends: () => calls.filter((c) => c.path === `/${VERSION}/me/messages`).map((c) => c.body),
    done: () => scope.persist(false),
  };
}

/** A messaging item wrapped in a notification, with Meta's envelope. */
export function notification(object: 'page' | 'instagram', item: Record<string, unknown>, entryId = object === 'page' ? PAGE_ID : IG_ID) {
  return { object, entry: [{ id: entryId, time: 1763892000000, messaging: [item] }] };
}

// Event times start just before now: replies must fall inside Meta's 24-hour messaging window.
let clock = Date.now() - 60_000;
/** A Messenger/Instagram text message from `sender`. */
export function textFrom(sender: string, text: string, object: 'page' | 'instagram' = 'page') {
  clock += 1000;
  const page = object === 'page' ? PAGE_ID : IG_ID;
  return notification(object, { sender: { id: sender }, recipient: { id: page }, timestamp: clock, message: { mid: `m_user_${clock}`, text } });
}

export function postbackFrom(sender: string, payload: string, object: 'page' | 'instagram' = 'page') {
  clock += 1000;
  const page = object === 'page' ? PAGE_ID : IG_ID;
  return notification(object, { sender: { id: sender }, recipient: { id: page }, timestamp: clock, postback: { mid: `m_pb_${clock}`, title: 'Tap', payload } });
}

export function quickReplyFrom(sender: string, text: string, payload: string, object: 'page' | 'instagram' = 'page') {
  clock += 1000;
  const page = object === 'page' ? PAGE_ID : IG_ID;
  return notification(object, { sender: { id: sender }, recipient: { id: page }, timestamp: clock, message: { mid: `m_qr_${clock}`, text, quick_reply: { payload } } });
}
