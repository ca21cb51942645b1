// The subscription watchdog against Graph and the Instagram API faked by nock, on a fake clock: it
// reads the app subscription (app token) and each account's install (a Page's with its Page token
// under GRAPH_API_URL, an Instagram Login account's with its own token under INSTAGRAM_API_URL),
// reports drift by name in one error line per account, sets bot_subscription_ok per account,
// makes the drifted accounts' `setup subscribe` calls when allowed and checks them once more; it
// runs on its interval one check at a time, never throws, and warns about an expiring Graph API
// version. An Instagram Login account is checked with the newest token the bot refreshed (its store).
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import nock from 'nock';
import request from 'supertest';
import { start } from '../app.ts';
import { INSTAGRAM_FIELDS, MESSENGER_FIELDS } from '../scripts/setup/fields.ts';
import { createMemoryTokenStore, tokenOrigin, type StoredToken } from '../services/accounts/tokens.ts';
import { commentTriggers, type CommentTriggers } from '../services/comments/triggers.ts';
import { loadConfig, secretsOf } from '../services/config.ts';
import { appSecretProof, graphClientFor } from '../services/graph/client.ts';
import { createLogger } from '../services/logger.ts';
import { createSecretSet } from '../services/redact.ts';
import { createSqliteStore } from '../services/state/sqlite-store.ts';
import { silentLogger } from './support/silent-logger.ts';
import { metricsText } from '../services/metrics/merge.ts';
import { createThreadMetrics } from '../services/metrics/registry.ts';
import { GRAPH_API_EXPIRY, versionStatus } from '../services/watchdog/graph-versions.ts';
import { createSubscriptionWatchdog, type StoredTokens, type WatchdogClock } from '../services/watchdog/subscription-watchdog.ts';
import { ACCOUNTS, APP_SECRET as ACCOUNTS_APP_SECRET, IG_LOGIN, INSTAGRAM, INSTAGRAM_APP_SECRET, PAGE_A, PAGE_B, TOKENS, accountsEnv, accountsFile } from './support/accounts.ts';
import { APP_ID, GRAPH, PAGE_ID, TEST_ENV, VERSION } from './support/harness.ts';
import { startMockGraph, type GraphCall } from './support/mock-graph-server.ts';
import { parseScrape } from './support/prometheus.ts';
import { tempDir } from './reliability/helpers.ts';
import { trigger } from './support/setup-deps.ts';

const APP_TOKEN = `${APP_ID}|${TEST_ENV.APP_SECRET as string}`;
const CALLBACK = `${TEST_ENV.APP_URL as string}/webhook`;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const FIFTEEN_MINUTES = 15 * 60_000;
const DRIFT = 'WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this account';
const NO_TRIGGERS = commentTriggers([]);

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

function setup(env: Record<string, string> = {}, options: { start?: number; comments?: CommentTriggers; storedTokens?: StoredTokens } = {}) {
  const config = loadConfig({ DATABASE_URL: 'memory:', ...TEST_ENV, ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const metrics = createThreadMetrics({ thread: 'main', processMetrics: false });
  const time = fakeClock(options.start);
  const stored = options.storedTokens ? { storedTokens: options.storedTokens } : {};
  const watchdog = createSubscriptionWatchdog({ config, graph: graphClientFor(config), comments: options.comments ?? NO_TRIGGERS, log, metrics, clock: time.clock, ...stored });
  return {
    config,
    watchdog,
    time,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join('\n'),
    gauge: async (account: string) => parseScrape(await metricsText([await metrics.snapshot()])).value('bot_subscription_ok', { account }),
    gauges: async () => parseScrape(await metricsText([await metrics.snapshot()])).all('bot_subscription_ok').map((s) => [s.labels.account, s.value]),
  };
}

/** The watchdog over ACCOUNTS_FILE: two Pages (the first with a linked Instagram account) and an Instagram Login account, unless `file` says otherwise. */
function setupAccounts(env: Record<string, string> = {}, file?: string, storedTokens?: StoredTokens) {
  return setup({ PAGE_ACCESS_TOKEN: '', PAGE_ID: '', IG_ACCOUNT_ID: '', ...accountsEnv(file, env) }, storedTokens ? { storedTokens } : {});
}

interface Subscription {
  object: string;
  callback_url: string;
  active: boolean;
  fields: { name: string; version: string }[];
}

const appSubscription = (object: 'page' | 'instagram', fields: readonly string[], overrides: Partial<Subscription> = {}, callback = CALLBACK): Subscription => ({
  object,
  callback_url: callback,
  active: true,
  fields: fields.map((name) => ({ name, version: VERSION })),
  ...overrides,
});

const healthyApp = () => [appSubscription('page', MESSENGER_FIELDS), appSubscription('instagram', INSTAGRAM_FIELDS)];
const installed = (fields: readonly string[] = MESSENGER_FIELDS, id = APP_ID) => ({ data: [{ id, name: 'Tidewater Tea Co. bot', subscribed_fields: [...fields] }] });
const notInstalled = { data: [] };

interface Call {
  host: 'graph' | 'instagram';
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string> | undefined;
  authorization: string | undefined;
}

/** Each `on` is one expected call (answered once); every call is recorded as it arrives. */
function world() {
  const calls: Call[] = [];
  const hosts = { graph: GRAPH, instagram: INSTAGRAM } as const;
  const on = (host: keyof typeof hosts, method: string, path: string, status: number, response: unknown) =>
    nock(hosts[host])
      .intercept(`/${VERSION}/${path}`, method)
      .query(true)
      .reply(function (uri, body) {
        const url = new URL(uri, hosts[host]);
        const headers = this.req.headers as Record<string, string | undefined>;
        const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
        calls.push({ host, method, path: url.pathname.replace(`/${VERSION}/`, ''), query: Object.fromEntries(url.searchParams), form: isForm && typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : undefined, authorization: headers.authorization });
        return [status, response as nock.ReplyBody];
      });
  /** `host METHOD path` per call; reads made together (one check) are sorted, as they run at once. */
  const phases = () => {
    const out: string[][] = [];
    for (const c of calls) {
      const line = `${c.host} ${c.method} ${c.path}`;
      const last = out.at(-1);
      if (last && c.method === 'GET' && last[0]?.includes(' GET ')) last.push(line);
      else out.push([line]);
    }
    return out.map((phase) => (phase[0]?.includes(' GET ') ? phase.sort() : phase));
  };
  return { calls, on, phases, done: () => nock.pendingMocks().length === 0 };
}

/** The token in the header, the proof with the right app secret, no token in the URL. */
function expectToken(call: Call | undefined, token: string, secret: string) {
  expect(call?.authorization).toBe(`Bearer ${token}`);
  expect(call?.query.appsecret_proof).toBe(appSecretProof(token, secret));
  expect(call?.query.access_token).toBeUndefined();
}

/** Reads one check makes at once, in the order `phases()` gives them. */
const together = (...lines: string[]) => lines.sort();
const errors = (logs: Record<string, unknown>[]) => logs.filter((l) => l.level === 'error');
const find = (w: ReturnType<typeof world>, line: string) => w.calls.find((c) => `${c.host} ${c.method} ${c.path}` === line);

describe('subscription watchdog, one Page with a linked Instagram account', () => {
  it('finds a complete subscription: the app token and the Page token, no error, bot_subscription_ok 1', async () => {
    const t = setup();
    const w = world();
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: healthyApp() });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed());
    const report = await t.watchdog.check();
    expect(w.done()).toBe(true);
    expect(w.phases()).toEqual([together(`graph GET ${APP_ID}/subscriptions`, `graph GET ${PAGE_ID}/subscribed_apps`)]);
    expectToken(find(w, `graph GET ${APP_ID}/subscriptions`), APP_TOKEN, TEST_ENV.APP_SECRET as string);
    expectToken(find(w, `graph GET ${PAGE_ID}/subscribed_apps`), TEST_ENV.PAGE_ACCESS_TOKEN as string, TEST_ENV.APP_SECRET as string);
    expect(report).toEqual({ accounts: [{ account: PAGE_ID, ok: true, problems: [] }], resubscribed: false });
    expect(errors(t.logs())).toEqual([]);
    expect(await t.gauges()).toEqual([[PAGE_ID, 1]]);
  });

  it('names a missing field, a wrong callback and an inactive object in one error line; with WATCHDOG_RESUBSCRIBE off it only reports', async () => {
    const t = setup();
    const w = world();
    const pageFields = MESSENGER_FIELDS.filter((f) => f !== 'message_reactions');
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: [appSubscription('page', pageFields), appSubscription('instagram', INSTAGRAM_FIELDS, { callback_url: 'https://old-tunnel.example/webhook', active: false })] });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed());
    const report = await t.watchdog.check();
    const problems = [
      'app subscription object=page: missing fields: message_reactions',
      'app subscription object=instagram: callback is https://old-tunnel.example/webhook, not https://bot.example.test/webhook',
      'app subscription object=instagram: inactive',
    ];
    expect(report).toEqual({ accounts: [{ account: PAGE_ID, ok: false, problems }], resubscribed: false });
    expect(errors(t.logs())).toEqual([expect.objectContaining({ msg: DRIFT, account: PAGE_ID, problems, fix: 'run `npm run setup -- subscribe`, or set WATCHDOG_RESUBSCRIBE=true' })]);
    expect(w.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
    expect(t.logText()).not.toContain(TEST_ENV.APP_SECRET);
  });

  it('expects the comment fields when there are triggers: feed on object=page and on the Page, comments on object=instagram', async () => {
    const t = setup({}, { comments: commentTriggers([trigger()]) });
    const w = world();
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: [appSubscription('page', MESSENGER_FIELDS), appSubscription('instagram', [...INSTAGRAM_FIELDS, 'comments', 'live_comments'])] });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed());
    const report = await t.watchdog.check();
    expect(report.accounts).toEqual([{ account: PAGE_ID, ok: false, problems: ['app subscription object=page: missing fields: feed', 'page install: missing fields: feed'] }]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
  });

  it('keeps bot_subscription_ok at 0 and says so when subscribing again fails (the install is not tried, as `setup subscribe` stops there)', async () => {
    const t = setup({ WATCHDOG_RESUBSCRIBE: 'true', IG_ACCOUNT_ID: '' });
    const w = world();
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: [] });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed());
    w.on('graph', 'POST', `${APP_ID}/subscriptions`, 400, { error: { message: '(#2200) Callback verification failed', type: 'OAuthException', code: 2200, fbtrace_id: 'AbC' } });
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: [] });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed());
    const result = await t.watchdog.check();
    expect(w.done()).toBe(true);
    expect(w.phases()).toEqual([
      together(`graph GET ${APP_ID}/subscriptions`, `graph GET ${PAGE_ID}/subscribed_apps`),
      [`graph POST ${APP_ID}/subscriptions`],
      together(`graph GET ${APP_ID}/subscriptions`, `graph GET ${PAGE_ID}/subscribed_apps`),
    ]);
    expect(result).toEqual({ resubscribed: false, accounts: [{ account: PAGE_ID, ok: false, problems: ['app subscription object=page: not subscribed'] }] });
    expect(errors(t.logs()).map((l) => [l.msg, l.account ?? l.object])).toEqual([
      [DRIFT, PAGE_ID],
      ['subscribing the webhooks again failed', 'page'],
      ['webhook subscription still incomplete after subscribing again', PAGE_ID],
    ]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
  });

  it('reports a Graph failure as a problem (bot_subscription_ok 0) and never throws', async () => {
    const t = setup();
    const w = world();
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 500, { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1, fbtrace_id: 'AbC' } });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 401, { error: { message: 'Error validating access token', type: 'OAuthException', code: 190, fbtrace_id: 'AbD' } });
    const result = await t.watchdog.check();
    expect(result.accounts[0]?.problems).toEqual([
      expect.stringMatching(/^could not read the app subscription: Graph API GET \/v24\.0\/111111111111111\/subscriptions .*code 1\b/),
      expect.stringMatching(/^could not read the Page's install: Graph API GET \/v24\.0\/1234567890\/subscribed_apps .*code 190\b.*Error validating access token/),
    ]);
    expect(await t.gauge(PAGE_ID)).toBe(0);
    expect(t.logText()).not.toContain(TEST_ENV.PAGE_ACCESS_TOKEN);
  });

  it('checks at start and then every WATCHDOG_INTERVAL, one check at a time, until stopped', async () => {
    const t = setup({ WATCHDOG_INTERVAL: '15m' });
    const reads = (install: unknown) => {
      const w = world();
      w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: healthyApp() });
      w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, install);
      return w;
    };
    const first = reads(installed());
    t.watchdog.start();
    // A second request while the first check runs joins it (the reads above answer only once).
    const joined = await t.watchdog.check();
    expect(joined.accounts.map((a) => a.ok)).toEqual([true]);
    expect(first.done()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.time.pending()).toEqual([FIFTEEN_MINUTES]);

    const second = reads(installed(MESSENGER_FIELDS.filter((f) => f !== 'messaging_postbacks')));
    t.time.advance(FIFTEEN_MINUTES - 1);
    expect(second.calls).toEqual([]);
    t.time.advance(1);
    await waitUntil(() => errors(t.logs()).length > 0);
    expect(second.done()).toBe(true);
    expect(errors(t.logs())[0]).toMatchObject({ msg: DRIFT, account: PAGE_ID, problems: ['page install: missing fields: messaging_postbacks'] });
    expect(await t.gauge(PAGE_ID)).toBe(0);

    await waitUntil(() => t.time.pending().length === 1);
    const third = reads(installed());
    t.time.advance(FIFTEEN_MINUTES);
    await waitUntil(() => t.logs().some((l) => l.msg === 'webhook subscription complete again'));
    expect(third.done()).toBe(true);
    expect(await t.gauge(PAGE_ID)).toBe(1);

    await t.watchdog.stop();
    expect(t.time.pending()).toEqual([]);
  });
});

describe('subscription watchdog, several accounts (ACCOUNTS_FILE)', () => {
  const APP = '333333333333333';
  const ACCOUNTS_APP_TOKEN = `${APP}|${ACCOUNTS_APP_SECRET}`;
  const ACCOUNTS_CALLBACK = 'https://bot.example.test/webhook';
  const healthy = () => [appSubscription('page', MESSENGER_FIELDS, {}, ACCOUNTS_CALLBACK), appSubscription('instagram', INSTAGRAM_FIELDS, {}, ACCOUNTS_CALLBACK)];
  // Meta lists the Instagram app under its own id on an Instagram Login account.
  const igInstalled = () => installed(INSTAGRAM_FIELDS, '1111222233334444');

  it("finds a missing Page install and an Instagram Login account's missing install: one error line each, their gauges 0, the healthy Page's 1", async () => {
    const t = setupAccounts();
    const w = world();
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: healthy() });
    w.on('graph', 'GET', `${PAGE_A}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, { data: [{ id: '999999999999999', name: 'Another app', subscribed_fields: ['messages'] }] });
    w.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, notInstalled);

    const report = await t.watchdog.check();

    expect(w.done()).toBe(true);
    expect(w.phases()).toEqual([together(`graph GET ${APP}/subscriptions`, `graph GET ${PAGE_A}/subscribed_apps`, `graph GET ${PAGE_B}/subscribed_apps`, `instagram GET ${IG_LOGIN}/subscribed_apps`)]);
    expectToken(find(w, `graph GET ${APP}/subscriptions`), ACCOUNTS_APP_TOKEN, ACCOUNTS_APP_SECRET);
    expectToken(find(w, `graph GET ${PAGE_A}/subscribed_apps`), TOKENS.pageA, ACCOUNTS_APP_SECRET);
    expectToken(find(w, `graph GET ${PAGE_B}/subscribed_apps`), TOKENS.pageB, ACCOUNTS_APP_SECRET);
    expectToken(find(w, `instagram GET ${IG_LOGIN}/subscribed_apps`), TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(report).toEqual({
      accounts: [
        { account: PAGE_A, ok: true, problems: [] },
        { account: PAGE_B, ok: false, problems: ['page install: app not installed on the Page'] },
        { account: IG_LOGIN, ok: false, problems: ['instagram install: app not installed on the Instagram account'] },
      ],
      resubscribed: false,
    });
    expect(errors(t.logs())).toEqual([
      expect.objectContaining({ msg: DRIFT, account: PAGE_B, problems: ['page install: app not installed on the Page'], fix: `run \`npm run setup -- subscribe --account ${PAGE_B}\`, or set WATCHDOG_RESUBSCRIBE=true` }),
      expect.objectContaining({ msg: DRIFT, account: IG_LOGIN, problems: ['instagram install: app not installed on the Instagram account'], fix: `run \`npm run setup -- subscribe --account ${IG_LOGIN}\`, or set WATCHDOG_RESUBSCRIBE=true` }),
    ]);
    expect(await t.gauges()).toEqual([
      [PAGE_A, 1],
      [PAGE_B, 0],
      [IG_LOGIN, 0],
    ]);
    for (const token of [...Object.values(TOKENS), ACCOUNTS_APP_SECRET, INSTAGRAM_APP_SECRET]) expect(t.logText()).not.toContain(token);
  });

  it('two Pages where only one drifted: its gauge 0, the other 1; resubscribing makes only its calls, then checks it once more', async () => {
    const [first, second] = ACCOUNTS.accounts;
    const twoPages = accountsFile({ accounts: [{ ...first, instagram_account_id: undefined }, second] });
    const t = setupAccounts({ WATCHDOG_RESUBSCRIBE: 'true' }, twoPages);
    const page = [appSubscription('page', MESSENGER_FIELDS, {}, ACCOUNTS_CALLBACK)];
    const w = world();
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: page });
    w.on('graph', 'GET', `${PAGE_A}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, installed(MESSENGER_FIELDS.filter((f) => f !== 'messages'), APP));
    w.on('graph', 'POST', `${APP}/subscriptions`, 200, { success: true });
    w.on('graph', 'POST', `${PAGE_B}/subscribed_apps`, 200, { success: true });
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: page });
    // Meta answers the second read as if the install had not changed yet.
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, installed(MESSENGER_FIELDS.filter((f) => f !== 'messages'), APP));

    const report = await t.watchdog.check();

    expect(w.done()).toBe(true);
    expect(w.phases()).toEqual([
      together(`graph GET ${APP}/subscriptions`, `graph GET ${PAGE_A}/subscribed_apps`, `graph GET ${PAGE_B}/subscribed_apps`),
      [`graph POST ${APP}/subscriptions`],
      [`graph POST ${PAGE_B}/subscribed_apps`],
      together(`graph GET ${APP}/subscriptions`, `graph GET ${PAGE_B}/subscribed_apps`),
    ]);
    const [, , , app, install] = w.calls;
    expectToken(app, ACCOUNTS_APP_TOKEN, ACCOUNTS_APP_SECRET);
    expect(app?.form).toEqual({ object: 'page', callback_url: ACCOUNTS_CALLBACK, fields: MESSENGER_FIELDS.join(','), include_values: 'true', verify_token: 'accounts-verify-token-0123456789' });
    expectToken(install, TOKENS.pageB, ACCOUNTS_APP_SECRET);
    expect(install?.form).toEqual({ subscribed_fields: MESSENGER_FIELDS.join(',') });
    expect(report).toEqual({
      accounts: [
        { account: PAGE_A, ok: true, problems: [] },
        { account: PAGE_B, ok: false, problems: ['page install: missing fields: messages'] },
      ],
      resubscribed: true,
    });
    expect(errors(t.logs()).map((l) => [l.msg, l.account])).toEqual([
      [DRIFT, PAGE_B],
      ['webhook subscription still incomplete after subscribing again', PAGE_B],
    ]);
    expect(await t.gauges()).toEqual([
      [PAGE_A, 1],
      [PAGE_B, 0],
    ]);
  });

  it("on the fake clock: healthy at start; 15 minutes later the Instagram Login account lost its install, and the watchdog makes that account's `setup subscribe` calls and checks it once more", async () => {
    const t = setupAccounts({ WATCHDOG_RESUBSCRIBE: 'true', WATCHDOG_INTERVAL: '15m' });
    const start = world();
    start.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: healthy() });
    start.on('graph', 'GET', `${PAGE_A}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    start.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    start.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, igInstalled());
    t.watchdog.start();
    await waitUntil(() => t.time.pending().length === 1);
    expect(start.done()).toBe(true);
    expect(await t.gauges()).toEqual([
      [PAGE_A, 1],
      [PAGE_B, 1],
      [IG_LOGIN, 1],
    ]);

    const w = world();
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: healthy() });
    w.on('graph', 'GET', `${PAGE_A}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    w.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, notInstalled);
    w.on('graph', 'POST', `${APP}/subscriptions`, 200, { success: true });
    w.on('instagram', 'POST', `${IG_LOGIN}/subscribed_apps`, 200, { success: true });
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: healthy() });
    w.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, igInstalled());
    t.time.advance(FIFTEEN_MINUTES - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(w.calls).toEqual([]);
    t.time.advance(1);
    await waitUntil(() => t.logs().some((l) => l.msg === 'webhook subscription restored'));

    expect(w.done()).toBe(true);
    expect(w.phases()).toEqual([
      together(`graph GET ${APP}/subscriptions`, `graph GET ${PAGE_A}/subscribed_apps`, `graph GET ${PAGE_B}/subscribed_apps`, `instagram GET ${IG_LOGIN}/subscribed_apps`),
      [`graph POST ${APP}/subscriptions`],
      [`instagram POST ${IG_LOGIN}/subscribed_apps`],
      together(`graph GET ${APP}/subscriptions`, `instagram GET ${IG_LOGIN}/subscribed_apps`),
    ]);
    const app = find(w, `graph POST ${APP}/subscriptions`);
    expectToken(app, ACCOUNTS_APP_TOKEN, ACCOUNTS_APP_SECRET);
    expect(app?.form).toEqual({ object: 'instagram', callback_url: ACCOUNTS_CALLBACK, fields: INSTAGRAM_FIELDS.join(','), include_values: 'true', verify_token: 'accounts-verify-token-0123456789' });
    const install = find(w, `instagram POST ${IG_LOGIN}/subscribed_apps`);
    expectToken(install, TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(install?.form).toEqual({ subscribed_fields: INSTAGRAM_FIELDS.join(',') });

    const logs = t.logs();
    expect(errors(logs)).toEqual([expect.objectContaining({ msg: DRIFT, account: IG_LOGIN, problems: ['instagram install: app not installed on the Instagram account'], fix: 'subscribing again (WATCHDOG_RESUBSCRIBE=true)' })]);
    expect(logs.filter((l) => l.level === 'info').map((l) => [l.msg, l.accounts])).toEqual([
      ['subscribed the webhooks again', [IG_LOGIN]],
      ['webhook subscription restored', [IG_LOGIN]],
    ]);
    expect(await t.gauges()).toEqual([
      [PAGE_A, 1],
      [PAGE_B, 1],
      [IG_LOGIN, 1],
    ]);
    await waitUntil(() => t.time.pending().length === 1);
    await t.watchdog.stop();
    expect(t.time.pending()).toEqual([]);
    expect(t.logText()).not.toContain('accounts-verify-token-0123456789');
  });
});

describe("the watchdog with the Instagram Login token the bot refreshed (the bot's store)", () => {
  const APP = '333333333333333';
  const CALLBACK_URL = 'https://bot.example.test/webhook';
  const DAY = 86_400_000;
  const REFRESHED = 'IGAArefreshedOnceByTheBot0123456789';
  const REFRESHED_AGAIN = 'IGAArefreshedTwiceByTheBot0123456789';
  const onePage = () => accountsFile({ accounts: [{ ...ACCOUNTS.accounts[1] }, { ...ACCOUNTS.accounts[2] }] });
  const app = () => [appSubscription('page', MESSENGER_FIELDS, {}, CALLBACK_URL), appSubscription('instagram', INSTAGRAM_FIELDS, {}, CALLBACK_URL)];
  const igInstalled = () => installed(INSTAGRAM_FIELDS, '1111222233334444');
  const refreshed = (token: string, at: number, origin = tokenOrigin(TOKENS.igLogin)): StoredToken => ({ token, refreshed_at: at, expires_at: at + 60 * DAY, origin });
  /** One check's reads: the app subscription, the Page's install, the Instagram Login account's. */
  const reads = (w: ReturnType<typeof world>, ig: unknown = igInstalled()) => {
    w.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: app() });
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, installed(MESSENGER_FIELDS, APP));
    w.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, ig);
  };

  it('checks with the newest stored token, read again before every check: every Instagram call carries it, never the older one from the file, and it is never logged', async () => {
    const store = createMemoryTokenStore();
    await store.putToken(IG_LOGIN, refreshed(REFRESHED, NOW - 20 * DAY));
    const secrets = createSecretSet();
    const t = setupAccounts({ WATCHDOG_RESUBSCRIBE: 'true' }, onePage(), { store, secrets });

    const first = world();
    reads(first);
    expect(await t.watchdog.check()).toEqual({ accounts: [{ account: PAGE_B, ok: true, problems: [] }, { account: IG_LOGIN, ok: true, problems: [] }], resubscribed: false });
    expect(first.done()).toBe(true);
    expectToken(find(first, `instagram GET ${IG_LOGIN}/subscribed_apps`), REFRESHED, INSTAGRAM_APP_SECRET);
    expectToken(find(first, `graph GET ${PAGE_B}/subscribed_apps`), TOKENS.pageB, ACCOUNTS_APP_SECRET);
    // Adopted: the run's secrets know it, so the logger and the dashboard scrub it.
    expect(secrets.values()).toContain(REFRESHED);

    // The bot refreshed it again since; and this time the install is gone, so the watchdog subscribes again.
    await store.putToken(IG_LOGIN, refreshed(REFRESHED_AGAIN, NOW - DAY));
    const second = world();
    reads(second, notInstalled);
    second.on('graph', 'POST', `${APP}/subscriptions`, 200, { success: true });
    second.on('instagram', 'POST', `${IG_LOGIN}/subscribed_apps`, 200, { success: true });
    second.on('graph', 'GET', `${APP}/subscriptions`, 200, { data: app() });
    second.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, igInstalled());
    expect((await t.watchdog.check()).resubscribed).toBe(true);
    expect(second.done()).toBe(true);
    const instagram = second.calls.filter((c) => c.host === 'instagram');
    expect(instagram.map((c) => `${c.method} ${c.path}`)).toEqual([`GET ${IG_LOGIN}/subscribed_apps`, `POST ${IG_LOGIN}/subscribed_apps`, `GET ${IG_LOGIN}/subscribed_apps`]);
    for (const call of instagram) expectToken(call, REFRESHED_AGAIN, INSTAGRAM_APP_SECRET);
    expect(secrets.values()).toContain(REFRESHED_AGAIN);

    expect(errors(t.logs()).map((l) => l.msg)).toEqual([DRIFT]);
    for (const token of [REFRESHED, REFRESHED_AGAIN, ...Object.values(TOKENS)]) expect(t.logText()).not.toContain(token);
  });

  it("uses the file's token when the stored one was refreshed from another (replaced) token, and when the store cannot be read, with a warning", async () => {
    const replaced = createMemoryTokenStore();
    await replaced.putToken(IG_LOGIN, refreshed(REFRESHED, NOW - DAY, tokenOrigin('IGAAthePreviousFileToken0123456789')));
    const t = setupAccounts({}, onePage(), { store: replaced, secrets: createSecretSet() });
    const w = world();
    reads(w);
    expect((await t.watchdog.check()).accounts.every((c) => c.ok)).toBe(true);
    expectToken(find(w, `instagram GET ${IG_LOGIN}/subscribed_apps`), TOKENS.igLogin, INSTAGRAM_APP_SECRET);

    const broken = { getToken: () => Promise.reject(new Error('SQLITE_BUSY: database is locked')) };
    const u = setupAccounts({}, onePage(), { store: broken, secrets: createSecretSet() });
    const v = world();
    reads(v);
    expect((await u.watchdog.check()).accounts.every((c) => c.ok)).toBe(true);
    expectToken(find(v, `instagram GET ${IG_LOGIN}/subscribed_apps`), TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(u.logs().filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ msg: 'could not read the refreshed Instagram token from the store; checking with the token in use', account: IG_LOGIN }),
    ]);
  });
});

describe('the watchdog in the running app', () => {
  it("starts with the app in live mode, expects the shipped triggers' comment fields, and its verdict is in /metrics", async () => {
    const token = 'metrics-token-0123456789abcdef';
    // data/comment-replies.json answers on Facebook and Instagram: without feed the Page is incomplete.
    const w = world();
    w.on('graph', 'GET', `${APP_ID}/subscriptions`, 200, { data: [appSubscription('page', [...MESSENGER_FIELDS, 'feed']), appSubscription('instagram', [...INSTAGRAM_FIELDS, 'comments', 'live_comments'])] });
    w.on('graph', 'GET', `${PAGE_ID}/subscribed_apps`, 200, installed(MESSENGER_FIELDS));
    const lines: string[] = [];
    const log = createLogger({ level: 'error', write: (line) => lines.push(line) });
    const running = await start(loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', PORT: '0', METRICS_TOKEN: token }), log);
    try {
      const ok = async () => {
        const res = await request(running.server).get('/metrics').set('Authorization', `Bearer ${token}`);
        return parseScrape(res.text).all('bot_subscription_ok', { account: PAGE_ID })[0]?.value;
      };
      for (let i = 0; i < 200 && (await ok()) === undefined; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await ok()).toBe(0);
      expect(w.done()).toBe(true);
      const drift = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === DRIFT);
      expect(drift).toMatchObject({ component: 'watchdog', account: PAGE_ID, problems: ['page install: missing fields: feed'] });
    } finally {
      await running.close(1000);
    }
  });

  it("shows its calls on the live dashboard with each one's API, and no token", async () => {
    const dashboard = 'dashboard-token-0123456789abcdef';
    const w = world();
    w.on('graph', 'GET', '333333333333333/subscriptions', 200, { data: [] });
    w.on('graph', 'GET', `${PAGE_A}/subscribed_apps`, 200, notInstalled);
    w.on('graph', 'GET', `${PAGE_B}/subscribed_apps`, 200, notInstalled);
    w.on('instagram', 'GET', `${IG_LOGIN}/subscribed_apps`, 200, notInstalled);
    const config = loadConfig({ ...accountsEnv(), DASHBOARD_TOKEN: dashboard, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const running = await start(config, silentLogger);
    try {
      await waitUntil(() => w.done());
      const records = async () => ((await request(running.server).get('/dashboard/api/records').set('Authorization', `Bearer ${dashboard}`)).body as { records: { kind: string; api?: string; method?: string; path?: string }[] }).records;
      for (let i = 0; i < 200 && (await records()).length < 4; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      const calls = (await records()).filter((r) => r.kind === 'graph').map((r) => `${r.api ?? '?'} ${r.method ?? ''} ${r.path ?? ''}`);
      expect(calls.sort()).toEqual(together('graph GET /333333333333333/subscriptions', `graph GET /${PAGE_A}/subscribed_apps`, `graph GET /${PAGE_B}/subscribed_apps`, `instagram GET /${IG_LOGIN}/subscribed_apps`));
      const text = JSON.stringify(await records());
      for (const secret of [...Object.values(TOKENS), ACCOUNTS_APP_SECRET, INSTAGRAM_APP_SECRET]) expect(text).not.toContain(secret);
    } finally {
      await running.close(1000);
    }
  });

  it("with a SQLite file (the worker thread), checks the Instagram Login account with the token the bot refreshed, read through the webhook thread's store", async () => {
    const dir = tempDir('watchdog-tokens');
    const [graph, instagram] = await Promise.all([startMockGraph(), startMockGraph()]);
    const REFRESHED = 'IGAArefreshedByTheBotLastWeek0123456789';
    const path = join(dir.path, 'bot.db');
    // Refreshed a day ago with 59 days left: the bot's refresher has nothing to do at start.
    const seeded = createSqliteStore(path);
    await seeded.putToken(IG_LOGIN, { token: REFRESHED, refreshed_at: Date.now() - 86_400_000, expires_at: Date.now() + 59 * 86_400_000, origin: tokenOrigin(TOKENS.igLogin) });
    await seeded.close();
    const subscribedApps = `/${VERSION}/${IG_LOGIN}/subscribed_apps`;
    instagram.setFault((call) => (call.path === subscribedApps ? { kind: 'status', status: 200, body: notInstalled } : undefined));
    // The Pages are complete (with the shipped triggers' comment fields): the Instagram Login account's install is the one drift.
    const callback = 'https://bot.example.test/webhook';
    const app = { data: [appSubscription('page', [...MESSENGER_FIELDS, 'feed'], {}, callback), appSubscription('instagram', [...INSTAGRAM_FIELDS, 'comments', 'live_comments'], {}, callback)] };
    graph.setFault((call) => ({ kind: 'status', status: 200, body: call.path.endsWith('/subscriptions') ? app : installed([...MESSENGER_FIELDS, 'feed'], '333333333333333') }));
    const config = loadConfig({ ...accountsEnv(undefined, { DATABASE_URL: `sqlite:${path}`, GRAPH_API_URL: graph.url, INSTAGRAM_API_URL: instagram.url, LOG_LEVEL: 'silent' }), PORT: '0', HOST: '127.0.0.1' });
    const secrets = createSecretSet(secretsOf(config));
    const lines: string[] = [];
    const running = await start(config, createLogger({ level: 'debug', write: (line) => lines.push(line) }), { secrets });
    try {
      const install = () => instagram.calls.find((c: GraphCall) => c.path === subscribedApps);
      await waitUntil(() => install() !== undefined && lines.some((l) => l.includes(DRIFT)));
      expect(install()?.authorization).toBe(`Bearer ${REFRESHED}`);
      expect(install()?.query.appsecret_proof).toBe(appSecretProof(REFRESHED, INSTAGRAM_APP_SECRET));
      expect(instagram.calls.filter((c) => c.authorization === `Bearer ${TOKENS.igLogin}`)).toEqual([]);
      expect(secrets.values()).toContain(REFRESHED);
      const drift = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === DRIFT && l.account === IG_LOGIN);
      expect(drift).toMatchObject({ component: 'watchdog', problems: ['instagram install: app not installed on the Instagram account'] });
      for (const token of [REFRESHED, TOKENS.igLogin]) expect(lines.join('\n')).not.toContain(token);
    } finally {
      await running.close(2000);
      await Promise.all([graph.close(), instagram.close()]);
      dir.remove();
    }
  }, 30_000);
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
    const t = setup({ GRAPH_API_VERSION: 'v21.0' }, { start: Date.parse('2026-12-01T10:00:00Z') });
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

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
