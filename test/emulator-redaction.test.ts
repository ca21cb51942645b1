// The emulator's inspector never shows a token: `npm run setup -- doctor` run against the app in
// emulator mode (its debug_token call carries the Page token as input_token), and Graph calls that
// carry tokens every other way (query, form body, JSON body), read back as every open chat page
// sees them: the live stream and the history a page gets when it (re)connects.
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../app.ts';
import { doctor } from '../scripts/setup/doctor.ts';
import { createBot, type Bot } from '../services/bot.ts';
import { commentTriggers } from '../services/comments/triggers.ts';
import { loadConfig, secretsOf, type Config } from '../services/config.ts';
import { appSecretProof, graphClientFor } from '../services/graph/client.ts';
import { createLogger } from '../services/logger.ts';
import { formsOf } from '../services/redact.ts';

const V = 'v24.0';
// Pinned, as `npm run setup` needs against the emulator; with characters every encoder escapes.
const ENV = { APP_SECRET: 'emulator-redaction/secret+"0123456789', VERIFY_TOKEN: 'emulator-redaction-verify-0123456789', DATABASE_URL: 'memory:' };
const TOKEN_NAMES = ['access_token', 'input_token', 'appsecret_proof', 'fb_exchange_token', 'client_secret', 'authorization'];

interface Running {
  config: Readonly<Config>;
  base: string;
  server: Server;
  bot: Bot;
  logText(): string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** The app in emulator mode as app.ts composes it (the emulator made from the config). */
async function startEmulatorApp(): Promise<Running> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const config = loadConfig({ ...ENV, PORT: String(port), APP_URL: `http://127.0.0.1:${port}` });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log });
  server.on('request', createApp({ config, log, bot }));
  return { config, base: `http://127.0.0.1:${port}`, server, bot, logText: () => lines.join('\n') };
}

/** A chat page's event stream as text, until `until` holds for it. */
function readPageStream(url: string, until: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpGet(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (until(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', () => undefined);
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`the stream did not show the expected records: ${text.slice(0, 3000)}`));
    }, timeoutMs);
  });
}

function expectNoToken(text: string, config: Readonly<Config>, where: string): void {
  const appToken = `${config.APP_ID ?? ''}|${config.APP_SECRET}`;
  const secrets = [...secretsOf(config), appToken, appSecretProof(config.PAGE_ACCESS_TOKEN, config.APP_SECRET), appSecretProof(appToken, config.APP_SECRET)];
  for (const form of secrets.flatMap(formsOf)) expect({ where, leaked: text.includes(form) ? form : undefined }).toEqual({ where, leaked: undefined });
  for (const name of TOKEN_NAMES) expect({ where, field: new RegExp(`"${name}"`, 'i').test(text) ? name : undefined }).toEqual({ where, field: undefined });
}

describe('emulator inspector: no token in any record or stream', () => {
  it('records `setup doctor` (debug_token with input_token) and token-carrying calls without any token', async () => {
    const r = await startEmulatorApp();
    const user = (await request(r.base).post('/emulator/users').send({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' })).body as { id: string };
    const streamUrl = `${r.base}/emulator/users/${user.id}/stream`;
    await readPageStream(streamUrl, (text) => text.includes('event: ready'));
    const streamed = readPageStream(streamUrl, (text) => text.includes('/debug_token') && text.includes('"marker":"form"') && text.includes('"marker":"json"') && text.includes('"fields":"id"'));
    await new Promise((resolve) => setTimeout(resolve, 100));

    const lines: string[] = [];
    await doctor({ config: r.config, graph: graphClientFor(r.config), comments: commentTriggers([]), out: { isTTY: false, line: (text = '') => lines.push(text) } });
    expect(lines.join('\n')).toMatch(/✔\s+Page token\s+valid Page token/);

    const { config } = r;
    const appToken = `${config.APP_ID ?? ''}|${config.APP_SECRET}`;
    const proof = appSecretProof(config.PAGE_ACCESS_TOKEN, config.APP_SECRET);
    const graph = `/emulator/graph/${V}`;
    // The token in the query, as Graph allows, with the other token-like parameters.
    await request(r.base).get(`${graph}/me`).query({ access_token: config.PAGE_ACCESS_TOKEN, appsecret_proof: proof, fb_exchange_token: config.PAGE_ACCESS_TOKEN, client_secret: config.APP_SECRET, fields: 'id' });
    // In a form body and in a JSON body.
    const form = new URLSearchParams({ access_token: config.PAGE_ACCESS_TOKEN, appsecret_proof: proof, input_token: config.PAGE_ACCESS_TOKEN, marker: 'form', note: `pasted ${appToken}` }).toString();
    await request(r.base).post(`${graph}/me/messages`).set('Content-Type', 'application/x-www-form-urlencoded').send(form);
    await request(r.base)
      .post(`${graph}/me/messenger_profile`)
      .set('Authorization', `Bearer ${config.PAGE_ACCESS_TOKEN}`)
      .query({ appsecret_proof: proof })
      .send({ access_token: config.PAGE_ACCESS_TOKEN, marker: 'json', nested: { Authorization: `Bearer ${config.PAGE_ACCESS_TOKEN}`, note: `secret ${config.APP_SECRET}` } });

    const live = await streamed;
    expect(live).toContain('/debug_token');
    expectNoToken(live, config, 'live stream');
    const history = await readPageStream(streamUrl, (text) => text.includes('event: ready'));
    expect(history).toContain('/debug_token');
    expectNoToken(history, config, 'history on reconnect');
    expectNoToken(r.logText(), config, 'log');
  });

  it('never shows a token its Instagram API handed out on a refresh, even where no token field holds it', async () => {
    const r = await startEmulatorApp();
    const login = r.config.accounts.find((a) => a.type === 'instagram');
    if (login === undefined) throw new Error('the emulator plays an Instagram Login account');
    const user = (await request(r.base).post('/emulator/users').send({ channel: 'messenger', name: 'Ravi Lim', locale: 'en_US' })).body as { id: string };
    const streamUrl = `${r.base}/emulator/users/${user.id}/stream`;
    await readPageStream(streamUrl, (text) => text.includes('event: ready'));
    const streamed = readPageStream(streamUrl, (text) => text.includes('"marker":"refreshed"'));
    await new Promise((resolve) => setTimeout(resolve, 100));

    const instagram = `/emulator/instagram/${V}`;
    const refreshed = await request(r.base).get(`${instagram}/refresh_access_token`).query({ grant_type: 'ig_refresh_token', access_token: login.access_token });
    expect(refreshed.status).toBe(200);
    const token = (refreshed.body as { access_token: string }).access_token;
    expect(token).toMatch(/^EMULATOR-IG-/);
    // A call that carries the new token outside any token field: pasted into a value.
    const proof = appSecretProof(token, r.config.INSTAGRAM_APP_SECRET);
    await request(r.base).post(`${instagram}/me/messages`).set('Authorization', `Bearer ${token}`).query({ appsecret_proof: proof }).send({ marker: 'refreshed', note: `pasted ${token}` });

    const live = await streamed;
    expect(live).toContain('pasted [REDACTED]');
    const history = await readPageStream(streamUrl, (text) => text.includes('event: ready'));
    for (const [where, text] of [['live stream', live], ['history on reconnect', history], ['log', r.logText()]] as const) {
      for (const form of formsOf(token)) expect({ where, leaked: text.includes(form) ? form : undefined }).toEqual({ where, leaked: undefined });
    }
  });
});
