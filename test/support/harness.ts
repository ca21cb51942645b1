// Builds the real express app around the real services (its Graph API faked at the HTTP boundary
// by fake-graph.ts), and helpers to post correctly signed notifications to it.
import { afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { createApp, type App } from '../../app.ts';
import { createBot, type Bot, type BotOptions } from '../../services/bot.ts';
import { loadConfig, secretsOf, type Config } from '../../services/config.ts';
import { createLogger } from '../../services/logger.ts';
import { signatureFor, toMetaJson } from '../../services/signature.ts';
import { GRAPH } from './fake-graph.ts';

// Tests that point Meta's hosts elsewhere name them from here too.
export { GRAPH } from './fake-graph.ts';

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

// Every bot a file made is closed when the file is done. One left running goes on in the jest
// worker: a reply it keeps retrying (a paused account's, say) would reach the fake Graph API of
// the next file the worker runs, which nock shares, as a message nobody sent there.
const opened: Bot[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((bot) => bot.close(1_000).catch(() => undefined)));
});

export function createHarness(env: Record<string, string> = {}, options: Omit<BotOptions, 'log'> = {}): Harness {
  const config = loadConfig({ DATABASE_URL: 'memory:', ...TEST_ENV, ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log, ...options });
  const app = createApp({ config, log, bot });
  opened.push(bot);
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
