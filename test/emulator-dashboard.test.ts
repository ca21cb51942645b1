// The live dashboard: off without DASHBOARD_TOKEN, 401 without the right bearer token, and with
// it the webhooks and Graph calls the observer hooks saw, never a token, proof or signature.
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../app.ts';
import { createBot } from '../services/bot.ts';
import { loadConfig, secretsOf } from '../services/config.ts';
import type { InspectorRecord } from '../services/emulator/index.ts';
import { createTrafficLog } from '../services/emulator/traffic.ts';
import { createGraphHttp } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { createLogger } from '../services/logger.ts';
import { signatureFor } from '../services/signature.ts';
import { GRAPH, TEST_ENV, VERSION, postSigned, textFrom } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';

const EN = createTranslations().fixedT('en_US');

const DASHBOARD_TOKEN = 'dash-0123456789abcdef-secret';

function liveApp(env: Record<string, string> = {}) {
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const traffic = createTrafficLog({ secrets: secretsOf(config) });
  const http = createGraphHttp({ baseUrl: GRAPH, version: VERSION, observe: traffic.observeGraph });
  const bot = createBot(config, { log, http });
  const app = createApp({ config, log, bot, traffic });
  return { app, bot, config, traffic, logText: () => lines.join('\n') };
}

const records = (res: { body: unknown }) => (res.body as { records: InspectorRecord[] }).records;

describe('live dashboard', () => {
  it('is off without DASHBOARD_TOKEN: nothing under /dashboard exists', async () => {
    const { app } = liveApp();
    for (const path of ['/dashboard', '/dashboard/api/records', '/dashboard/api/stream', '/dashboard/assets/dashboard.js']) {
      expect((await request(app).get(path).set('Authorization', `Bearer ${DASHBOARD_TOKEN}`)).status).toBe(404);
    }
  });

  it('is off in emulator mode, where the chat page has its own inspector', async () => {
    const config = loadConfig({ DASHBOARD_TOKEN, PORT: '3998', DATABASE_URL: 'memory:' });
    const log = createLogger({ level: 'silent' });
    const app = createApp({ config, log, bot: createBot(config, { log }) });
    expect((await request(app).get('/dashboard/api/records').set('Authorization', `Bearer ${DASHBOARD_TOKEN}`)).status).toBe(404);
  });

  it('refuses a missing or wrong token with 401, and never logs the token it was given', async () => {
    const { app, logText } = liveApp({ DASHBOARD_TOKEN });
    const none = await request(app).get('/dashboard/api/records');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    const wrong = await request(app).get('/dashboard/api/records').set('Authorization', 'Bearer wrong-token-0123456789abc');
    expect(wrong.status).toBe(401);
    const inQuery = await request(app).get('/dashboard/api/records').query({ token: DASHBOARD_TOKEN });
    expect(inQuery.status).toBe(401);
    expect(logText()).not.toContain('wrong-token-0123456789abc');
    expect(logText()).toContain('dashboard access refused');
  });

  it('serves the page shell without data, and the data only with the token', async () => {
    const { app } = liveApp({ DASHBOARD_TOKEN });
    const page = await request(app).get('/dashboard');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Dashboard token');
    expect((await request(app).get('/dashboard/assets/dashboard.js')).status).toBe(200);
    const ok = await request(app).get('/dashboard/api/records').set('Authorization', `Bearer ${DASHBOARD_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(records(ok)).toEqual([]);
  });

  it('shows real webhooks and the Graph calls they caused, without tokens, proofs or signatures', async () => {
    const { app, bot, config } = liveApp({ DASHBOARD_TOKEN });
    fakeGraph({ profiles: { '24000000000000001': { first_name: 'Ana', locale: 'en_US' } } });
    expect((await postSigned(app, textFrom('24000000000000001', 'hello'))).status).toBe(200);
    await bot.idle();
    const forged = await request(app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor('not-the-secret', '{}')).send('{"object":"page","entry":[]}');
    expect(forged.status).toBe(403);

    const res = await request(app).get('/dashboard/api/records').set('Authorization', `Bearer ${DASHBOARD_TOKEN}`);
    const seen = records(res);
    const hooks = seen.filter((r) => r.kind === 'webhook');
    expect(hooks.map((h) => [h.status, h.event, h.user_id])).toEqual([
      [200, 'message', '24000000000000001'],
      [403, 'rejected (28 bytes)', undefined],
    ]);
    expect(hooks[0]?.body).toMatchObject({ object: 'page' });
    expect(hooks[1]?.body).toBeNull();
    const calls = seen.filter((r) => r.kind === 'graph');
    // The welcome and the menu, and the profile lookup that follows the first of them (Ana is new).
    expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`).sort()).toEqual(['GET /24000000000000001 200', 'POST /me/messages 200', 'POST /me/messages 200']);
    expect(calls.find((c) => c.method === 'GET')).toMatchObject({ query: { fields: 'first_name,last_name,profile_pic,locale' }, user_id: '24000000000000001' });
    expect(calls.find((c) => c.method === 'POST')?.body).toMatchObject({ recipient: { id: '24000000000000001' }, message: { text: EN('welcome.anonymous') } });
    const text = JSON.stringify(seen);
    for (const secret of [config.PAGE_ACCESS_TOKEN, config.APP_SECRET, 'appsecret_proof', 'sha256=', 'Bearer']) expect(text).not.toContain(secret);
  });

  it('streams new records to a client that presents the token (server-sent events)', async () => {
    const { app, bot } = liveApp({ DASHBOARD_TOKEN });
    fakeGraph({ profiles: {} });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const refused = await new Promise<number>((resolve) => httpGet(`http://127.0.0.1:${port}/dashboard/api/stream`, { agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }));
      expect(refused).toBe(401);
      const frames = await new Promise<string>((resolve, reject) => {
        let text = '';
        let posted: Promise<unknown> | undefined;
        const req = httpGet(`http://127.0.0.1:${port}/dashboard/api/stream`, { agent: false, headers: { Authorization: `Bearer ${DASHBOARD_TOKEN}` } }, (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('event: ready') && !posted) {
              // supertest sends on then(): a notification arrives while the dashboard watches.
              posted = postSigned(app, textFrom('24000000000000002', 'hi')).then(
                () => undefined,
                () => undefined,
              );
            }
            if (text.includes('event: inspector')) {
              req.destroy();
              clearTimeout(timer);
              void (posted ?? Promise.resolve()).then(() => resolve(text));
            }
          });
        });
        req.on('error', () => undefined);
        const timer = setTimeout(() => reject(new Error(`no inspector event: ${text}`)), 5000);
      });
      expect(frames).toMatch(/event: ready\ndata: \{"records":\[\],"metrics":\[\]\}/);
      expect(frames).toMatch(/event: inspector\ndata: \{"kind":"webhook"/);
      await bot.idle();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
