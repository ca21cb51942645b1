// The subscription watchdog against Graph faked by nock, on a fake clock: it reads the app
// subscription (app token) and the Page install (Page token), reports drift by name, sets
// bot_subscription_ok per account, subscribes again when allowed and checks once more; it runs on
// its interval one check at a time, never throws, and warns about an expiring Graph API version.
import { afterEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import request from 'supertest';
import { start } from '../app.ts';
import { INSTAGRAM_FIELDS, MESSENGER_FIELDS } from '../scripts/setup/fields.ts';
import { loadConfig } from '../services/config.ts';
import { graphClientFor } from '../services/graph/client.ts';
import { createLogger } from '../services/logger.ts';
import { silentLogger } from './support/silent-logger.ts';
import { metricsText } from '../services/metrics/merge.ts';
import { createThreadMetrics } from '../services/metrics/registry.ts';
import { GRAPH_API_EXPIRY, versionStatus } from '../services/watchdog/graph-versions.ts';
import { createSubscriptionWatchdog, type WatchdogClock } from '../services/watchdog/subscription-watchdog.ts';
import { APP_ID, GRAPH, IG_ID, PAGE_ID, TEST_ENV, VERSION } from './support/harness.ts';
import { parseScrape } from './support/prometheus.ts';

const APP_TOKEN = `${APP_ID}|${TEST_ENV.APP_SECRET as string}`;
const CALLBACK = `${TEST_ENV.APP_URL as string}/webhook`;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const FIFTEEN_MINUTES = 15 * 60_000;

afterEach(() => {
  nock.cleanAll();
});

function fakeClock(start = NOW) {
  let now = start;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const clock: WatchdogClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  return {
    clock,
    pending: () => timers.map((t) => t.at - now),
    /** Moves the clock on and runs the timers that came due. */
    advance(ms: number) {
      now += ms;
      for (const due of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
    },
  };
}

function setup(env: Record<string, string> = {}, start = NOW) {
  const config = loadConfig({ DATABASE_URL: 'memory:', ...TEST_ENV, ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const metrics = createThreadMetrics({ thread: 'main', processMetrics: false });
  const time = fakeClock(start);
  const watchdog = createSubscriptionWatchdog({ config, graph: graphClientFor(config), log, metrics, clock: time.clock });
  return {
    watchdog,
    time,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join('\n'),
    gauge: async (account: string) => parseScrape(await metricsText([await metrics.snapshot()])).value('bot_subscription_ok', { account }),
  };
}

interface Subscription {
  object: string;
  callback_url: string;
  active: boolean;
  fields: { name: string; version: string }[];
}

const appSubscription = (object: 'page' | 'instagram', fields: readonly string[], overrides: Partial<Subscription> = {}): Subscription => ({
  object,
  callback_url: CALLBACK,
  active: true,
  fields: fields.map((name) => ({ name, version: VERSION })),
  ...overrides,
});

const healthyApp = () => [appSubscription('page', MESSENGER_FIELDS), appSubscription('instagram', INSTAGRAM_FIELDS)];
const installed = (fields: readonly string[] = MESSENGER_FIELDS) => [{ id: APP_ID, name: 'Tidewater Tea Co. bot', subscribed_fields: [...fields] }];

/** GET /{app-id}/subscriptions with the app token, and GET /{page-id}/subscribed_apps with the Page token. */
function graphReads(app: Subscription[], pageApps: unknown[]) {
  return nock(GRAPH)
    .get(`/${VERSION}/${APP_ID}/subscriptions`)
    .query((q) => typeof q.appsecret_proof === 'string')
    .matchHeader('authorization', `Bearer ${APP_TOKEN}`)
    .reply(200, { data: app })
    .get(`/${VERSION}/${PAGE_ID}/subscribed_apps`)
    .query(true)
    .matchHeader('authorization', `Bearer ${TEST_ENV.PAGE_ACCESS_TOKEN as string}`)
    .reply(200, { data: pageApps });
}

const errors = (logs: Record<string, unknown>[]) => logs.filter((l) => l.level === 'error');

describe('subscription watchdog', () => {
  it('finds a complete subscription: no error, bot_subscription_ok 1 for the Page and the Instagram account', async () => {
    const t = setup();
    const reads = graphReads(healthyApp(), installed());
    const report = await t.watchdog.check();
    expect(reads.isDone()).toBe(true);
    expect(report).toEqual({
      accounts: [
        { account: PAGE_ID, ok: true, problems: [] },
        { account: IG_ID, ok: true, problems: [] },
      ],
      resubscribed: false,
    });
    expect(errors(t.logs())).toEqual([]);
    expect(await t.gauge(PAGE_ID)).toBe(1);
    expect(await t.gauge(IG_ID)).toBe(1);
  });

  it('names a missing field, a wrong callback and an inactive object; with WATCHDOG_RESUBSCRIBE off it only reports', async () => {
    const t = setup();
    const pageFields = MESSENGER_FIELDS.filter((f) => f !== 'message_reactions');
    graphReads([appSubscription('page', pageFields), appSubscription('instagram', INSTAGRAM_FIELDS, { callback_url: 'https://old-tunnel.example/webhook', active: false })], installed());
    const report = await t.watchdog.check();
    expect(report.resubscribed).toBe(false);
    expect(report.accounts).toEqual([
      { account: PAGE_ID, ok: false, problems: ['app subscription object=page: missing fields: message_reactions'] },
      {
        account: IG_ID,
        ok: false,
        problems: ['app subscription object=instagram: callback is https://old-tunnel.example/webhook, not https://bot.example.test/webhook', 'app subscription object=instagram: inactive'],
      },
    ]);
    const [drift] = errors(t.logs());
    expect(drift).toMatchObject({ msg: 'WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this bot' });
    expect(JSON.stringify(drift)).toContain(`${PAGE_ID}: app subscription object=page: missing fields: message_reactions`);
    expect(drift?.fix).toMatch(/npm run setup -- subscribe/);
    expect(await t.gauge(PAGE_ID)).toBe(0);
    expect(await t.gauge(IG_ID)).toBe(0);
    expect(t.logText()).not.toContain(TEST_ENV.APP_SECRET);
  });

  it('finds the app missing from the Page, subscribes again as `setup subscribe` does, and checks once more', async () => {
    const t = setup({ WATCHDOG_RESUBSCRIBE: 'true' });
    const first = graphReads(healthyApp(), [{ id: '999999999999999', name: 'Another app', subscribed_fields: ['messages'] }]);
    const posted: Record<string, string>[] = [];
    const subscribe = nock(GRAPH)
      .post(`/${VERSION}/${APP_ID}/subscriptions`, (body: Record<string, string>) => (posted.push(body), true))
      .query(true)
      .matchHeader('authorization', `Bearer ${APP_TOKEN}`)
      .times(2)
      .reply(200, { success: true })
      .post(`/${VERSION}/${PAGE_ID}/subscribed_apps`, (body: Record<string, string>) => body.subscribed_fields === MESSENGER_FIELDS.join(','))
      .query(true)
      .matchHeader('authorization', `Bearer ${TEST_ENV.PAGE_ACCESS_TOKEN as string}`)
      .reply(200, { success: true });
    const report = t.watchdog.check();
    // The check after subscribing reads both levels again.
    const second = graphReads(healthyApp(), installed());
    const result = await report;

    expect(first.isDone() && subscribe.isDone() && second.isDone()).toBe(true);
    expect(posted.map((b) => b.object)).toEqual(['page', 'instagram']);
    expect(posted[0]).toMatchObject({ callback_url: CALLBACK, fields: MESSENGER_FIELDS.join(','), verify_token: TEST_ENV.VERIFY_TOKEN, include_values: 'true' });
    expect(posted[1]).toMatchObject({ callback_url: CALLBACK, fields: INSTAGRAM_FIELDS.join(',') });
    expect(result.resubscribed).toBe(true);
    expect(result.accounts.every((a) => a.ok)).toBe(true);
    const logs = t.logs();
    expect(errors(logs).map((l) => l.msg)).toEqual(['WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this bot']);
    expect(JSON.stringify(errors(logs)[0])).toContain('page install: app not installed on the Page');
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['subscribed the webhooks again', 'webhook subscription restored']));
    expect(await t.gauge(PAGE_ID)).toBe(1);
    expect(await t.gauge(IG_ID)).toBe(1);
    expect(t.logText()).not.toContain(TEST_ENV.VERIFY_TOKEN);
  });

  it('keeps bot_subscription_ok at 0 and says so when subscribing again does not fix it', async () => {
    const t = setup({ WATCHDOG_RESUBSCRIBE: 'true', IG_ACCOUNT_ID: '' });
    graphReads([], installed());
    nock(GRAPH).post(`/${VERSION}/${APP_ID}/subscriptions`).query(true).reply(400, { error: { message: '(#2200) Callback verification failed', type: 'OAuthException', code: 2200, fbtrace_id: 'AbC' } });
    graphReads([], installed());
    const result = await t.watchdog.check();
    expect(result).toMatchObject({ resubscribed: false, accounts: [{ account: PAGE_ID, ok: false, problems: ['app subscription object=page: not subscribed'] }] });
    expect(errors(t.logs()).map((l) => l.msg)).toEqual([
      'WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this bot',
      'subscribing the webhooks again failed',
      'webhook subscription still incomplete after subscribing again',
    ]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
  });

  it('reports a Graph failure as a problem (bot_subscription_ok 0) and never throws', async () => {
    const t = setup();
    nock(GRAPH)
      .get(`/${VERSION}/${APP_ID}/subscriptions`)
      .query(true)
      .reply(500, { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1, fbtrace_id: 'AbC' } })
      .get(`/${VERSION}/${PAGE_ID}/subscribed_apps`)
      .query(true)
      .reply(401, { error: { message: 'Error validating access token', type: 'OAuthException', code: 190, fbtrace_id: 'AbD' } });
    const result = await t.watchdog.check();
    expect(result.accounts[0]?.problems).toEqual([
      expect.stringMatching(/^could not read the app subscription \(GET \/111111111111111\/subscriptions\): Graph API GET .* code 1\)/),
      expect.stringMatching(/^could not read the Page's subscribed apps .*code 190\): Error validating access token/),
    ]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
    expect(t.logText()).not.toContain(TEST_ENV.PAGE_ACCESS_TOKEN);
  });

  it('checks at start and then every WATCHDOG_INTERVAL, one check at a time, until stopped', async () => {
    const t = setup({ WATCHDOG_INTERVAL: '15m' });
    const first = graphReads(healthyApp(), installed());
    t.watchdog.start();
    // A second request while the first check runs joins it (the reads above answer only once).
    const joined = await t.watchdog.check();
    expect(joined.accounts.map((a) => a.ok)).toEqual([true, true]);
    expect(first.isDone()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.time.pending()).toEqual([FIFTEEN_MINUTES]);

    const second = graphReads(healthyApp(), installed(MESSENGER_FIELDS.filter((f) => f !== 'messaging_postbacks')));
    t.time.advance(FIFTEEN_MINUTES - 1);
    expect(second.isDone()).toBe(false);
    t.time.advance(1);
    await waitUntil(() => t.logs().some((l) => l.level === 'error'));
    expect(second.isDone()).toBe(true);
    expect(JSON.stringify(errors(t.logs()))).toContain('page install: missing fields: messaging_postbacks');
    expect(await t.gauge(PAGE_ID)).toBe(0);

    await waitUntil(() => t.time.pending().length === 1);
    const third = graphReads(healthyApp(), installed());
    t.time.advance(FIFTEEN_MINUTES);
    await waitUntil(() => third.isDone());
    await waitUntil(() => t.logs().some((l) => l.msg === 'webhook subscription complete again'));
    expect(await t.gauge(PAGE_ID)).toBe(1);

    await t.watchdog.stop();
    expect(t.time.pending()).toEqual([]);
  });
});

describe('the watchdog in the running app', () => {
  it('starts with the app in live mode and its verdict is in /metrics', async () => {
    const token = 'metrics-token-0123456789abcdef';
    graphReads(healthyApp(), installed(MESSENGER_FIELDS.filter((f) => f !== 'messages')));
    const running = await start(loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', PORT: '0', METRICS_TOKEN: token, LOG_LEVEL: 'silent' }), silentLogger);
    try {
      const ok = async (account: string) => {
        const res = await request(running.server).get('/metrics').set('Authorization', `Bearer ${token}`);
        return parseScrape(res.text).all('bot_subscription_ok', { account })[0]?.value;
      };
      for (let i = 0; i < 200 && (await ok(PAGE_ID)) === undefined; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await ok(PAGE_ID)).toBe(0);
      expect(await ok(IG_ID)).toBe(0);
    } finally {
      await running.close(1000);
    }
  });
});

describe('GRAPH_API_VERSION expiry', () => {
  it('knows Meta\'s schedule: v21.0 expires 2027-01-21', () => {
    expect(GRAPH_API_EXPIRY['v21.0']).toBe('2027-01-21');
    expect(versionStatus('v21.0', Date.parse('2026-12-01T10:00:00Z'))).toEqual({ kind: 'expiring', expires: '2027-01-21', days: 50 });
    expect(versionStatus('v21.0', Date.parse('2026-10-23T00:00:00Z'))).toMatchObject({ kind: 'expiring', days: 90 });
    expect(versionStatus('v21.0', Date.parse('2026-10-22T23:59:59Z'))).toMatchObject({ kind: 'ok', days: 90 });
    expect(versionStatus('v21.0', Date.parse('2027-01-21T00:00:00Z'))).toMatchObject({ kind: 'expired' });
    expect(versionStatus('v26.0', NOW)).toEqual({ kind: 'unannounced' });
    expect(versionStatus('v99.0', NOW)).toEqual({ kind: 'unknown' });
  });

  it('warns within 90 days of expiry, at most once a day, with the fix', async () => {
    const t = setup({ GRAPH_API_VERSION: 'v21.0' }, Date.parse('2026-12-01T10:00:00Z'));
    nock(GRAPH).persist().get(/.*/).query(true).reply(200, { data: [] });
    await t.watchdog.check();
    await t.watchdog.check();
    const warnings = () => t.logs().filter((l) => l.msg === 'GRAPH_API_VERSION expires soon');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 'warn', version: 'v21.0', expires_on: '2027-01-21', days_left: 50 });
    expect(warnings()[0]?.fix).toMatch(/set GRAPH_API_VERSION to a current version/);
    t.time.advance(24 * 3_600_000);
    await t.watchdog.check();
    expect(warnings()).toHaveLength(2);
  });

  it('logs an error for an expired version, says once that a version is unknown, and nothing for a current one', async () => {
    nock(GRAPH).persist().get(/.*/).query(true).reply(200, { data: [] });
    const expired = setup({ GRAPH_API_VERSION: 'v18.0' });
    await expired.watchdog.check();
    expect(expired.logs().filter((l) => l.msg === 'GRAPH_API_VERSION has expired: Graph answers these calls as another version')).toMatchObject([{ level: 'error', expired_on: '2026-01-26' }]);

    const unknown = setup({ GRAPH_API_VERSION: 'v99.0' });
    await unknown.watchdog.check();
    await unknown.watchdog.check();
    expect(unknown.logs().filter((l) => String(l.msg).startsWith('GRAPH_API_VERSION is not in the version schedule'))).toHaveLength(1);

    const current = setup({ GRAPH_API_VERSION: 'v24.0' });
    await current.watchdog.check();
    expect(current.logs().filter((l) => String(l.msg).startsWith('GRAPH_API_VERSION'))).toEqual([]);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
