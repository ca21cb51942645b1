// Several accounts in one deployment, through the real app: signed notifications posted to
// /webhook, the Graph API and the Instagram API faked at the HTTP boundary and every request
// checked exactly. Two Pages (the first with a linked Instagram account) and an Instagram Login
// account; each entry is answered by the account of its entry.id, with that account's token
// through that account's API, and an entry of any other id is never answered.
import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { createApp } from '../app.ts';
import { createMemoryTokenStore, createAccountTokens, tokenOrigin } from '../services/accounts/tokens.ts';
import { createTokenRefresher } from '../services/accounts/token-refresher.ts';
import { createBot } from '../services/bot.ts';
import { loadConfig, secretsOf } from '../services/config.ts';
import { appSecretProof, type GraphObserver, type ObservedGraphCall } from '../services/graph/client.ts';
import { createRefreshCall } from '../services/graph/instagram-token.ts';
import type { SendRequest } from '../services/graph/messages.ts';
import { createTranslations } from '../services/i18n.ts';
import { createTrafficLog } from '../services/emulator/traffic.ts';
import { createLogger } from '../services/logger.ts';
import { createSecretSet, formsOf } from '../services/redact.ts';
import { createMemoryStore } from '../services/state/memory-store.ts';
import { APP_SECRET, IG_LOGIN, INSTAGRAM, INSTAGRAM_APP_SECRET, PAGE_A, PAGE_A_IG, PAGE_B, TOKENS, VERSION, accountsEnv } from './support/accounts.ts';
import { postSigned } from './support/harness.ts';
import { fakeGraph, type FakeGraphCall } from './support/fake-graph.ts';

const OTHER_PAGE = '999999999999999';
const OTHER_IG = '17841499999999999';
const ANA = '24000000000000001';
const BEN = '24000000000000002';
const CAT = '24000000000000003';
const MAYA = '7650000000000001';
const NOOR = '7650000000000002';
const OMAR = '7650000000000003';

function app(options: { tokens?: ReturnType<typeof createAccountTokens>; observeGraph?: GraphObserver } = {}) {
  const config = loadConfig(accountsEnv());
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log, ...options });
  return { config, bot, log, app: createApp({ config, log, bot }), logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), logText: () => lines.join('\n') };
}

let clock = Date.now() - 60_000;
function item(sender: string, recipient: string, text: string) {
  clock += 1000;
  return { sender: { id: sender }, recipient: { id: recipient }, timestamp: clock, message: { mid: `m_${sender}_${clock}`, text } };
}
const entry = (id: string, ...messaging: Record<string, unknown>[]) => ({ id, time: clock, messaging });

async function deliver(h: Pick<ReturnType<typeof app>, 'app' | 'bot'>, body: unknown, secret = APP_SECRET) {
  const res = await postSigned(h.app, body, secret);
  expect(res.status).toBe(200);
  await h.bot.idle();
}

const proof = (token: string, secret: string) => appSecretProof(token, secret);
/** What every request of an account must carry: its token in the header, its proof, no token in the URL. */
function expectCredentials(request: FakeGraphCall, token: string, secret: string) {
  expect(request.authorization).toBe(`Bearer ${token}`);
  expect(request.query).toMatchObject({ appsecret_proof: proof(token, secret) });
  expect(request.query.access_token).toBeUndefined();
}
const translations = createTranslations();
/** Every user has a profile: a name from their id. */
const anyone = (id: string) => ({ name: `User ${id.slice(-4)}`, first_name: `User${id.slice(-4)}` });
/** The recipient of a send (undefined for other calls). */
const to = (r: FakeGraphCall) => (r.body as Partial<SendRequest> | undefined)?.recipient?.id;

describe('a batch with entries of two Pages and of an unknown Page', () => {
  it('answers each entry through GRAPH_API_URL with its own Page token, and never the unknown one', async () => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    await deliver(h, { object: 'page', entry: [entry(PAGE_A, item(ANA, PAGE_A, 'hello')), entry(PAGE_B, item(BEN, PAGE_B, 'hello')), entry(OTHER_PAGE, item(CAT, OTHER_PAGE, 'hello'))] });

    expect(apis.calls.every((r) => r.api === 'graph')).toBe(true);
    expect(apis.unexpected()).toEqual([]);
    const byUser = (id: string) => apis.calls.filter((r) => to(r) === id || r.path === `/${VERSION}/${id}`);
    for (const [user, token] of [[ANA, TOKENS.pageA], [BEN, TOKENS.pageB]] as const) {
      const requests = byUser(user);
      // The replies first (a new user: the welcome without a name), and the profile lookup, once, after the first of them.
      expect(requests.length).toBeGreaterThanOrEqual(3);
      expect(requests[0]?.body).toMatchObject({ recipient: { id: user }, messaging_type: 'RESPONSE', message: { text: translations.fixedT('en_US')('welcome.anonymous') } });
      const lookups = requests.filter((r) => r.method === 'GET');
      expect(lookups.map((r) => r.path)).toEqual([`/${VERSION}/${user}`]);
      expect(lookups[0]?.query).toEqual({ fields: 'first_name,last_name,profile_pic,locale', appsecret_proof: proof(token, APP_SECRET) });
      expect(requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual(Array<string>(requests.length - 1).fill(`POST /${VERSION}/me/messages`));
      for (const request of requests) expectCredentials(request, token, APP_SECRET);
    }
    expect(byUser(CAT)).toEqual([]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'event for an account this bot does not serve: acknowledged, not handled', entry_id: OTHER_PAGE }));
    expect(await h.bot.store.getUser(`${OTHER_PAGE}/messenger:${CAT}`)).toEqual({});
  });
});

describe('a batch of Instagram entries: a linked account, an Instagram Login account, an unknown one', () => {
  it('answers the linked account through GRAPH_API_URL with its Page token, the Instagram Login account through INSTAGRAM_API_URL with its own token and the Instagram app secret', async () => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    await deliver(h, { object: 'instagram', entry: [entry(PAGE_A_IG, item(MAYA, PAGE_A_IG, 'hi')), entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'hi')), entry(OTHER_IG, item(OMAR, OTHER_IG, 'hi'))] });

    expect(apis.unexpected()).toEqual([]);
    const linked = apis.calls.filter((r) => to(r) === MAYA || r.path.endsWith(`/${MAYA}`));
    const login = apis.calls.filter((r) => to(r) === NOOR || r.path.endsWith(`/${NOOR}`));
    expect(linked.length).toBeGreaterThanOrEqual(3);
    expect(login.length).toBe(linked.length);
    for (const r of linked) {
      expect(r.api).toBe('graph');
      expectCredentials(r, TOKENS.pageA, APP_SECRET);
    }
    for (const r of login) {
      expect(r.api).toBe('instagram');
      expectCredentials(r, TOKENS.igLogin, INSTAGRAM_APP_SECRET);
    }
    // Instagram profiles: the Instagram fields, asked of the account the user wrote to, after the first reply.
    expect(login[0]).toMatchObject({ method: 'POST', path: `/${VERSION}/me/messages`, body: { recipient: { id: NOOR }, message: expect.anything() as unknown } });
    expect(login.filter((r) => r.method === 'GET')).toEqual([expect.objectContaining({ path: `/${VERSION}/${NOOR}`, query: expect.objectContaining({ fields: 'name,username,profile_pic' }) as unknown })]);
    expect(login.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual(Array<string>(login.length - 1).fill(`POST /${VERSION}/me/messages`));
    expect(apis.calls.filter((r) => to(r) === OMAR || r.path.endsWith(`/${OMAR}`))).toEqual([]);
    expect(await h.bot.store.getUser(`${PAGE_A}/instagram:${MAYA}`)).toMatchObject({ last_inbound_at: expect.any(Number) as unknown });
    expect(await h.bot.store.getUser(`${IG_LOGIN}/instagram:${NOOR}`)).toMatchObject({ last_inbound_at: expect.any(Number) as unknown });
  });

  it("accepts an Instagram Login account's notification signed with the Instagram app secret, and refuses any other secret", async () => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    await deliver(h, { object: 'instagram', entry: [entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'hi'))] }, INSTAGRAM_APP_SECRET);
    expect(apis.sendCalls().length).toBeGreaterThan(0);
    const forged = await postSigned(h.app, { object: 'instagram', entry: [entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'again'))] }, 'some-other-secret-0123456789');
    expect(forged.status).toBe(403);
  });
});

describe('what the live dashboard sees', () => {
  it('each call with the API it went to, and no token', async () => {
    const observed: ObservedGraphCall[] = [];
    const h = app({ observeGraph: (call) => observed.push(call) });
    fakeGraph({ profiles: anyone });
    await deliver(h, { object: 'page', entry: [entry(PAGE_B, item(BEN, PAGE_B, 'hello'))] });
    await deliver(h, { object: 'instagram', entry: [entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'hi'))] }, INSTAGRAM_APP_SECRET);
    expect(new Set(observed.map((c) => `${c.api ?? '?'} ${c.path}`))).toEqual(new Set([`graph ${BEN}`, 'graph me/messages', `instagram ${NOOR}`, 'instagram me/messages']));
    const text = JSON.stringify(observed);
    for (const secret of [...Object.values(TOKENS), APP_SECRET, INSTAGRAM_APP_SECRET, 'appsecret_proof']) expect(text).not.toContain(secret);
  });
});

describe('users are kept per account', () => {
  it('keeps the same sender id of two Pages apart: state, language and replies', async () => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    const postback = (page: string, payload: string) => {
      clock += 1000;
      return { object: 'page', entry: [entry(page, { sender: { id: ANA }, recipient: { id: page }, timestamp: clock, postback: { mid: `m_pb_${clock}`, title: 'Tap', payload } })] };
    };
    await deliver(h, postback(PAGE_A, 'SET_LOCALE:es_ES'));
    await deliver(h, { object: 'page', entry: [entry(PAGE_B, item(ANA, PAGE_B, 'hello'))] });
    expect((await h.bot.store.getUser(`${PAGE_A}/messenger:${ANA}`)).locale).toBe('es_ES');
    expect((await h.bot.store.getUser(`${PAGE_B}/messenger:${ANA}`)).locale).toBeUndefined();
    const textsOfB = apis.sendCalls().flatMap((r) => {
      const body = r.body as SendRequest;
      return r.authorization === `Bearer ${TOKENS.pageB}` && 'message' in body && 'text' in body.message ? [body.message.text] : [];
    });
    // Ana picked Spanish on Page A only: Page B, where she is new, still greets her in English.
    const welcome = (locale: 'en_US' | 'es_ES') => translations.fixedT(locale)('welcome.anonymous');
    expect(textsOfB).toContain(welcome('en_US'));
    expect(textsOfB).not.toContain(welcome('es_ES'));
  });
});

describe('never a reply to one of our own accounts', () => {
  it.each([
    ['a Page writing in the other Page’s entry', 'page', PAGE_A, PAGE_B],
    ['the Instagram Login account writing in the linked account’s entry', 'instagram', PAGE_A_IG, IG_LOGIN],
    ['the linked Instagram account writing in the Instagram Login account’s entry', 'instagram', IG_LOGIN, PAGE_A_IG],
  ])('%s', async (_name, object, entryId, sender) => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    await deliver(h, { object, entry: [entry(entryId, item(sender, entryId, 'hello'))] });
    expect(apis.calls).toEqual([]);
  });
});

describe('a refreshed Instagram token', () => {
  it('is refreshed once when due, stored, and carried by every later call of that account (and never logged)', async () => {
    const base = loadConfig(accountsEnv());
    const tokens = createAccountTokens(base.accounts);
    const store = createMemoryTokenStore();
    let now = Date.parse('2025-03-01T00:00:00Z');
    const h = app({ tokens });
    const refreshed = 'IGAArefreshedToken0123456789abcdef';
    const refresh = nock(INSTAGRAM).get(`/${VERSION}/refresh_access_token`).query({ grant_type: 'ig_refresh_token', access_token: TOKENS.igLogin }).reply(200, { access_token: refreshed, token_type: 'bearer', expires_in: 5_184_000 });
    const refresher = createTokenRefresher({ accounts: base.accounts, tokens, store, refresh: createRefreshCall({ baseUrl: INSTAGRAM, version: VERSION }), now: () => now, log: h.log });

    // First sight: recorded; a day later (Meta refreshes tokens at least 24 hours old): refreshed, once.
    await refresher.check();
    expect(refresh.isDone()).toBe(false);
    now += 25 * 60 * 60 * 1000;
    await refresher.check();
    const refreshedAt = now;
    now += 60 * 60 * 1000;
    await refresher.check();
    expect(refresh.isDone()).toBe(true);
    expect(await store.getToken(IG_LOGIN)).toMatchObject({ token: refreshed, refreshed_at: refreshedAt, expires_at: refreshedAt + 5_184_000_000 });

    const apis = fakeGraph({ profiles: anyone });
    await deliver(h, { object: 'instagram', entry: [entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'hi'))] }, INSTAGRAM_APP_SECRET);
    await deliver(h, { object: 'page', entry: [entry(PAGE_B, item(BEN, PAGE_B, 'hi'))] });
    const login = apis.calls.filter((r) => r.api === 'instagram');
    expect(login.length).toBeGreaterThan(0);
    for (const r of login) expectCredentials(r, refreshed, INSTAGRAM_APP_SECRET);
    for (const r of apis.calls.filter((x) => x.api === 'graph')) expectCredentials(r, TOKENS.pageB, APP_SECRET);
    expect(h.logText()).not.toContain(refreshed);
    expect(h.logText()).not.toContain(TOKENS.igLogin);
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'Instagram token refreshed', account: IG_LOGIN, days_left: 60 }));
  });
});

describe('a refreshed Instagram token is a secret like the configured ones', () => {
  it('is scrubbed from the Graph calls the dashboard records and from log lines, by redactors made before it existed', async () => {
    const config = loadConfig(accountsEnv());
    const refreshed = 'refreshed"login/token-0123456789abcdef';
    // The bot's own refresher finds the configured token recorded two days ago: due for its first refresh.
    const store = createMemoryStore();
    await store.putToken(IG_LOGIN, { token: TOKENS.igLogin, refreshed_at: Date.now() - 2 * 24 * 60 * 60 * 1000, expires_at: 0, origin: tokenOrigin(TOKENS.igLogin) });
    const refresh = nock(INSTAGRAM).get(`/${VERSION}/refresh_access_token`).query({ grant_type: 'ig_refresh_token', access_token: TOKENS.igLogin }).reply(200, { access_token: refreshed, token_type: 'bearer', expires_in: 5_184_000 });
    const secrets = createSecretSet(secretsOf(config));
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', redact: secrets, write: (line) => lines.push(line) });
    // The dashboard's traffic log as the webhook thread has it beside a bot worker: the configured secrets only.
    const traffic = createTrafficLog({ secrets: secretsOf(config) });
    const bot = createBot(config, { log, secrets, store, observeGraph: traffic.observeGraph });
    const h = { bot, app: createApp({ config, log, bot }) };
    await bot.recover();
    expect(refresh.isDone()).toBe(true);
    expect(await store.getToken(IG_LOGIN)).toMatchObject({ token: refreshed });

    // Graph echoes the token it was given in an error (raw, in JSON inside JSON, URL-encoded), for
    // the first reply; the apology that replaces it goes through.
    let echoed = false;
    const apis = fakeGraph({
      profiles: anyone,
      failSend: (body, call) => {
        if (call.api !== 'instagram' || echoed || !('message' in body)) return undefined;
        echoed = true;
        return { status: 400, body: { error: { message: `(#100) token ${refreshed} is odd`, code: 100, error_data: JSON.stringify({ access_token: refreshed }), hint: `?access_token=${encodeURIComponent(refreshed)}`, fbtrace_id: 'Echo3' } } };
      },
    });
    await deliver(h, { object: 'instagram', entry: [entry(IG_LOGIN, item(NOOR, IG_LOGIN, 'hi'))] }, INSTAGRAM_APP_SECRET);
    const login = apis.calls.filter((r) => r.api === 'instagram');
    for (const r of login) expectCredentials(r, refreshed, INSTAGRAM_APP_SECRET);
    expect(apis.messages(NOOR).length).toBeGreaterThan(0);

    const recorded = JSON.stringify(traffic.recent());
    expect(recorded).toContain('"fbtrace_id":"Echo3"');
    expect(recorded).toContain('[REDACTED] is odd');
    for (const form of formsOf(refreshed)) expect(recorded).not.toContain(form);
    log.warn('a line that quotes the token', { detail: `Bearer ${refreshed}` });
    const logged = lines.join('\n');
    expect(logged).toContain('a line that quotes the token');
    for (const form of formsOf(refreshed)) expect(logged).not.toContain(form);
    await bot.close(1000);
  });
});

describe('replies of an account that is not configured', () => {
  it('are never sent with another account’s token', async () => {
    const h = app();
    const apis = fakeGraph({ profiles: anyone });
    const { createAccountsSendApi, createAccountClients } = await import('../services/graph/account-send-api.ts');
    const sendApi = createAccountsSendApi(createAccountClients({ config: h.config, tokens: createAccountTokens(h.config.accounts) }), PAGE_A);
    await expect(sendApi.perform({ type: 'message', recipient: { id: ANA }, message: { text: 'hi' }, account: OTHER_PAGE })).rejects.toMatchObject({ name: 'UnknownAccountError', account: OTHER_PAGE });
    // A row stored before actions carried their account belongs to the default (first) account.
    await sendApi.perform({ type: 'message', recipient: { id: ANA }, message: { text: 'hi' } });
    expect(apis.calls).toHaveLength(1);
    expectCredentials(apis.calls[0] as FakeGraphCall, TOKENS.pageA, APP_SECRET);
    expect(apis.calls[0]?.body).toEqual({ recipient: { id: ANA }, messaging_type: 'RESPONSE', message: { text: 'hi' } });
  });
});
