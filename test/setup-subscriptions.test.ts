// `subscribe`, `status` and `unsubscribe` against a nock Graph API: the exact requests (method,
// path, query, body, which token), the output, and each error path with its hint.
import { describe, expect, it } from '@jest/globals';
import { setupDeps, setupEnv, trigger, triggers } from './support/setup-deps.ts';
import nock from 'nock';
import { loadConfig } from '../services/config.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { INSTAGRAM_FIELDS, MESSENGER_FIELDS } from '../scripts/setup/fields.ts';
import type { CommentTriggers } from '../services/comments/triggers.ts';
import { status } from '../scripts/setup/status.ts';
import { subscribe } from '../scripts/setup/subscribe.ts';
import { unsubscribe } from '../scripts/setup/unsubscribe.ts';

const GRAPH = 'https://graph.test';
const V = 'v24.0';
const APP = '222222222222222';
const PAGE = '3333333333';
const IG = '17841400000000009';
const ENV = setupEnv('setup');
const APP_TOKEN = `${APP}|${ENV.APP_SECRET}`;
const SECRETS = [ENV.PAGE_ACCESS_TOKEN, ENV.APP_SECRET, ENV.VERIFY_TOKEN];

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
  contentType: string | undefined;
}

/** Records every request; each `on` is one expected call. */
function graphMock() {
  const calls: Call[] = [];
  const on = (method: string, path: string, status: number, response: unknown) =>
    nock(GRAPH)
      .intercept(`/${V}/${path}`, method)
      .query(true)
      .reply(function (uri, body) {
        const url = new URL(uri, GRAPH);
        const headers = this.req.headers as Record<string, string | string[] | undefined>;
        const header = (name: string) => {
          const value = headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorization: header('authorization'), contentType: header('content-type') });
        return [status, response];
      });
  return { calls, on };
}

function setup(env: Record<string, string> = {}, comments?: CommentTriggers) {
  return setupDeps({ ...ENV, ...env }, comments === undefined ? {} : { comments });
}

/** The form body as an object, checking it really was sent as a form. */
function form(call: Call | undefined): Record<string, string> {
  expect(call?.contentType).toMatch(/^application\/x-www-form-urlencoded/);
  return Object.fromEntries(new URLSearchParams(String(call?.body)));
}

function expectToken(call: Call | undefined, token: string) {
  expect(call?.authorization).toBe(`Bearer ${token}`);
  // Only the proof travels in the query: no access_token, no token, no secret.
  expect(call?.query.appsecret_proof).toBe(appSecretProof(token, ENV.APP_SECRET));
  expect(call?.query.access_token).toBeUndefined();
  for (const secret of SECRETS) expect(JSON.stringify(call?.query)).not.toContain(secret);
}

function expectNoSecrets(text: string) {
  for (const secret of [...SECRETS, APP_TOKEN]) expect(text).not.toContain(secret);
}

const graphError = (code: number, message: string, subcode?: number) => ({
  error: { message, type: 'OAuthException', code, ...(subcode === undefined ? {} : { error_subcode: subcode }), fbtrace_id: 'AxYz123' },
});

describe('subscribe', () => {
  it('subscribes object=page with the app token and a form body, then installs the app on the Page', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
    graph.on('POST', `${PAGE}/subscribed_apps`, 200, { success: true });

    await expect(subscribe(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /${V}/${APP}/subscriptions`, `POST /${V}/${PAGE}/subscribed_apps`]);
    const [app, page] = graph.calls;
    expectToken(app, APP_TOKEN);
    expect(form(app)).toEqual({
      object: 'page',
      callback_url: 'https://bot.example.test/webhook',
      fields: MESSENGER_FIELDS.join(','),
      include_values: 'true',
      verify_token: ENV.VERIFY_TOKEN,
    });
    expectToken(page, ENV.PAGE_ACCESS_TOKEN);
    expect(form(page)).toEqual({ subscribed_fields: MESSENGER_FIELDS.join(',') });
    expect(text()).toContain('✔ app subscription  object=page');
    expect(text()).toContain(`✔ page install      page ${PAGE}`);
    expect(text()).toContain('Next: npm run setup -- profile');
    expectNoSecrets(text());
  });

  it('asks for exactly the Messenger fields the bot handles', () => {
    expect([...MESSENGER_FIELDS].sort()).toEqual(
      [
        'message_deliveries',
        'message_echoes',
        'message_edits',
        'message_reactions',
        'message_reads',
        'messages',
        'messaging_account_linking',
        'messaging_game_plays',
        'messaging_handovers',
        'messaging_optins',
        'messaging_policy_enforcement',
        'messaging_postbacks',
        'messaging_referrals',
        'standby',
      ].sort(),
    );
    expect([...INSTAGRAM_FIELDS].sort()).toEqual(
      ['message_edit', 'message_reactions', 'messages', 'messaging_handover', 'messaging_postbacks', 'messaging_referral', 'messaging_seen', 'standby'].sort(),
    );
  });

  it('also subscribes object=instagram with its fields when IG_ACCOUNT_ID is set', async () => {
    const { deps } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
    graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
    graph.on('POST', `${PAGE}/subscribed_apps`, 200, { success: true });

    await expect(subscribe(deps)).resolves.toBe(0);

    expect(graph.calls).toHaveLength(3);
    const ig = form(graph.calls[1]);
    expect(ig.object).toBe('instagram');
    expect(ig.fields).toBe(INSTAGRAM_FIELDS.join(','));
    expect(ig.verify_token).toBe(ENV.VERIFY_TOKEN);
    expectToken(graph.calls[1], APP_TOKEN);
    expect(form(graph.calls[2])).toEqual({ subscribed_fields: MESSENGER_FIELDS.join(',') });
  });

  it('explains a failed callback verification (2200) and stops before the Page install', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 400, graphError(2200, '(#2200) callback verification failed: Received HTTP code: 502'));

    await expect(subscribe(deps)).resolves.toBe(1);

    expect(graph.calls).toHaveLength(1);
    const out = text();
    expect(out).toContain(`✖ POST /${V}/${APP}/subscriptions failed (HTTP 400)`);
    expect(out).toMatch(/code\s+2200/);
    expect(out).toMatch(/message\s+\(#2200\) callback verification failed/);
    expect(out).toMatch(/fbtrace_id\s+AxYz123/);
    expect(out).toContain('Meta could not verify https://bot.example.test/webhook');
    expect(out).toContain('tunnel is up');
    expect(out).toContain('same VERIFY_TOKEN');
    expectNoSecrets(out);
  });

  it('names APP_ID and APP_SECRET when the app token is rejected (190)', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 400, graphError(190, 'Invalid OAuth access token signature.'));
    await expect(subscribe(deps)).resolves.toBe(1);
    expect(text()).toMatch(/code\s+190/);
    expect(text()).toContain('check that APP_ID and APP_SECRET in .env belong to the same app');
  });

  it('names the Page token and its permissions when the Page install is refused (200, then 10)', async () => {
    for (const code of [200, 10]) {
      const { deps, text } = setup();
      const graph = graphMock();
      graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
      graph.on('POST', `${PAGE}/subscribed_apps`, 403, graphError(code, '(#200) Requires pages_manage_metadata permission to manage the object'));
      await expect(subscribe(deps)).resolves.toBe(1);
      expect(text()).toMatch(new RegExp(`code\\s+${code}`));
      expect(text()).toContain('the Page token lacks a permission: generate it again with pages_messaging and pages_manage_metadata');
      expect(text()).toContain('and the comment permissions when data/comment-replies.json has triggers');
    }
  });

  it('explains a bad field name (100) with its subcode', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 400, graphError(100, '(#100) Param fields[0] must be one of {...}', 1349125));
    await expect(subscribe(deps)).resolves.toBe(1);
    expect(text()).toMatch(/subcode\s+1349125/);
    expect(text()).toContain('usually a field name this object or GRAPH_API_VERSION does not know');
  });

  it('refuses an APP_URL Meta cannot reach, sending nothing (exit 2)', async () => {
    const { deps, text } = setup({ APP_URL: 'http://localhost:3000' });
    await expect(subscribe(deps)).resolves.toBe(2);
    expect(text()).toContain('APP_URL is http');
    expect(text()).toContain('Nothing was sent');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('runs against the emulator when APP_SECRET is pinned: its three accounts, with their derived tokens and a local callback', async () => {
    const { deps, text } = setup({ PAGE_ACCESS_TOKEN: '', APP_ID: '', PAGE_ID: '', APP_URL: 'http://localhost:3000', INSTAGRAM_API_URL: 'https://instagram.test' });
    expect(deps.config).toMatchObject({ mode: 'emulator', emulatorPinned: true });
    // The tokens are derived from APP_SECRET, so the running emulator (another process) knows them too.
    const pinned = loadConfig({ APP_SECRET: ENV.APP_SECRET });
    expect(deps.config.accounts.map((a) => a.access_token)).toEqual(pinned.accounts.map((a) => a.access_token));
    expect(deps.config.PAGE_ACCESS_TOKEN).toBe(pinned.PAGE_ACCESS_TOKEN);
    const emulatorApp = deps.config.APP_ID as string;
    const [first, second, login] = deps.config.accounts;
    const graph = graphMock();
    graph.on('POST', `${emulatorApp}/subscriptions`, 200, { success: true });
    graph.on('POST', `${emulatorApp}/subscriptions`, 200, { success: true });
    graph.on('POST', `${first?.key ?? ''}/subscribed_apps`, 200, { success: true });
    graph.on('POST', `${second?.key ?? ''}/subscribed_apps`, 200, { success: true });
    const instagram = nock('https://instagram.test').post(`/${V}/${login?.key ?? ''}/subscribed_apps`).query(true).reply(200, { success: true });
    await expect(subscribe(deps)).resolves.toBe(0);
    expect(form(graph.calls[0]).callback_url).toBe('http://localhost:3000/webhook');
    expect(graph.calls.map((c) => form(c).object ?? c.path)).toEqual(['page', 'instagram', `/${V}/${first?.key ?? ''}/subscribed_apps`, `/${V}/${second?.key ?? ''}/subscribed_apps`]);
    expect(graph.calls[2]?.authorization).toBe(`Bearer ${deps.config.PAGE_ACCESS_TOKEN}`);
    expect(graph.calls[3]?.authorization).toBe(`Bearer ${second?.access_token ?? ''}`);
    expect(instagram.isDone()).toBe(true);
    expect(text()).toContain(`✔ instagram install  instagram ${login?.key ?? ''} (INSTAGRAM_API_URL)`);
  });

  it('refuses to run without live credentials, naming each missing variable (exit 2)', async () => {
    const { deps, text } = setup({ PAGE_ACCESS_TOKEN: '', APP_SECRET: '', APP_ID: '', PAGE_ID: '' });
    await expect(subscribe(deps)).resolves.toBe(2);
    expect(text()).toContain('PAGE_ACCESS_TOKEN:');
    expect(text()).not.toContain('APP_ID:'); // the emulator fills in its own IDs
    // Live mode without PAGE_ID does not get this far: loadConfig refuses it (test/unit/config.test.ts).
    expect(() => setup({ PAGE_ID: '' })).toThrow(/^PAGE_ID: is required/);
  });
});

describe('subscribe and status with comment triggers (data/comment-replies.json)', () => {
  const PAGE_WITH_FEED = [...MESSENGER_FIELDS, 'feed'];
  const INSTAGRAM_WITH_COMMENTS = [...INSTAGRAM_FIELDS, 'comments', 'live_comments'];

  it('adds feed to object=page and to the Page install, and comments, live_comments to object=instagram, with include_values', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG }, triggers(trigger()));
    const graph = graphMock();
    graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
    graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
    graph.on('POST', `${PAGE}/subscribed_apps`, 200, { success: true });

    await expect(subscribe(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /${V}/${APP}/subscriptions`, `POST /${V}/${APP}/subscriptions`, `POST /${V}/${PAGE}/subscribed_apps`]);
    const [page, instagram, install] = graph.calls;
    expectToken(page, APP_TOKEN);
    expect(form(page)).toEqual({ object: 'page', callback_url: 'https://bot.example.test/webhook', fields: PAGE_WITH_FEED.join(','), include_values: 'true', verify_token: ENV.VERIFY_TOKEN });
    expectToken(instagram, APP_TOKEN);
    expect(form(instagram)).toEqual({ object: 'instagram', callback_url: 'https://bot.example.test/webhook', fields: INSTAGRAM_WITH_COMMENTS.join(','), include_values: 'true', verify_token: ENV.VERIFY_TOKEN });
    expectToken(install, ENV.PAGE_ACCESS_TOKEN);
    expect(form(install)).toEqual({ subscribed_fields: PAGE_WITH_FEED.join(',') });
    expect(text()).toContain(`✔ page install      page ${PAGE}  15 fields`);
    expectNoSecrets(text());
  });

  it('asks only for the platform the triggers answer on: Instagram triggers add no feed, Facebook posts add no comments', async () => {
    for (const [only, page, instagram] of [
      [trigger({ platforms: ['instagram'] }), MESSENGER_FIELDS, INSTAGRAM_WITH_COMMENTS],
      [trigger({ post_ids: ['1234567890_7000000000000001'] }), PAGE_WITH_FEED, INSTAGRAM_FIELDS],
    ] as const) {
      const { deps } = setup({ IG_ACCOUNT_ID: IG }, triggers(only));
      const graph = graphMock();
      graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
      graph.on('POST', `${APP}/subscriptions`, 200, { success: true });
      graph.on('POST', `${PAGE}/subscribed_apps`, 200, { success: true });
      await expect(subscribe(deps)).resolves.toBe(0);
      expect(graph.calls.map((c) => form(c).fields ?? form(c).subscribed_fields)).toEqual([page.join(','), instagram.join(','), page.join(',')]);
    }
  });

  it('status expects the comment fields too: names feed missing on the app and on the Page, live_comments on instagram, and exits 1', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG }, triggers(trigger()));
    const graph = graphMock();
    graph.on('GET', `${APP}/subscriptions`, 200, { data: [subscription('page', MESSENGER_FIELDS), subscription('instagram', [...INSTAGRAM_FIELDS, 'comments'])] });
    graph.on('GET', `${PAGE}/subscribed_apps`, 200, { data: [{ id: APP, subscribed_fields: [...MESSENGER_FIELDS] }] });

    await expect(status(deps)).resolves.toBe(1);

    const out = text();
    expect(out).toMatch(/✖\s+page\s+missing fields: feed\n/);
    expect(out).toMatch(/✖\s+instagram\s+missing fields: live_comments\n/);
    expect(out).toMatch(/✖\s+page install\s+missing fields: feed\n/);
    expect(out).toContain('Fix: npm run setup -- subscribe');
  });

  it('status is content with the comment fields in place', async () => {
    const { deps, text } = setup({}, triggers(trigger({ platforms: ['facebook'] })));
    const graph = graphMock();
    graph.on('GET', `${APP}/subscriptions`, 200, { data: [subscription('page', PAGE_WITH_FEED)] });
    graph.on('GET', `${PAGE}/subscribed_apps`, 200, { data: [{ id: APP, subscribed_fields: PAGE_WITH_FEED }] });
    await expect(status(deps)).resolves.toBe(0);
    expect(text()).toMatch(/✔\s+page install\s+up to date/);
    expect(text()).not.toContain('not used by the bot');
  });
});

const subscription = (object: string, fields: readonly string[], extra: Partial<{ callback_url: string; active: boolean }> = {}) => ({
  object,
  callback_url: 'https://bot.example.test/webhook',
  active: true,
  fields: fields.map((name) => ({ name, version: V })),
  ...extra,
});

describe('status', () => {
  it('prints object, callback URL, active and fields, and exits 0 when everything the bot needs is there', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', `${APP}/subscriptions`, 200, { data: [subscription('page', [...MESSENGER_FIELDS, 'feed'])] });
    graph.on('GET', `${PAGE}/subscribed_apps`, 200, { data: [{ id: APP, name: 'Tidewater Bot', subscribed_fields: [...MESSENGER_FIELDS] }] });

    await expect(status(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /${V}/${APP}/subscriptions`, `GET /${V}/${PAGE}/subscribed_apps`]);
    expectToken(graph.calls[0], APP_TOKEN);
    expectToken(graph.calls[1], ENV.PAGE_ACCESS_TOKEN);
    const out = text();
    expect(out).toMatch(/object\s+callback URL\s+active\s+fields/);
    expect(out).toMatch(/page\s+https:\/\/bot\.example\.test\/webhook\s+yes\s+messages, /);
    expect(out).toContain(`app ${APP} (Tidewater Bot) on Page ${PAGE}`);
    expect(out).toMatch(/✔\s+page\s+up to date/);
    expect(out).toMatch(/✔\s+page install\s+up to date/);
    expect(out).toContain('page: also subscribed to feed (not used by the bot, harmless)');
    expectNoSecrets(out);
  });

  it('shows the difference from what the bot needs and exits 1', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('GET', `${APP}/subscriptions`, 200, { data: [subscription('page', ['messages', 'messaging_postbacks'], { callback_url: 'https://old.example.test/webhook', active: false })] });
    graph.on('GET', `${PAGE}/subscribed_apps`, 200, { data: [{ id: '999', subscribed_fields: ['feed'] }] });

    await expect(status(deps)).resolves.toBe(1);

    const out = text();
    expect(out).toMatch(/✖\s+page\s+callback is https:\/\/old\.example\.test\/webhook, not https:\/\/bot\.example\.test\/webhook; inactive; missing fields: message_echoes/);
    expect(out).toMatch(/✖\s+instagram\s+not subscribed/);
    expect(out).toMatch(/✖\s+page install\s+app not installed on the Page/);
    expect(out).toContain(`app ${APP} is not installed on Page ${PAGE}`);
    expect(out).toContain('Fix: npm run setup -- subscribe');
  });

  it('reports an expired Page token (190) with its hint and exits 1', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', `${APP}/subscriptions`, 200, { data: [] });
    graph.on('GET', `${PAGE}/subscribed_apps`, 400, graphError(190, 'Error validating access token: Session has expired.', 463));
    await expect(status(deps)).resolves.toBe(1);
    expect(text()).toMatch(/code\s+190/);
    expect(text()).toMatch(/subcode\s+463/);
    expect(text()).toContain('PAGE_ACCESS_TOKEN is invalid or expired');
  });

  it('reports a Graph API that does not answer', async () => {
    const { deps, text } = setup();
    nock(GRAPH).get(`/${V}/${APP}/subscriptions`).query(true).replyWithError('connect ECONNREFUSED 127.0.0.1:443');
    await expect(status(deps)).resolves.toBe(1);
    expect(text()).toContain('failed (no response)');
    expect(text()).toContain('no answer from https://graph.test');
  });
});

describe('unsubscribe', () => {
  it('deletes every object the bot uses, then uninstalls the app from the Page', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('DELETE', `${APP}/subscriptions`, 200, { success: true });
    graph.on('DELETE', `${APP}/subscriptions`, 200, { success: true });
    graph.on('DELETE', `${PAGE}/subscribed_apps`, 200, { success: true });

    await expect(unsubscribe(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => `${c.method} ${c.path} ${c.query.object ?? ''}`.trim())).toEqual([
      `DELETE /${V}/${APP}/subscriptions page`,
      `DELETE /${V}/${APP}/subscriptions instagram`,
      `DELETE /${V}/${PAGE}/subscribed_apps`,
    ]);
    expectToken(graph.calls[0], APP_TOKEN);
    expectToken(graph.calls[1], APP_TOKEN);
    expectToken(graph.calls[2], ENV.PAGE_ACCESS_TOKEN);
    expect(graph.calls[0]?.query).toEqual({ object: 'page', appsecret_proof: appSecretProof(APP_TOKEN, ENV.APP_SECRET) });
    expect(text()).toContain('removed all fields');
    expect(text()).toContain('app removed from the Page');
  });

  it('removes only some fields of one object and keeps the Page install', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('DELETE', `${APP}/subscriptions`, 200, { success: true });

    await expect(unsubscribe(deps, { object: 'page', fields: ['message_reads', 'message_deliveries'] })).resolves.toBe(0);

    expect(graph.calls).toHaveLength(1);
    expect(graph.calls[0]?.query).toEqual({ object: 'page', fields: 'message_reads,message_deliveries', appsecret_proof: appSecretProof(APP_TOKEN, ENV.APP_SECRET) });
    expect(text()).toContain('removed fields message_reads, message_deliveries');
    expect(text()).not.toContain('app removed from the Page');
  });

  it('removes the instagram object alone without touching the Page install', async () => {
    const { deps } = setup();
    const graph = graphMock();
    graph.on('DELETE', `${APP}/subscriptions`, 200, { success: true });
    await expect(unsubscribe(deps, { object: 'instagram' })).resolves.toBe(0);
    expect(graph.calls.map((c) => c.query.object)).toEqual(['instagram']);
  });

  it('stops at the first failure with the Graph error', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('DELETE', `${APP}/subscriptions`, 400, graphError(100, '(#100) Invalid parameter'));
    await expect(unsubscribe(deps)).resolves.toBe(1);
    expect(graph.calls).toHaveLength(1);
    expect(text()).toContain(`✖ DELETE /${V}/${APP}/subscriptions failed (HTTP 400)`);
  });
});
