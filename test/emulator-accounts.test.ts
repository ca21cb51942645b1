// The emulator with no credentials plays two Pages (the first with a linked Instagram account) and
// an Instagram Login account: the page offers them, each user writes to one, the notifications
// carry that account's entry id (an Instagram Login account's signed with the Instagram app
// secret), the bot answers through the right emulated API with the right token, and the inspector
// names the account and the API of every record. The emulated Instagram API: auth, scoping,
// refresh.
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { EMULATED_IG_ACCOUNT_ID, EMULATED_IG_LOGIN_ACCOUNT_ID, EMULATED_PAGE_ID, EMULATED_SECOND_PAGE_ID } from '../services/accounts/emulated.ts';
import type { GraphCallRecord, WebhookRecord } from '../services/emulator/index.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { startEmulatorApp, type Running } from './support/emulator-app.ts';

const V = 'v24.0';
const EN = createTranslations().fixedT('en_US');
const IG_SECRET = 'emulator-instagram-app-secret-0123456789';
const graphCalls = (r: Running) => r.emulator.records().filter((x): x is GraphCallRecord => x.kind === 'graph');
const webhooks = (r: Running) => r.emulator.records().filter((x): x is WebhookRecord => x.kind === 'webhook');
const tokenOf = (r: Running, key: string) => r.config.accounts.find((a) => a.key === key)?.access_token ?? '';
const errorOf = (res: { body: unknown }) => (res.body as { error: { code: number; message: string; error_subcode?: number } }).error;

function instagram(r: Running, method: 'get' | 'post', path: string, token: string, body: object = {}, secret = r.config.INSTAGRAM_APP_SECRET) {
  const call = request(r.server)[method](`/emulator/instagram/${V}/${path}`).set('Authorization', `Bearer ${token}`);
  return method === 'get' ? call.query({ ...body, appsecret_proof: appSecretProof(token, secret) }) : call.query({ appsecret_proof: appSecretProof(token, secret) }).send(body);
}

describe('the accounts the emulator offers', () => {
  it('lists two Pages (one with a linked Instagram account) and an Instagram Login account, with their channels and APIs', async () => {
    const r = await startEmulatorApp();
    const info = await request(r.server).get('/emulator/info');
    expect((info.body as { accounts: unknown[] }).accounts).toEqual([
      { key: EMULATED_PAGE_ID, type: 'page', api: 'graph', name: 'Tidewater Tea Co.', username: 'tidewater.tea.co', page_id: EMULATED_PAGE_ID, instagram_account_id: EMULATED_IG_ACCOUNT_ID, channels: ['messenger', 'instagram'] },
      { key: EMULATED_SECOND_PAGE_ID, type: 'page', api: 'graph', name: 'Harbour Tea Bar', page_id: EMULATED_SECOND_PAGE_ID, channels: ['messenger'] },
      { key: EMULATED_IG_LOGIN_ACCOUNT_ID, type: 'instagram', api: 'instagram', name: 'Matcha Corner', username: 'matcha.corner', instagram_account_id: EMULATED_IG_LOGIN_ACCOUNT_ID, channels: ['instagram'] },
    ]);
    expect(new Set(r.config.accounts.map((a) => a.access_token)).size).toBe(3);
  });

  it('creates a user of the account chosen on the setup screen, and refuses an account that does not offer the channel', async () => {
    const r = await startEmulatorApp();
    const made = await request(r.server).post('/emulator/users').send({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ channel: 'instagram', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    const byDefault = await request(r.server).post('/emulator/users').send({ channel: 'instagram', name: 'Maya', locale: 'en_US' });
    expect(byDefault.body).toMatchObject({ account: EMULATED_PAGE_ID });
    for (const [channel, account] of [['messenger', EMULATED_IG_LOGIN_ACCOUNT_ID], ['instagram', EMULATED_SECOND_PAGE_ID], ['messenger', '42']]) {
      const refused = await request(r.server).post('/emulator/users').send({ channel, name: 'X', locale: 'en_US', account });
      expect(refused.status).toBe(400);
      expect(errorOf(refused) as unknown as string).toMatch(new RegExp(`^account must be one that offers ${channel}`));
    }
  });
});

describe('conversations with each account, end to end', () => {
  it("answers the Instagram Login account's user through the emulated Instagram API with its token, and names account and API in the inspector", async () => {
    const r = await startEmulatorApp({ INSTAGRAM_APP_SECRET: IG_SECRET });
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    const { webhook } = await r.emulator.act(noor, { type: 'text', text: 'hello' });
    expect(webhook.status).toBe(200);
    await r.settle();

    const body = webhook.body as { object: string; entry: { id: string; messaging: { recipient: { id: string } }[] }[] };
    expect(body.object).toBe('instagram');
    expect(body.entry[0]?.id).toBe(EMULATED_IG_LOGIN_ACCOUNT_ID);
    expect(body.entry[0]?.messaging[0]?.recipient.id).toBe(EMULATED_IG_LOGIN_ACCOUNT_ID);
    expect(webhook.account).toEqual({ key: EMULATED_IG_LOGIN_ACCOUNT_ID, name: 'Matcha Corner', type: 'instagram' });

    const calls = graphCalls(r);
    expect(calls.length).toBeGreaterThan(2);
    for (const call of calls) expect(call).toMatchObject({ api: 'instagram', account: { key: EMULATED_IG_LOGIN_ACCOUNT_ID, name: 'Matcha Corner', type: 'instagram' }, status: 200 });
    // The replies, and (after the first of them) Noor's profile lookup.
    expect(calls[0]).toMatchObject({ method: 'POST', path: `/${V}/me/messages` });
    expect(calls.filter((c) => c.method === 'GET').map((c) => c.path)).toEqual([`/${V}/${noor.id}`]);
    expect(calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual(Array<string>(calls.length - 1).fill(`POST /${V}/me/messages`));
    expect(calls.map((c) => (c.body as { message?: { text?: unknown } } | undefined)?.message?.text)).toContain(EN('welcome.anonymous'));
    // The read receipt went back signed with the Instagram app secret too, and was accepted.
    const [first, ...receipts] = webhooks(r);
    expect([first?.event, first?.status]).toEqual(['message', 200]);
    expect(receipts.length).toBeGreaterThan(0);
    for (const w of receipts) expect([w.event, w.status, w.account?.key]).toEqual(['read', 200, EMULATED_IG_LOGIN_ACCOUNT_ID]);
    const text = JSON.stringify(r.emulator.records());
    for (const secret of [tokenOf(r, EMULATED_IG_LOGIN_ACCOUNT_ID), IG_SECRET, r.config.APP_SECRET]) expect(text).not.toContain(secret);
  });

  it("answers the second Page's user with the second Page's token, and the linked Instagram account's user with the first Page's, both through the Graph API", async () => {
    const r = await startEmulatorApp();
    const ben = r.emulator.createUser({ channel: 'messenger', name: 'Ben', locale: 'en_US', account: EMULATED_SECOND_PAGE_ID });
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya', locale: 'en_US', account: EMULATED_PAGE_ID });
    await r.emulator.act(ben, { type: 'text', text: 'hello' });
    await r.emulator.act(maya, { type: 'text', text: 'hello' });
    await r.settle();
    const of = (id: string) => graphCalls(r).filter((c) => c.user_id === id);
    expect(of(ben.id).length).toBeGreaterThan(2);
    for (const call of of(ben.id)) expect(call).toMatchObject({ api: 'graph', account: { key: EMULATED_SECOND_PAGE_ID, name: 'Harbour Tea Bar' }, status: 200 });
    for (const call of of(maya.id)) expect(call).toMatchObject({ api: 'graph', account: { key: EMULATED_PAGE_ID }, status: 200 });
    const entryOf = (w: WebhookRecord) => (w.body as { entry: { id: string }[] }).entry[0]?.id;
    expect(webhooks(r).filter((w) => w.user_id === ben.id && w.event === 'message').map(entryOf)).toEqual([EMULATED_SECOND_PAGE_ID]);
    expect(webhooks(r).filter((w) => w.user_id === maya.id && w.event === 'message').map(entryOf)).toEqual([EMULATED_IG_ACCOUNT_ID]);
    expect(r.logText()).not.toContain('signature rejected');
  });
});

describe('accounts keep their users apart', () => {
  it("refuses one Page's token for another Page's user, and a Page token on the Instagram API", async () => {
    const r = await startEmulatorApp();
    const ben = r.emulator.createUser({ channel: 'messenger', name: 'Ben', locale: 'en_US', account: EMULATED_SECOND_PAGE_ID });
    const first = tokenOf(r, EMULATED_PAGE_ID);
    const wrong = await request(r.server).post(`/emulator/graph/${V}/me/messages`).set('Authorization', `Bearer ${first}`).query({ appsecret_proof: appSecretProof(first, r.config.APP_SECRET) }).send({ recipient: { id: ben.id }, messaging_type: 'RESPONSE', message: { text: 'hi' } });
    expect(errorOf(wrong)).toMatchObject({ code: 100, error_subcode: 2018001 });
    const profile = await request(r.server).get(`/emulator/graph/${V}/${ben.id}`).set('Authorization', `Bearer ${first}`).query({ appsecret_proof: appSecretProof(first, r.config.APP_SECRET) });
    expect(errorOf(profile)).toMatchObject({ code: 100, error_subcode: 33 });
    expect(errorOf(await instagram(r, 'post', 'me/messages', first, { recipient: { id: ben.id }, message: { text: 'hi' } }))).toMatchObject({ code: 190 });
  });
});

describe('the emulated Instagram API', () => {
  it('requires the Instagram token and a proof made with the Instagram app secret', async () => {
    const r = await startEmulatorApp({ INSTAGRAM_APP_SECRET: IG_SECRET });
    const token = tokenOf(r, EMULATED_IG_LOGIN_ACCOUNT_ID);
    expect(errorOf(await request(r.server).get(`/emulator/instagram/${V}/me`))).toMatchObject({ code: 190 });
    expect(errorOf(await request(r.server).get(`/emulator/instagram/${V}/me`).set('Authorization', `Bearer ${token}`))).toMatchObject({ code: 100, message: expect.stringContaining('appsecret_proof') as unknown });
    expect(errorOf(await instagram(r, 'get', 'me', token, {}, r.config.APP_SECRET))).toMatchObject({ message: 'Invalid appsecret_proof provided in the API argument' });
    const me = await instagram(r, 'get', 'me', token, { fields: 'user_id,username,account_type' });
    expect(me.body).toEqual({ user_id: EMULATED_IG_LOGIN_ACCOUNT_ID, username: 'matcha.corner', account_type: 'BUSINESS' });
    const debug = await instagram(r, 'get', 'debug_token', token, { input_token: token });
    expect(debug.body).toMatchObject({ data: { type: 'USER', is_valid: true, user_id: EMULATED_IG_LOGIN_ACCOUNT_ID, scopes: ['instagram_business_basic', 'instagram_business_manage_messages', 'instagram_business_manage_comments'] } });
  });

  it('refreshes a token on the documented endpoint (versioned or not): the new one works, and no record keeps it', async () => {
    const r = await startEmulatorApp();
    const token = tokenOf(r, EMULATED_IG_LOGIN_ACCOUNT_ID);
    const refreshed = await request(r.server).get('/emulator/instagram/refresh_access_token').query({ grant_type: 'ig_refresh_token', access_token: token });
    expect(refreshed.body).toEqual({ access_token: expect.stringMatching(/^EMULATOR-IG-[0-9a-f]{32}$/) as unknown, token_type: 'bearer', expires_in: 5_184_000 });
    const next = (refreshed.body as { access_token: string }).access_token;
    const versioned = await request(r.server).get(`/emulator/instagram/${V}/refresh_access_token`).query({ grant_type: 'ig_refresh_token', access_token: next });
    expect(versioned.status).toBe(200);
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    for (const t of [token, next]) expect((await instagram(r, 'post', 'me/messages', t, { recipient: { id: noor.id }, messaging_type: 'RESPONSE', message: { text: 'hi' } })).status).toBe(200);
    expect(errorOf(await request(r.server).get('/emulator/instagram/refresh_access_token').query({ grant_type: 'ig_exchange_token', access_token: token }))).toMatchObject({ code: 100 });
    const text = JSON.stringify(r.emulator.records());
    expect(text).not.toContain(next);
    expect(text).not.toContain(token);
    expect(graphCalls(r)[0]).toMatchObject({ api: 'instagram', path: '/refresh_access_token', query: { grant_type: 'ig_refresh_token' }, response: { token_type: 'bearer', expires_in: 5_184_000 } });
  });

  it('sends only to its own users and installs with Instagram fields', async () => {
    const r = await startEmulatorApp();
    const token = tokenOf(r, EMULATED_IG_LOGIN_ACCOUNT_ID);
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya', locale: 'en_US', account: EMULATED_PAGE_ID });
    expect(errorOf(await instagram(r, 'post', 'me/messages', token, { recipient: { id: maya.id }, messaging_type: 'RESPONSE', message: { text: 'hi' } }))).toMatchObject({ error_subcode: 2018001 });
    expect((await instagram(r, 'post', `${EMULATED_IG_LOGIN_ACCOUNT_ID}/subscribed_apps`, token, { subscribed_fields: 'messages,messaging_seen' })).body).toEqual({ success: true });
    expect(errorOf(await instagram(r, 'post', `${EMULATED_IG_LOGIN_ACCOUNT_ID}/subscribed_apps`, token, { subscribed_fields: 'message_deliveries' }))).toMatchObject({ code: 100 });
    const installed = await instagram(r, 'get', `${EMULATED_IG_LOGIN_ACCOUNT_ID}/subscribed_apps`, token);
    expect(installed.body).toMatchObject({ data: [{ subscribed_fields: ['messages', 'messaging_seen'] }] });
  });
});

describe('the webhook with two app secrets', () => {
  it('accepts a notification signed with INSTAGRAM_APP_SECRET and refuses one signed with anything else', async () => {
    const r = await startEmulatorApp({ INSTAGRAM_APP_SECRET: IG_SECRET });
    const body = toMetaJson({ object: 'instagram', entry: [{ id: EMULATED_IG_LOGIN_ACCOUNT_ID, time: Date.now(), messaging: [] }] });
    const post = (secret: string) => request(r.server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(secret, body)).send(body);
    expect((await post(IG_SECRET)).status).toBe(200);
    expect((await post(r.config.APP_SECRET)).status).toBe(200);
    expect((await post('not-a-secret-of-this-app')).status).toBe(403);
  });
});
