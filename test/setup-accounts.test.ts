// The setup commands with several accounts (ACCOUNTS_FILE: two Pages, the first with a linked
// Instagram account, and an Instagram Login account), against nock: the exact requests per account
// type (host, method, path, query, form body, which token and which app secret's proof), each
// account in its own ✔/✖ section, --account, and one account's failure not stopping the others.
import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { parseCommand } from '../scripts/setup/cli.ts';
import type { SetupDeps } from '../scripts/setup/context.ts';
import { doctor } from '../scripts/setup/doctor.ts';
import { INSTAGRAM_FIELDS, MESSENGER_FIELDS } from '../scripts/setup/fields.ts';
import { profile } from '../scripts/setup/profile.ts';
import { desiredInstagramProfile, desiredMessengerProfile } from '../scripts/setup/profile-model.ts';
import { status } from '../scripts/setup/status.ts';
import { subscribe } from '../scripts/setup/subscribe.ts';
import { unsubscribe } from '../scripts/setup/unsubscribe.ts';
import { commentTriggers } from '../services/comments/triggers.ts';
import { trigger, triggers } from './support/setup-deps.ts';
import { loadConfig } from '../services/config.ts';
import { appSecretProof, graphClientFor } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { APP_SECRET, GRAPH, IG_LOGIN, INSTAGRAM, INSTAGRAM_APP_SECRET, PAGE_A, PAGE_A_IG, PAGE_B, TOKENS, VERSION as V, accountsEnv } from './support/accounts.ts';

const APP = '333333333333333';
const APP_TOKEN = `${APP}|${APP_SECRET}`;
const APP_URL = 'https://bot.example.test';
const NOW = Date.parse('2026-11-23T10:00:00Z');
const CHALLENGE = '4815162342';
const translations = createTranslations();

interface Call {
  host: 'graph' | 'instagram' | 'webhook';
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string> | undefined;
  body: unknown;
  authorization: string | undefined;
}

/** Each `on` is one expected call; every call is recorded in order. */
function world() {
  const calls: Call[] = [];
  const hosts = { graph: GRAPH, instagram: INSTAGRAM, webhook: APP_URL } as const;
  const on = (host: keyof typeof hosts, method: string, path: string, status: number, response: unknown) =>
    nock(hosts[host])
      .intercept(path, method)
      .query(true)
      .reply(function (uri, body) {
        const url = new URL(uri, hosts[host]);
        const headers = this.req.headers as Record<string, string | undefined>;
        const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
        calls.push({ host, method, path: url.pathname, query: Object.fromEntries(url.searchParams), form: isForm && typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : undefined, body, authorization: headers.authorization });
        return [status, response as nock.ReplyBody];
      });
  return { calls, on, list: () => calls.map((c) => `${c.host} ${c.method} ${c.path}`) };
}

function setup(extra: Partial<SetupDeps> = {}) {
  const config = loadConfig(accountsEnv());
  const lines: string[] = [];
  const deps: SetupDeps = { config, graph: graphClientFor(config), comments: commentTriggers([]), out: { isTTY: false, line: (t = '') => lines.push(t) }, translations, challenge: () => CHALLENGE, now: () => NOW, ...extra };
  const text = () => lines.join('\n');
  return { deps, text, expectNoSecrets: () => expectNoSecrets(text()) };
}

function expectNoSecrets(text: string) {
  for (const secret of [APP_SECRET, INSTAGRAM_APP_SECRET, APP_TOKEN, ...Object.values(TOKENS), 'accounts-verify-token-0123456789']) expect(text).not.toContain(secret);
}

/** The credentials of a call: the token in the header, the proof with the right app secret, no token in the URL. */
function expectToken(call: Call | undefined, token: string, secret = APP_SECRET) {
  expect(call?.authorization).toBe(`Bearer ${token}`);
  expect(call?.query.appsecret_proof).toBe(appSecretProof(token, secret));
  expect(call?.query.access_token).toBeUndefined();
}

const ok = { success: true };

describe('subscribe with several accounts', () => {
  it('subscribes the app to both objects, then installs it on each Page (Graph API) and on the Instagram Login account (Instagram API)', async () => {
    const { deps, text, expectNoSecrets: clean } = setup();
    const w = world();
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_A}/subscribed_apps`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_B}/subscribed_apps`, 200, ok);
    w.on('instagram', 'POST', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, ok);

    await expect(subscribe(deps)).resolves.toBe(0);

    expect(w.list()).toEqual([`graph POST /${V}/${APP}/subscriptions`, `graph POST /${V}/${APP}/subscriptions`, `graph POST /${V}/${PAGE_A}/subscribed_apps`, `graph POST /${V}/${PAGE_B}/subscribed_apps`, `instagram POST /${V}/${IG_LOGIN}/subscribed_apps`]);
    const [page, instagram, a, b, login] = w.calls;
    for (const app of [page, instagram]) expectToken(app, APP_TOKEN);
    expect(page?.form).toEqual({ object: 'page', callback_url: `${APP_URL}/webhook`, fields: MESSENGER_FIELDS.join(','), include_values: 'true', verify_token: 'accounts-verify-token-0123456789' });
    expect(instagram?.form).toEqual({ object: 'instagram', callback_url: `${APP_URL}/webhook`, fields: INSTAGRAM_FIELDS.join(','), include_values: 'true', verify_token: 'accounts-verify-token-0123456789' });
    expectToken(a, TOKENS.pageA);
    expect(a?.form).toEqual({ subscribed_fields: MESSENGER_FIELDS.join(',') });
    expectToken(b, TOKENS.pageB);
    expect(b?.form).toEqual({ subscribed_fields: MESSENGER_FIELDS.join(',') });
    expectToken(login, TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(login?.form).toEqual({ subscribed_fields: INSTAGRAM_FIELDS.join(',') });

    const out = text();
    expect(out).toContain(`Page ${PAGE_A} (Tidewater) · Messenger, Instagram ${PAGE_A_IG}\n  ✔ page install      page ${PAGE_A}  14 fields`);
    expect(out).toContain(`Page ${PAGE_B} · Messenger\n  ✔ page install      page ${PAGE_B}  14 fields`);
    expect(out).toContain(`Instagram ${IG_LOGIN} (Matcha Corner) · Instagram Login\n  ✔ instagram install  instagram ${IG_LOGIN} (INSTAGRAM_API_URL)  8 fields`);
    clean();
  });

  it('with comment triggers, each install gets its comment fields: feed on the Pages, comments and live_comments on the Instagram Login account', async () => {
    const { deps } = setup({ comments: triggers(trigger()) });
    const w = world();
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_A}/subscribed_apps`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_B}/subscribed_apps`, 200, ok);
    w.on('instagram', 'POST', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, ok);

    await expect(subscribe(deps)).resolves.toBe(0);

    const page = [...MESSENGER_FIELDS, 'feed'].join(',');
    const instagram = [...INSTAGRAM_FIELDS, 'comments', 'live_comments'].join(',');
    expect(w.calls.map((c) => [`${c.host} ${c.path}`, c.form])).toEqual([
      [`graph /${V}/${APP}/subscriptions`, { object: 'page', callback_url: `${APP_URL}/webhook`, fields: page, include_values: 'true', verify_token: 'accounts-verify-token-0123456789' }],
      [`graph /${V}/${APP}/subscriptions`, { object: 'instagram', callback_url: `${APP_URL}/webhook`, fields: instagram, include_values: 'true', verify_token: 'accounts-verify-token-0123456789' }],
      [`graph /${V}/${PAGE_A}/subscribed_apps`, { subscribed_fields: page }],
      [`graph /${V}/${PAGE_B}/subscribed_apps`, { subscribed_fields: page }],
      [`instagram /${V}/${IG_LOGIN}/subscribed_apps`, { subscribed_fields: instagram }],
    ]);
    expectToken(w.calls[4], TOKENS.igLogin, INSTAGRAM_APP_SECRET);
  });

  it('--account takes any id of one account: the linked Instagram id selects its Page', async () => {
    const { deps } = setup();
    const w = world();
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_A}/subscribed_apps`, 200, ok);
    await expect(subscribe(deps, { account: PAGE_A_IG })).resolves.toBe(0);
    expect(w.calls.map((c) => c.form?.object ?? c.path)).toEqual(['page', 'instagram', `/${V}/${PAGE_A}/subscribed_apps`]);
  });

  it('--account of the Instagram Login account: only the instagram object and its own install', async () => {
    const { deps } = setup();
    const w = world();
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('instagram', 'POST', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, ok);
    await expect(subscribe(deps, { account: IG_LOGIN })).resolves.toBe(0);
    expect(w.calls.map((c) => c.form?.object ?? `${c.host} ${c.path}`)).toEqual(['instagram', `instagram /${V}/${IG_LOGIN}/subscribed_apps`]);
  });

  it('keeps installing the other accounts when one refuses, names that account’s token, and exits 1', async () => {
    const { deps, text, expectNoSecrets: clean } = setup();
    const w = world();
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_A}/subscribed_apps`, 200, ok);
    w.on('graph', 'POST', `/${V}/${PAGE_B}/subscribed_apps`, 400, { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, error_subcode: 463, fbtrace_id: 'B190' } });
    w.on('instagram', 'POST', `/${V}/${IG_LOGIN}/subscribed_apps`, 400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190, fbtrace_id: 'I190' } });
    await expect(subscribe(deps)).resolves.toBe(1);
    expect(w.calls).toHaveLength(5);
    const out = text();
    expect(out).toContain(`the access_token of page ${PAGE_B} in ACCOUNTS_FILE is invalid or expired: generate a new Page token`);
    expect(out).toContain(`the access_token of instagram ${IG_LOGIN} in ACCOUNTS_FILE is invalid or expired: generate a new one (App Dashboard > Instagram > API setup with Instagram login > Generate token)`);
    expect(out).toContain('Some accounts were not installed');
    clean();
  });

  it('refuses an --account that no account has, sending nothing (exit 2)', async () => {
    const { deps, text } = setup();
    const w = world();
    await expect(subscribe(deps, { account: '42' })).resolves.toBe(2);
    expect(w.calls).toEqual([]);
    expect(text()).toContain(`--account 42 is none of the configured accounts (${PAGE_A}, ${PAGE_B}, ${IG_LOGIN})`);
  });
});

describe('status with several accounts', () => {
  const sub = (object: string, fields: readonly string[]) => ({ object, callback_url: `${APP_URL}/webhook`, active: true, fields: fields.map((name) => ({ name, version: V })) });

  it('reads the app subscriptions once and each install with its own token, and compares each', async () => {
    const { deps, text } = setup();
    const w = world();
    w.on('graph', 'GET', `/${V}/${APP}/subscriptions`, 200, { data: [sub('page', MESSENGER_FIELDS), sub('instagram', INSTAGRAM_FIELDS)] });
    w.on('graph', 'GET', `/${V}/${PAGE_A}/subscribed_apps`, 200, { data: [{ id: APP, name: 'Shop bot', subscribed_fields: [...MESSENGER_FIELDS] }] });
    w.on('graph', 'GET', `/${V}/${PAGE_B}/subscribed_apps`, 200, { data: [] });
    // Meta lists the Instagram app under its own id there.
    w.on('instagram', 'GET', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, { data: [{ id: '1111222233334444', subscribed_fields: [...INSTAGRAM_FIELDS] }] });

    await expect(status(deps)).resolves.toBe(1);

    expect(w.list()).toEqual([`graph GET /${V}/${APP}/subscriptions`, `graph GET /${V}/${PAGE_A}/subscribed_apps`, `graph GET /${V}/${PAGE_B}/subscribed_apps`, `instagram GET /${V}/${IG_LOGIN}/subscribed_apps`]);
    expectToken(w.calls[0], APP_TOKEN);
    expectToken(w.calls[1], TOKENS.pageA);
    expectToken(w.calls[2], TOKENS.pageB);
    expectToken(w.calls[3], TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    const out = text();
    expect(out).toMatch(new RegExp(`✔\\s+page install ${PAGE_A}\\s+up to date`));
    expect(out).toMatch(new RegExp(`✖\\s+page install ${PAGE_B}\\s+app not installed on the Page`));
    expect(out).toMatch(new RegExp(`✔\\s+instagram install ${IG_LOGIN}\\s+up to date`));
    expect(out).toMatch(/✔\s+instagram\s+up to date/);
  });
});

describe('unsubscribe with several accounts', () => {
  it('removes both objects and uninstalls the app from every account', async () => {
    const { deps } = setup();
    const w = world();
    w.on('graph', 'DELETE', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'DELETE', `/${V}/${APP}/subscriptions`, 200, ok);
    w.on('graph', 'DELETE', `/${V}/${PAGE_A}/subscribed_apps`, 200, ok);
    w.on('graph', 'DELETE', `/${V}/${PAGE_B}/subscribed_apps`, 200, ok);
    w.on('instagram', 'DELETE', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, ok);
    await expect(unsubscribe(deps)).resolves.toBe(0);
    expect(w.calls.map((c) => `${c.host} ${c.path} ${c.query.object ?? ''}`.trim())).toEqual([
      `graph /${V}/${APP}/subscriptions page`,
      `graph /${V}/${APP}/subscriptions instagram`,
      `graph /${V}/${PAGE_A}/subscribed_apps`,
      `graph /${V}/${PAGE_B}/subscribed_apps`,
      `instagram /${V}/${IG_LOGIN}/subscribed_apps`,
    ]);
    expectToken(w.calls[4], TOKENS.igLogin, INSTAGRAM_APP_SECRET);
  });

  it('with --account removes only that account’s install: the app subscription serves the others', async () => {
    const { deps, text } = setup();
    const w = world();
    w.on('instagram', 'DELETE', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, ok);
    await expect(unsubscribe(deps, { account: IG_LOGIN })).resolves.toBe(0);
    expect(w.list()).toEqual([`instagram DELETE /${V}/${IG_LOGIN}/subscribed_apps`]);
    expect(text()).toContain(`Undo with: npm run setup -- subscribe --account ${IG_LOGIN}`);
  });
});

describe('profile with several accounts', () => {
  it('sets the greeting and menu per locale on each Page, ice breakers for the linked account with the Page token, and for the Instagram Login account with its own', async () => {
    const { deps, text } = setup();
    const w = world();
    const messengerQuery = { fields: 'get_started,greeting,persistent_menu,whitelisted_domains' };
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, { data: [] });
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, { data: [] });
    w.on('graph', 'POST', `/${V}/me/messenger_profile`, 200, { result: 'success' });
    w.on('graph', 'POST', `/${V}/me/messenger_profile`, 200, { result: 'success' });
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, { data: [] });
    w.on('graph', 'POST', `/${V}/me/messenger_profile`, 200, { result: 'success' });
    w.on('instagram', 'GET', `/${V}/me/messenger_profile`, 200, { data: [] });
    w.on('instagram', 'POST', `/${V}/me/messenger_profile`, 200, { result: 'success' });

    await expect(profile(deps)).resolves.toBe(0);

    expect(w.calls.map((c) => `${c.host} ${c.method} ${c.authorization?.slice(7, 14) ?? ''} ${c.query.platform ?? 'messenger'}`)).toEqual([
      'graph GET EAApage messenger',
      'graph GET EAApage instagram',
      'graph POST EAApage messenger',
      'graph POST EAApage instagram',
      'graph GET EAApage messenger',
      'graph POST EAApage messenger',
      'instagram GET IGAAlog instagram',
      'instagram POST IGAAlog instagram',
    ]);
    const [readA, readAIg, postA, postAIg, readB, postB, readIg, postIg] = w.calls;
    for (const c of [readA, readAIg, postA, postAIg]) expectToken(c, TOKENS.pageA);
    for (const c of [readB, postB]) expectToken(c, TOKENS.pageB);
    for (const c of [readIg, postIg]) expectToken(c, TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(readA?.query).toMatchObject(messengerQuery);
    expect(readIg?.query).toMatchObject({ fields: 'ice_breakers', platform: 'instagram' });
    const messenger = desiredMessengerProfile(APP_URL, translations);
    expect(postA?.body).toEqual(messenger);
    expect(postB?.body).toEqual(messenger);
    expect(postAIg?.body).toEqual({ platform: 'instagram', ...desiredInstagramProfile(translations) });
    expect(postIg?.body).toEqual({ platform: 'instagram', ...desiredInstagramProfile(translations) });
    expect(messenger.greeting.map((g) => g.locale)).toEqual(['default', 'en_US', 'id_ID', 'zh_TW', 'es_ES']);
    expect(text()).toContain(`Instagram ${IG_LOGIN} (Matcha Corner) · Instagram Login`);
  });
});

describe('doctor with several accounts', () => {
  const days = (n: number) => Math.floor(NOW / 1000) + n * 86400;
  const pageToken = (page: string, ig: boolean) => ({ data: { app_id: APP, type: 'PAGE', is_valid: true, expires_at: 0, profile_id: page, scopes: ['pages_messaging', 'pages_manage_metadata', ...(ig ? ['instagram_basic', 'instagram_manage_messages'] : [])] } });
  const sub = (object: string, fields: readonly string[]) => ({ object, callback_url: `${APP_URL}/webhook`, active: true, fields: fields.map((name) => ({ name, version: V })) });

  function healthy(o: { igDebug?: [number, unknown]; igMe?: unknown } = {}) {
    const w = world();
    const messenger = { data: [desiredMessengerProfile(APP_URL, translations)] };
    const iceBreakers = { data: desiredInstagramProfile(translations).ice_breakers };
    w.on('graph', 'GET', `/${V}/debug_token`, 200, pageToken(PAGE_A, true));
    w.on('graph', 'GET', `/${V}/${PAGE_A}/subscribed_apps`, 200, { data: [{ id: APP, subscribed_fields: [...MESSENGER_FIELDS] }] });
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, messenger);
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, iceBreakers);
    w.on('graph', 'GET', `/${V}/debug_token`, 200, pageToken(PAGE_B, false));
    w.on('graph', 'GET', `/${V}/${PAGE_B}/subscribed_apps`, 200, { data: [{ id: APP, subscribed_fields: [...MESSENGER_FIELDS] }] });
    w.on('graph', 'GET', `/${V}/me/messenger_profile`, 200, messenger);
    w.on('instagram', 'GET', `/${V}/me`, 200, o.igMe ?? { user_id: IG_LOGIN, username: 'matcha.corner', account_type: 'BUSINESS', id: '27000000000000001' });
    const [status, body] = o.igDebug ?? [200, { data: { type: 'USER', is_valid: true, user_id: IG_LOGIN, expires_at: days(8), scopes: ['instagram_business_basic', 'instagram_business_manage_messages'] } }];
    w.on('instagram', 'GET', `/${V}/debug_token`, status, body);
    w.on('instagram', 'GET', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, { data: [{ subscribed_fields: [...INSTAGRAM_FIELDS] }] });
    w.on('instagram', 'GET', `/${V}/me/messenger_profile`, 200, iceBreakers);
    w.on('graph', 'GET', `/${V}/${APP}/subscriptions`, 200, { data: [sub('page', MESSENGER_FIELDS), sub('instagram', INSTAGRAM_FIELDS)] });
    w.on('webhook', 'GET', '/webhook', 200, CHALLENGE);
    return w;
  }

  it('checks each account in its own section, each token with its own API; an Instagram token under 10 days is a warning, not a failure', async () => {
    const { deps, text, expectNoSecrets: clean } = setup();
    const w = healthy();
    await expect(doctor(deps)).resolves.toBe(0);
    expect(nock.pendingMocks()).toEqual([]);

    const debugA = w.calls[0];
    expectToken(debugA, APP_TOKEN);
    expect(debugA?.query.input_token).toBe(TOKENS.pageA);
    expect(w.calls[4]?.query.input_token).toBe(TOKENS.pageB);
    const me = w.calls.find((c) => c.host === 'instagram' && c.path === `/${V}/me`);
    expectToken(me, TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    expect(me?.query.fields).toBe('user_id,username,account_type');
    const igDebug = w.calls.find((c) => c.host === 'instagram' && c.path === `/${V}/debug_token`);
    expectToken(igDebug, TOKENS.igLogin, INSTAGRAM_APP_SECRET);

    const out = text();
    expect(out).toContain(`Page ${PAGE_A} (Tidewater) · Messenger, Instagram ${PAGE_A_IG}`);
    expect(out).toMatch(new RegExp(`✔\\s+Page token\\s+valid Page token for page_id ${PAGE_A}`));
    expect(out).toMatch(/✔\s+Permissions\s+pages_messaging, pages_manage_metadata, instagram_basic, instagram_manage_messages/);
    expect(out).toMatch(new RegExp(`✔\\s+Page token\\s+valid Page token for page_id ${PAGE_B}`));
    expect(out).toMatch(new RegExp(`✔\\s+Instagram token\\s+valid for instagram_account_id ${IG_LOGIN} @matcha\\.corner, BUSINESS`));
    expect(out).toMatch(/✔\s+Token type\s+Instagram User token/);
    expect(out).toMatch(/✔\s+Permissions\s+instagram_business_basic, instagram_business_manage_messages/);
    expect(out).toMatch(/!\s+Expiry\s+expires 2026-12-01, in 8 days: the bot refreshes it while it runs; is it running\?/);
    expect(out).toMatch(new RegExp(`✔\\s+Instagram install\\s+app ${APP} installed on Instagram account ${IG_LOGIN}`));
    expect(out).toMatch(/✔\s+App: page\s+14 fields/);
    expect(out).toMatch(/✔\s+App: instagram\s+8 fields/);
    // The Instagram app secret is set (it differs from APP_SECRET): the expiry is the one warning.
    expect(out).toMatch(/✔ All \d+ checks passed \(1 warning: see the ! lines\)/);
    expect(out).not.toMatch(/!\s+INSTAGRAM_APP_SECRET/);
    clean();
  });

  it('names an Instagram token that belongs to another account', async () => {
    const { deps, text } = setup();
    healthy({ igMe: { user_id: '17841499999999999', username: 'someone.else' } });
    await expect(doctor(deps)).resolves.toBe(1);
    expect(text()).toMatch(new RegExp(`✖\\s+Instagram token\\s+valid, but for Instagram account 17841499999999999 @someone\\.else, not instagram_account_id ${IG_LOGIN}`));
  });

  it('when the Instagram API does not describe the token, warns that scopes and expiry are unchecked, and uses the expiry the bot stored', async () => {
    const { deps, text } = setup();
    healthy({ igDebug: [400, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'X' } }] });
    await expect(doctor(deps)).resolves.toBe(0);
    expect(text()).toMatch(/!\s+Permissions\s+not checked: INSTAGRAM_API_URL did not describe the token/);
    expect(text()).toMatch(/!\s+Expiry\s+unknown: the bot learns it at its first refresh/);
  });

  it('Instagram triggers need instagram_business_manage_comments on an Instagram Login token: named with the fix when missing, and listed when debug_token cannot tell', async () => {
    const comments = triggers(trigger({ platforms: ['instagram'] }));
    const igOnly = () => {
      const w = world();
      w.on('instagram', 'GET', `/${V}/me`, 200, { user_id: IG_LOGIN, username: 'matcha.corner', account_type: 'BUSINESS' });
      return w;
    };
    const rest = (w: ReturnType<typeof world>) => {
      w.on('instagram', 'GET', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, { data: [{ subscribed_fields: [...INSTAGRAM_FIELDS, 'comments', 'live_comments'] }] });
      w.on('instagram', 'GET', `/${V}/me/messenger_profile`, 200, { data: desiredInstagramProfile(translations).ice_breakers });
      w.on('graph', 'GET', `/${V}/${APP}/subscriptions`, 200, { data: [sub('instagram', [...INSTAGRAM_FIELDS, 'comments', 'live_comments'])] });
      w.on('webhook', 'GET', '/webhook', 200, CHALLENGE);
    };

    const missing = setup({ comments });
    const w = igOnly();
    w.on('instagram', 'GET', `/${V}/debug_token`, 200, { data: { type: 'USER', is_valid: true, expires_at: days(50), scopes: ['instagram_business_basic', 'instagram_business_manage_messages'] } });
    rest(w);
    await expect(doctor(missing.deps, { account: IG_LOGIN })).resolves.toBe(1);
    expect(missing.text()).toMatch(/✖\s+Permissions\s+missing instagram_business_manage_comments\n/);
    expect(missing.text()).toContain('fix: generate the token again granting instagram_business_manage_comments (App Dashboard > Instagram > API setup with Instagram login > Generate token)');
    expect(missing.text()).toContain('without instagram_business_manage_comments the bot cannot receive comments on its media and reply under them');
    expect(missing.text()).toMatch(/✔\s+App: instagram\s+10 fields/);
    missing.expectNoSecrets();

    const unknown = setup({ comments });
    const u = igOnly();
    u.on('instagram', 'GET', `/${V}/debug_token`, 400, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'X' } });
    rest(u);
    await expect(doctor(unknown.deps, { account: IG_LOGIN })).resolves.toBe(0);
    expect(unknown.text()).toMatch(/!\s+Permissions\s+not checked: .* the bot needs instagram_business_basic, instagram_business_manage_messages, instagram_business_manage_comments\n/);
  });

  it('--account checks one account only', async () => {
    const { deps, text } = setup();
    const w = world();
    w.on('instagram', 'GET', `/${V}/me`, 200, { user_id: IG_LOGIN, username: 'matcha.corner', account_type: 'BUSINESS' });
    w.on('instagram', 'GET', `/${V}/debug_token`, 200, { data: { type: 'USER', is_valid: true, expires_at: days(50), scopes: ['instagram_business_basic', 'instagram_business_manage_messages'] } });
    w.on('instagram', 'GET', `/${V}/${IG_LOGIN}/subscribed_apps`, 200, { data: [{ subscribed_fields: [...INSTAGRAM_FIELDS] }] });
    w.on('instagram', 'GET', `/${V}/me/messenger_profile`, 200, { data: desiredInstagramProfile(translations).ice_breakers });
    w.on('graph', 'GET', `/${V}/${APP}/subscriptions`, 200, { data: [sub('instagram', INSTAGRAM_FIELDS)] });
    w.on('webhook', 'GET', '/webhook', 200, CHALLENGE);
    await expect(doctor(deps, { account: IG_LOGIN })).resolves.toBe(0);
    expect(w.calls.filter((c) => c.host === 'graph').map((c) => c.path)).toEqual([`/${V}/${APP}/subscriptions`]);
    expect(text()).toMatch(/✔\s+Expiry\s+expires 2027-01-12 \(in 50 days; the bot refreshes it\)/);
    expect(text()).not.toContain(`Page ${PAGE_B}`);
  });
});

describe('doctor without INSTAGRAM_APP_SECRET', () => {
  it('warns that Instagram Login notifications are checked with APP_SECRET', async () => {
    const config = loadConfig(accountsEnv(undefined, { INSTAGRAM_APP_SECRET: '' }));
    const lines: string[] = [];
    const deps: SetupDeps = { config, graph: graphClientFor(config), comments: commentTriggers([]), out: { isTTY: false, line: (t = '') => lines.push(t) }, translations, challenge: () => CHALLENGE, now: () => NOW };
    nock(GRAPH).persist().get(/.*/).query(true).reply(400, { error: { message: 'down', code: 1 } });
    nock(INSTAGRAM).persist().get(/.*/).query(true).reply(400, { error: { message: 'down', code: 1 } });
    nock(APP_URL).get('/webhook').query(true).reply(200, CHALLENGE);
    await doctor(deps);
    expect(lines.join('\n')).toMatch(/!\s+INSTAGRAM_APP_SECRET\s+not set: Instagram Login notifications are checked and signed with APP_SECRET/);
  });
});

describe('the command line', () => {
  it.each([
    [['doctor', '--account', PAGE_B], { command: 'doctor', account: PAGE_B }],
    [['subscribe', `--account=${IG_LOGIN}`], { command: 'subscribe', account: IG_LOGIN }],
    [['profile', '--dry-run', '--account', PAGE_A], { command: 'profile', dryRun: true, account: PAGE_A }],
    [['unsubscribe', '--account', IG_LOGIN], { command: 'unsubscribe', account: IG_LOGIN }],
  ])('%j', (argv, value) => {
    expect(parseCommand(argv)).toEqual({ ok: true, value });
  });

  it.each([
    [['status', '--account', 'my-shop'], '--account takes a numeric Page or Instagram account id, not "my-shop"'],
    [['unsubscribe', '--object', 'page', '--fields', 'messages', '--account', PAGE_A], '--fields changes the app subscription, which every account shares'],
    [['doctor', '--account'], "Option '--account <value>' argument missing"],
  ])('%j is refused', (argv, message) => {
    const result = parseCommand(argv);
    expect(result.ok ? '' : result.error).toContain(message);
  });
});
