// The live dashboard never shows a secret: the app as `npm start` composes it (live mode,
// DASHBOARD_TOKEN set), Graph errors that echo the Page token (raw, JSON-escaped, URL-encoded,
// JSON inside JSON), a user who pastes a secret into the chat; read back through the records API,
// the event stream and the log.
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import request from 'supertest';
import { start, type RunningApp } from '../app.ts';
import { loadConfig, secretsOf, type Config } from '../services/config.ts';
import { createLogger } from '../services/logger.ts';
import { TOO_DEEP, formsOf } from '../services/redact.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { GRAPH, TEST_ENV, VERSION, textFrom } from './support/harness.ts';

// Characters that JSON, URLs and forms each escape differently.
const PAGE_TOKEN = 'EAAdash"board\\tok/en+0123456789';
const DASHBOARD_TOKEN = 'dash-redaction-0123456789abcdef';
const USER = '24000000000000077';

const runningApps: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(runningApps.splice(0).map((r) => r.close(1000)));
});

async function startLive(): Promise<{ config: Readonly<Config>; base: string; logText: () => string; running: RunningApp }> {
  const config = loadConfig({ ...TEST_ENV, PAGE_ACCESS_TOKEN: PAGE_TOKEN, DASHBOARD_TOKEN, DATABASE_URL: 'memory:', PORT: '0', HOST: '127.0.0.1' });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const running = await start(config, log);
  runningApps.push(running);
  const { port } = running.server.address() as AddressInfo;
  return { config, base: `http://127.0.0.1:${port}`, logText: () => lines.join('\n'), running };
}

/** Graph answering every call with an error that echoes the Page token, in several encodings. */
function graphEchoingTheToken() {
  const json = JSON.stringify(PAGE_TOKEN).slice(1, -1);
  nock(GRAPH)
    .persist()
    .get(new RegExp(`^/${VERSION}/\\d+`))
    .reply(400, `{"error":{"message":"Invalid OAuth access token - Cannot parse access token: ${json.replace(/\//g, '\\/')}","type":"OAuthException","code":100,"fbtrace_id":"Echo1"}}`, { 'Content-Type': 'application/json' })
    .post(`/${VERSION}/me/messages`)
    .query(true)
    .reply(400, {
      error: {
        message: `(#100) Param access_token=${encodeURIComponent(PAGE_TOKEN)} is not allowed here`,
        type: 'OAuthException',
        code: 100,
        error_data: JSON.stringify({ access_token: PAGE_TOKEN, proof: TEST_ENV.APP_SECRET }),
        [`token:${PAGE_TOKEN}`]: [PAGE_TOKEN],
        fbtrace_id: 'Echo2',
      },
    });
}

function secretForms(config: Readonly<Config>): string[] {
  return secretsOf(config).flatMap(formsOf);
}

function expectNoSecret(text: string, config: Readonly<Config>, where: string): void {
  for (const form of secretForms(config)) expect({ where, leaked: text.includes(form) ? form : undefined }).toEqual({ where, leaked: undefined });
}

/** The dashboard's event stream as text, until `until` holds for it. */
function readDashboardStream(base: string, until: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpGet(`${base}/dashboard/api/stream`, { agent: false, headers: { Authorization: `Bearer ${DASHBOARD_TOKEN}` } }, (res) => {
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
      reject(new Error(`the stream did not show the expected records: ${text.slice(0, 2000)}`));
    }, timeoutMs);
  });
}

describe('live dashboard: no secret in any record, stream or log line', () => {
  it('scrubs a Graph error that echoes the Page token, and a secret a user pasted, from records, the stream and the log', async () => {
    const { config, base, logText, running } = await startLive();
    graphEchoingTheToken();
    const ready = readDashboardStream(base, (text) => text.includes('event: ready'));
    await ready;
    const streamed = readDashboardStream(base, (text) => (text.match(/"fbtrace_id":"Echo2"/g) ?? []).length >= 1 && text.includes('"fbtrace_id":"Echo1"'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pasted = `my token is ${PAGE_TOKEN}, the secret ${config.APP_SECRET}, verify ${config.VERIFY_TOKEN}, dashboard ${DASHBOARD_TOKEN}`;
    const raw = toMetaJson(textFrom(USER, pasted));
    const posted = await request(base).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(config.APP_SECRET, raw)).send(raw);
    expect(posted.status).toBe(200);
    const stream = await streamed;
    await running.bot.idle();

    const res = await request(base).get('/dashboard/api/records').set('Authorization', `Bearer ${DASHBOARD_TOKEN}`);
    expect(res.status).toBe(200);
    const records = (res.body as { records: { kind: string; status?: number; response?: unknown; body?: unknown }[] }).records;
    // The records are all there, only scrubbed: the webhook with the user's words, the failed calls.
    expect(records.filter((r) => r.kind === 'graph').map((r) => r.status)).toContain(400);
    expect(JSON.stringify(records.find((r) => r.kind === 'webhook')?.body)).toContain('my token is [REDACTED], the secret [REDACTED], verify [REDACTED], dashboard [REDACTED]');
    expect(JSON.stringify(records)).toContain('Cannot parse access token: [REDACTED]');

    expectNoSecret(res.text, config, 'GET /dashboard/api/records');
    expectNoSecret(stream, config, 'GET /dashboard/api/stream');
    // A stream opened afterwards starts with the same records, scrubbed.
    expectNoSecret(await readDashboardStream(base, (text) => text.includes('event: ready')), config, 'ready event');
    expectNoSecret(logText(), config, 'log');
  });

  it('keeps answering when a signed notification is nested 100,000 deep: the record is cut, not the dashboard', async () => {
    const { config, base } = await startLive();
    const raw = `{"object":"page","entry":[{"id":"${TEST_ENV.PAGE_ID ?? ''}","time":1,"messaging":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}]}`;
    const posted = await request(base).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(config.APP_SECRET, raw)).send(raw);
    expect([200, 400]).toContain(posted.status);
    const res = await request(base).get('/dashboard/api/records').set('Authorization', `Bearer ${DASHBOARD_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(TOO_DEEP);
    const ready = await readDashboardStream(base, (text) => text.includes('event: ready'));
    expect(ready).toContain(TOO_DEEP);
  });
});
