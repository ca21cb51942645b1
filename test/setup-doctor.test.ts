// `doctor`: every check with ✔/✖ and a fix, exit 0 only when all pass. The Graph API and the
// public webhook URL are both faked with nock; each failing check is made to fail on its own.
import { describe, expect, it } from '@jest/globals';
import { setupDeps, setupEnv, trigger, triggers } from './support/setup-deps.ts';
import nock from 'nock';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { doctor } from '../scripts/setup/doctor.ts';
import { INSTAGRAM_FIELDS, MESSENGER_FIELDS, webhookFields, type WebhookFields } from '../scripts/setup/fields.ts';
import type { CommentTriggers } from '../services/comments/triggers.ts';
import { desiredInstagramProfile, desiredMessengerProfile } from '../scripts/setup/profile-model.ts';

const GRAPH = 'https://graph.test';
const V = 'v24.0';
const APP = '222222222222222';
const PAGE = '3333333333';
const IG = '17841400000000009';
const APP_URL = 'https://bot.example.test';
const ENV = setupEnv('doctor');
const APP_TOKEN = `${APP}|${ENV.APP_SECRET}`;
const NOW = Date.parse('2026-11-23T10:00:00Z');
const CHALLENGE = '4815162342';
const translations = createTranslations();

interface Call {
  method: string;
  host: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

function recorder() {
  const calls: Call[] = [];
  const on = (base: string, method: string, path: string, status: number, response: unknown) =>
    nock(base)
      .intercept(path, method)
      .query(true)
      .reply(function (uri) {
        const url = new URL(uri, base);
        const auth = (this.req.headers as Record<string, string | undefined>).authorization;
        calls.push({ method, host: url.host, path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: auth });
        return [status, response];
      });
  return { calls, on };
}

function setup(env: Record<string, string> = {}, comments?: CommentTriggers) {
  return setupDeps({ ...ENV, ...env }, { translations, challenge: () => CHALLENGE, now: () => NOW, ...(comments === undefined ? {} : { comments }) });
}

interface Overrides {
  token?: Record<string, unknown>;
  tokenError?: unknown;
  subscriptions?: unknown;
  install?: unknown;
  webhook?: [number, string];
  profile?: unknown;
  ig?: boolean;
  /** The fields Meta has on record (the messaging ones by default). */
  fields?: WebhookFields;
}

const goodToken = (ig: boolean) => ({
  app_id: APP,
  type: 'PAGE',
  application: 'Tidewater Bot',
  is_valid: true,
  expires_at: 0,
  data_access_expires_at: Math.floor(NOW / 1000) + 80 * 86400,
  profile_id: PAGE,
  user_id: '10000000001',
  scopes: ['pages_show_list', 'pages_messaging', 'pages_manage_metadata', ...(ig ? ['instagram_basic', 'instagram_manage_messages'] : [])],
});

const sub = (object: string, fields: readonly string[]) => ({ object, callback_url: `${APP_URL}/webhook`, active: true, fields: fields.map((name) => ({ name, version: V })) });

/** Mocks every call doctor makes, answering as a healthy setup would unless overridden. */
function world(o: Overrides = {}) {
  const ig = o.ig === true;
  const fields = o.fields ?? { page: MESSENGER_FIELDS, instagram: INSTAGRAM_FIELDS };
  const r = recorder();
  r.on(GRAPH, 'GET', `/${V}/debug_token`, o.tokenError === undefined ? 200 : 400, o.tokenError ?? { data: { ...goodToken(ig), ...o.token } });
  r.on(GRAPH, 'GET', `/${V}/${APP}/subscriptions`, 200, o.subscriptions ?? { data: [sub('page', fields.page), ...(ig ? [sub('instagram', fields.instagram)] : [])] });
  r.on(GRAPH, 'GET', `/${V}/${PAGE}/subscribed_apps`, 200, o.install ?? { data: [{ id: APP, name: 'Tidewater Bot', subscribed_fields: [...fields.page] }] });
  const [status, body] = o.webhook ?? [200, CHALLENGE];
  r.on(APP_URL, 'GET', '/webhook', status, body);
  r.on(GRAPH, 'GET', `/${V}/me/messenger_profile`, 200, o.profile ?? { data: [desiredMessengerProfile(APP_URL, translations)] });
  if (ig) r.on(GRAPH, 'GET', `/${V}/me/messenger_profile`, 200, { data: desiredInstagramProfile(translations).ice_breakers });
  return r;
}

function expectNoSecrets(text: string) {
  for (const secret of [ENV.PAGE_ACCESS_TOKEN, ENV.APP_SECRET, ENV.VERIFY_TOKEN, APP_TOKEN]) expect(text).not.toContain(secret);
}

describe('doctor: all good', () => {
  it('passes every check, exits 0, and prints no secret', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    const r = world({ ig: true });

    await expect(doctor(deps)).resolves.toBe(0);

    expect(nock.pendingMocks()).toEqual([]);
    const out = text();
    expect(out).toMatch(/✔\s+APP_URL\s+https:\/\/bot\.example\.test \(public https\)/);
    expect(out).toMatch(/✔\s+Page token\s+valid Page token for PAGE_ID 3333333333/);
    expect(out).toMatch(/✔\s+Permissions\s+pages_messaging, pages_manage_metadata, instagram_basic, instagram_manage_messages/);
    expect(out).toMatch(/✔\s+Expiry\s+never expires/);
    expect(out).toMatch(/✔\s+App: page\s+14 fields/);
    expect(out).toMatch(/✔\s+App: instagram\s+8 fields/);
    expect(out).toMatch(/✔\s+Page install/);
    expect(out).toMatch(/✔\s+Verification\s+GET https:\/\/bot\.example\.test\/webhook\?hub\.mode=subscribe&hub\.challenge=4815162342 answered the challenge/);
    expect(out).toMatch(/✔\s+Messenger\s+up to date/);
    expect(out).toMatch(/✔\s+Instagram\s+up to date/);
    expect(out).toMatch(/✔ All \d+ checks passed/);
    expect(out).not.toContain('✖');
    expectNoSecrets(out);

    const debug = r.calls.find((c) => c.path === `/${V}/debug_token`);
    expect(debug?.authorization).toBe(`Bearer ${APP_TOKEN}`);
    expect(debug?.query).toEqual({ input_token: ENV.PAGE_ACCESS_TOKEN, appsecret_proof: appSecretProof(APP_TOKEN, ENV.APP_SECRET) });
    const webhook = r.calls.find((c) => c.host === 'bot.example.test');
    expect(webhook?.query).toEqual({ 'hub.mode': 'subscribe', 'hub.verify_token': ENV.VERIFY_TOKEN, 'hub.challenge': CHALLENGE });
    // Apart from debug_token's documented input_token, no Graph call has a token in its query.
    for (const call of r.calls.filter((c) => c.host === 'graph.test')) {
      expect(call.query.access_token).toBeUndefined();
      const rest = Object.entries(call.query).filter(([key]) => key !== 'input_token');
      for (const secret of [ENV.PAGE_ACCESS_TOKEN, ENV.APP_SECRET, ENV.VERIFY_TOKEN]) expect(JSON.stringify(rest)).not.toContain(secret);
    }
  });
});

describe('doctor: each failing check', () => {
  const failsWith = async (overrides: Overrides, env: Record<string, string> = {}) => {
    const { deps, text } = setup(env);
    world(overrides);
    const code = await doctor(deps);
    const out = text();
    expectNoSecrets(out);
    return { code, out };
  };

  it('a User token instead of a Page token', async () => {
    const { code, out } = await failsWith({ token: { type: 'USER', profile_id: undefined } });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Page token\s+valid, but a USER token, not a Page token/);
    expect(out).toContain('fix: generate a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token)');
    expect(out).toMatch(/✖ 1 of \d+ checks failed/);
  });

  it('a Page token for another Page, from another app', async () => {
    const { code, out } = await failsWith({ token: { profile_id: '999', app_id: '888' } });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Page token\s+valid, but for Page 999, not PAGE_ID 3333333333/);
    expect(out).toMatch(/✖\s+Token app\s+issued by app 888, not APP_ID 222222222222222/);
  });

  it('missing scopes, Instagram ones included when IG_ACCOUNT_ID is set', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    world({ ig: true, token: { scopes: ['pages_messaging', 'instagram_basic'] } });
    await expect(doctor(deps)).resolves.toBe(1);
    expect(text()).toMatch(/✖\s+Permissions\s+missing pages_manage_metadata, instagram_manage_messages/);
    expect(text()).toContain('fix: generate the Page token again and grant pages_manage_metadata, instagram_manage_messages');
  });

  it('an expired token, and one whose data access expired', async () => {
    const expired = await failsWith({ token: { expires_at: Math.floor(NOW / 1000) - 3600 } });
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/✖\s+Expiry\s+expired on 2026-11-23/);
    const access = await failsWith({ token: { data_access_expires_at: Math.floor(NOW / 1000) - 86400 } });
    expect(access.code).toBe(1);
    expect(access.out).toMatch(/✖\s+Expiry\s+data access expired on 2026-11-22/);
  });

  it('a token that debug_token calls invalid', async () => {
    const { code, out } = await failsWith({ token: { is_valid: false, error: { code: 190, message: 'Error validating access token: The user has not authorized application.' } } });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Page token\s+invalid: Error validating access token/);
  });

  it('an app token Graph rejects (190), shown with code, message, fbtrace_id and hint, never the inspected token', async () => {
    // Not EA-shaped, so only doctor's own scrubbing (not the client's token pattern) can hide it.
    const pageToken = 'page-token-of-another-shape-0123456789';
    const tokenError = { error: { message: `Invalid OAuth access token - Cannot parse access token ${pageToken}`, type: 'OAuthException', code: 190, fbtrace_id: 'DocTrace' } };
    const { deps, text } = setup({ PAGE_ACCESS_TOKEN: pageToken });
    world({ tokenError });
    const code = await doctor(deps);
    const out = text();
    expect(out).not.toContain(pageToken);
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+App token\s+GET \/v24\.0\/debug_token failed, code 190: Invalid OAuth access token - Cannot parse access token \[REDACTED\] \(fbtrace_id DocTrace\)/);
    expect(out).toContain('fix: the app token was rejected: check that APP_ID and APP_SECRET in .env belong to the same app');
  });

  it('subscriptions that lack fields, and an app not installed on the Page', async () => {
    const { code, out } = await failsWith({ subscriptions: { data: [sub('page', ['messages'])] }, install: { data: [] } });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+App: page\s+missing fields: message_echoes, message_edits/);
    expect(out).toMatch(/✖\s+Page install\s+app not installed on the Page/);
    expect(out).toContain('fix: npm run setup -- subscribe');
  });

  it('a webhook that refuses our VERIFY_TOKEN', async () => {
    const { code, out } = await failsWith({ webhook: [403, 'Forbidden'] });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Verification\s+GET https:\/\/bot\.example\.test\/webhook\?hub\.mode=subscribe&hub\.challenge=4815162342 refused our VERIFY_TOKEN \(HTTP 403\)/);
    expect(out).toContain('the running bot has another VERIFY_TOKEN');
  });

  it('a tunnel with nothing behind it (404) and a webhook that echoes something else', async () => {
    const offline = await failsWith({ webhook: [404, 'Tunnel bot.example.test not found'] });
    expect(offline.code).toBe(1);
    expect(offline.out).toContain('is the tunnel up and forwarding');
    const wrong = await failsWith({ webhook: [200, 'hello'] });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('answered 200 without the challenge');
  });

  it('a webhook that cannot be reached at all', async () => {
    const { deps, text } = setup();
    world();
    const fetchImpl = (() => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }))) as typeof fetch;
    await expect(doctor({ ...deps, fetchImpl })).resolves.toBe(1);
    expect(text()).toMatch(/✖\s+Verification\s+.*no answer \(ENOTFOUND\)/);
    expect(text()).toContain('fix: start the bot (npm start) and the tunnel');
    nock.cleanAll();
  });

  it('profile drift', async () => {
    const profile = desiredMessengerProfile(APP_URL, translations);
    const { code, out } = await failsWith({ profile: { data: [{ ...profile, get_started: undefined, greeting: profile.greeting.slice(0, 2) }] } });
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Messenger\s+get_started not set, greeting differs \(added for es_ES, id_ID, zh_TW\)/);
    expect(out).toContain('fix: npm run setup -- profile   (preview with --dry-run)');
  });

  it('an APP_URL Meta cannot call still runs the other checks, then exits 1', async () => {
    const { deps, text } = setup({ APP_URL: 'http://bot.example.test' });
    const r = recorder();
    r.on(GRAPH, 'GET', `/${V}/debug_token`, 200, { data: goodToken(false) });
    r.on(GRAPH, 'GET', `/${V}/${APP}/subscriptions`, 200, { data: [] });
    r.on(GRAPH, 'GET', `/${V}/${PAGE}/subscribed_apps`, 200, { data: [] });
    r.on('http://bot.example.test', 'GET', '/webhook', 200, CHALLENGE);
    r.on(GRAPH, 'GET', `/${V}/me/messenger_profile`, 200, { data: [] });
    await expect(doctor(deps)).resolves.toBe(1);
    expect(text()).toMatch(/✖\s+APP_URL\s+http:\/\/bot\.example\.test: APP_URL is http, and Meta only calls https URLs/);
    expect(text()).toContain('fix: start a tunnel (ngrok http 3000');
    expect(r.calls).toHaveLength(5);
  });
});

describe('doctor: the permissions comment triggers need, only for the platforms that have triggers', () => {
  const MESSAGING = ['pages_show_list', 'pages_messaging', 'pages_manage_metadata'];
  const run = async (comments: CommentTriggers, scopes: string[], ig = false) => {
    const { deps, text } = setup(ig ? { IG_ACCOUNT_ID: IG } : {}, comments);
    world({ ig, token: { scopes }, fields: webhookFields(comments) });
    const code = await doctor(deps);
    expectNoSecrets(text());
    return { code, out: text() };
  };

  it('Facebook triggers with a public reply: names each missing permission, what fails without it, and the fix', async () => {
    const { code, out } = await run(triggers(trigger({ platforms: ['facebook'], public_reply: { text: 'comments.public_reply' } })), MESSAGING);
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Permissions\s+missing pages_read_engagement, pages_read_user_content, pages_manage_engagement\n/);
    expect(out).toContain('fix: generate the Page token again and grant pages_read_engagement, pages_read_user_content, pages_manage_engagement (App Dashboard > Messenger > Messenger API Settings, or Graph API Explorer)');
    expect(out).toContain('without pages_read_user_content the bot cannot read who wrote a comment (comments arrive without `from`, and none is answered)');
    expect(out).toContain('without pages_manage_engagement the bot cannot post the public reply under a comment');
    expect(out).toMatch(/✖ 1 of \d+ checks failed/);
  });

  it('Facebook triggers without a public reply do not need pages_manage_engagement; with the rest granted all passes', async () => {
    const { code, out } = await run(triggers(trigger({ platforms: ['facebook'] })), [...MESSAGING, 'pages_read_engagement', 'pages_read_user_content']);
    expect(out).toMatch(/✔\s+Permissions\s+pages_messaging, pages_manage_metadata, pages_read_engagement, pages_read_user_content\n/);
    expect(out).toMatch(/✔\s+App: page\s+15 fields/);
    expect(code).toBe(0);
  });

  it('Instagram triggers need instagram_manage_comments (and pages_read_engagement) on the Page token of a linked account, and no Facebook comment permission', async () => {
    const { code, out } = await run(triggers(trigger({ platforms: ['instagram'], public_reply: { text: 'comments.public_reply' } })), [...MESSAGING, 'instagram_basic', 'instagram_manage_messages'], true);
    expect(code).toBe(1);
    expect(out).toMatch(/✖\s+Permissions\s+missing instagram_manage_comments, pages_read_engagement\n/);
    expect(out).toContain("without instagram_manage_comments the bot cannot receive comments on the Instagram account's media and reply under them");
    expect(out).not.toContain('pages_read_user_content');
    expect(out).toMatch(/✔\s+App: instagram\s+10 fields/);
  });

  it('Instagram triggers ask nothing more of a Page without a linked Instagram account', async () => {
    const { code, out } = await run(triggers(trigger({ platforms: ['instagram'] })), MESSAGING);
    expect(out).toMatch(/✔\s+Permissions\s+pages_messaging, pages_manage_metadata\n/);
    expect(code).toBe(0);
  });
});

describe('doctor: configuration it cannot work without', () => {
  it('names PAGE_ACCESS_TOKEN in emulator mode, sends nothing and exits 2', async () => {
    const { deps, text } = setup({ PAGE_ACCESS_TOKEN: '', APP_SECRET: '' });
    await expect(doctor(deps)).resolves.toBe(2);
    expect(text()).toMatch(/✖\s+PAGE_ACCESS_TOKEN\s+not set/);
    expect(text()).toContain('The other checks need these settings');
    expect(text()).not.toContain('Secrets');
  });

  it('cannot start without PAGE_ID in live mode: the config error names it and the fix', () => {
    expect(() => setup({ PAGE_ID: '' })).toThrow(/^PAGE_ID: is required when PAGE_ACCESS_TOKEN is set.*Fix: set PAGE_ID in \.env/);
  });
});
