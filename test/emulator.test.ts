// The emulator at its real boundaries: the emulated Graph API over HTTP (auth, appsecret_proof,
// Meta-like validation and errors, recording), the notifications it signs and POSTs (checked
// against real Meta payloads from test/fixtures), the page API and its event stream, and the
// full loop through the real /webhook route and the real Send API client.
import { get as httpGet } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../app.ts';
import { createBot } from '../services/bot.ts';
import { loadConfig, type Config } from '../services/config.ts';
import { createEmulator, EMULATED_IG_ACCOUNT_ID, type Emulator, type GraphCallRecord, type SimUser, type WebhookRecord } from '../services/emulator/index.ts';
import { normalizeNotification } from '../services/events/normalize.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { createLogger } from '../services/logger.ts';
import { verifySignature } from '../services/signature.ts';
import { startEmulatorApp, type Running } from './support/emulator-app.ts';
import { fixture } from './support/harness.ts';

const T = 1763892000000;
const V = 'v24.0';

function pageAuth(config: Readonly<Config>, token = config.PAGE_ACCESS_TOKEN) {
  return { header: `Bearer ${token}`, proof: appSecretProof(token, config.APP_SECRET) };
}

function graphPost(r: Running, path: string, body: unknown, token = r.config.PAGE_ACCESS_TOKEN) {
  const { header, proof } = pageAuth(r.config, token);
  return request(r.server).post(`/emulator/graph/${V}/${path}`).query({ appsecret_proof: proof }).set('Authorization', header).send(body as object);
}

function graphGet(r: Running, path: string, query: Record<string, string> = {}, token = r.config.PAGE_ACCESS_TOKEN) {
  const { header, proof } = pageAuth(r.config, token);
  return request(r.server).get(`/emulator/graph/${V}/${path}`).query({ ...query, appsecret_proof: proof }).set('Authorization', header);
}

type Body = { body: unknown };
const errorOf = (res: Body) => (res.body as { error: Record<string, unknown> & { message: string } }).error;
const dataOf = (res: Body) => (res.body as { data: Record<string, unknown>[] }).data;
const graphCalls = (e: Emulator) => e.records().filter((x): x is GraphCallRecord => x.kind === 'graph');
/** The bot's texts: its wording comes from locales/, so a shop's rewording changes both sides. */
const EN = createTranslations().fixedT('en_US');
/** The texts of the messages the bot sent through the emulated Send API. */
const sentTexts = (e: Emulator) =>
  graphCalls(e)
    .filter((c) => c.path === `/${V}/me/messages`)
    .flatMap((c) => {
      const text = (c.body as { message?: { text?: unknown } } | undefined)?.message?.text;
      return typeof text === 'string' ? [text] : [];
    });
const webhooks = (e: Emulator) => e.records().filter((x): x is WebhookRecord => x.kind === 'webhook');

describe('emulated Graph API: authentication', () => {
  it('answers me/messages like Meta with recipient_id and message_id', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const res = await graphPost(r, 'me/messages', { recipient: { id: mia.id }, messaging_type: 'RESPONSE', message: { text: 'Hello Mia' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ recipient_id: mia.id, message_id: expect.stringMatching(/^m_[\w-]{20,}$/) as unknown });
  });

  it('refuses a missing or wrong token with a Graph 190 OAuthException', async () => {
    const r = await startEmulatorApp();
    const missing = await request(r.server).post(`/emulator/graph/${V}/me/messages`).send({});
    expect(missing.status).toBe(400);
    expect(errorOf(missing)).toMatchObject({ type: 'OAuthException', code: 190, fbtrace_id: expect.any(String) as unknown });
    expect(missing.headers['www-authenticate']).toContain('invalid_token');
    const wrong = await graphPost(r, 'me/messages', {}, 'EAAnotTheRightToken');
    expect(errorOf(wrong)).toMatchObject({ code: 190, message: expect.stringContaining('Invalid OAuth access token') as unknown });
  });

  it('requires a correct appsecret_proof, as an app with "Require App Secret" does', async () => {
    const r = await startEmulatorApp();
    const auth = `Bearer ${r.config.PAGE_ACCESS_TOKEN}`;
    const none = await request(r.server).get(`/emulator/graph/${V}/me`).set('Authorization', auth);
    expect(errorOf(none)).toMatchObject({ code: 100, type: 'GraphMethodException', message: expect.stringContaining('require an appsecret_proof') as unknown });
    const bad = await request(r.server).get(`/emulator/graph/${V}/me`).query({ appsecret_proof: 'a'.repeat(64) }).set('Authorization', auth);
    expect(errorOf(bad)).toMatchObject({ code: 100, message: 'Invalid appsecret_proof provided in the API argument' });
    const good = await graphGet(r, 'me');
    expect(good.body).toEqual({ name: 'Tidewater Tea Co.', id: r.config.PAGE_ID });
  });

  it('keeps app endpoints for the app token and Page endpoints for the Page token', async () => {
    const r = await startEmulatorApp();
    const appToken = `${r.config.APP_ID}|${r.config.APP_SECRET}`;
    const pageOnApp = await graphGet(r, `${r.config.APP_ID}/subscriptions`);
    expect(errorOf(pageOnApp)).toMatchObject({ code: 15 });
    const appOnPage = await graphPost(r, 'me/messages', {}, appToken);
    expect(errorOf(appOnPage)).toMatchObject({ code: 2500 });
    const appOnApp = await graphGet(r, `${r.config.APP_ID}/subscriptions`, {}, appToken);
    expect(appOnApp.body).toEqual({ data: [] });
  });
});

describe('emulated Graph API: me/messages validation', () => {
  const qr = (i: number) => ({ content_type: 'text', title: `Choice ${i}`, payload: `P${i}` });
  const bodies: [string, (id: string) => unknown, RegExp][] = [
    ['no recipient', () => ({ messaging_type: 'RESPONSE', message: { text: 'hi' } }), /recipient is required/],
    ['message and sender_action', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: 'hi' }, sender_action: 'typing_on' }), /Exactly one of message or sender_action/],
    ['neither', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE' }), /Exactly one of message or sender_action/],
    ['an unknown sender_action', (id) => ({ recipient: { id }, sender_action: 'dance' }), /sender_action must be one of/],
    ['no messaging_type', (id) => ({ recipient: { id }, message: { text: 'hi' } }), /messaging_type must be one of/],
    ['text over 2000 characters', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: 'x'.repeat(2001) } }), /message\[text\] must be less than or equal to 2000/],
    ['empty text', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: '' } }), /message\[text\] must be a non-empty/],
    ['14 quick replies', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: 'pick', quick_replies: Array.from({ length: 14 }, (_, i) => qr(i)) } }), /at most 13/],
    ['a quick reply title over 20', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: 'pick', quick_replies: [{ content_type: 'text', title: 'x'.repeat(21), payload: 'P' }] } }), /title\] must be less than or equal to 20/],
    ['text and attachment', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: 'a', attachment: { type: 'image', payload: { url: 'https://x.test/a.png' } } } }), /Exactly one of message\[text\] or message\[attachment\]/],
    ['11 generic elements', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'generic', elements: Array.from({ length: 11 }, (_, i) => ({ title: `T${i}` })) } } } }), /at most 10/],
    ['4 buttons', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'button', text: 'b', buttons: Array.from({ length: 4 }, (_, i) => ({ type: 'postback', title: `B${i}`, payload: 'P' })) } } } }), /at most 3/],
    ['a web_url button without a URL', (id) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'button', text: 'b', buttons: [{ type: 'web_url', title: 'Go', url: 'javascript:alert(1)' }] } } } }), /url\] must be a valid URL/],
  ];

  it.each(bodies)('refuses %s with a code 100 error', async (_name, body, message) => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const res = await graphPost(r, 'me/messages', body(mia.id));
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 100, type: 'OAuthException', message: expect.stringMatching(message) as unknown });
  });

  it('refuses a recipient it does not know with subcode 2018001', async () => {
    const r = await startEmulatorApp();
    const res = await graphPost(r, 'me/messages', { recipient: { id: '2400000000000099' }, messaging_type: 'RESPONSE', message: { text: 'hi' } });
    expect(errorOf(res)).toMatchObject({ code: 100, error_subcode: 2018001, message: '(#100) No matching user found' });
  });

  it('refuses a button template on Instagram but takes a generic template', async () => {
    const r = await startEmulatorApp();
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'en_US' });
    const button = await graphPost(r, 'me/messages', { recipient: { id: maya.id }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'button', text: 'b', buttons: [{ type: 'postback', title: 'B', payload: 'P' }] } } } });
    expect(errorOf(button).message).toMatch(/on Instagram/);
    const generic = await graphPost(r, 'me/messages', { recipient: { id: maya.id }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'generic', elements: [{ title: 'Tea', image_url: 'https://x.test/t.png' }] } } } });
    expect(generic.status).toBe(200);
  });

  it('answers a path it does not know with GraphMethodException 100/33, and a body it cannot parse with 100', async () => {
    const r = await startEmulatorApp();
    const unknown = await graphGet(r, 'me/feed_of_things');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: { message: expect.stringMatching(/^Unsupported get request\./) as unknown, type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: expect.any(String) as unknown },
    });
    const noVersion = await request(r.server).get('/emulator/graph/latest/me');
    expect(errorOf(noVersion)).toMatchObject({ code: 100, error_subcode: 33 });
    const broken = await request(r.server).post(`/emulator/graph/${V}/me/messages`).set('Content-Type', 'application/json').send('{"recipient":');
    expect(broken.status).toBe(400);
    expect(errorOf(broken)).toMatchObject({ code: 100, type: 'OAuthException' });
  });

  it('records every call with method, path and body, but never the token or the proof', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    await graphPost(r, 'me/messages', { recipient: { id: mia.id }, sender_action: 'typing_on' });
    await graphGet(r, mia.id, { fields: 'first_name,locale' });
    const calls = graphCalls(r.emulator);
    expect(calls.map((c) => [c.method, c.path, c.status, c.user_id])).toEqual([
      ['POST', `/${V}/me/messages`, 200, mia.id],
      ['GET', `/${V}/${mia.id}`, 200, mia.id],
    ]);
    expect(calls[0]?.body).toEqual({ recipient: { id: mia.id }, sender_action: 'typing_on' });
    expect(calls[1]?.query).toEqual({ fields: 'first_name,locale' });
    const text = JSON.stringify(r.emulator.records());
    expect(text).not.toContain(r.config.PAGE_ACCESS_TOKEN);
    expect(text).not.toContain('appsecret_proof');
    expect(text).not.toMatch(/authorization/i);
  });
});

describe('emulated Graph API: profiles, messenger_profile, handover, subscriptions', () => {
  it('returns the Messenger user name and locale, and the Instagram name and username without a locale', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'es_ES' });
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'id_ID' });
    const m = await graphGet(r, mia.id, { fields: 'first_name,last_name,profile_pic,locale' });
    expect(m.body).toEqual({ first_name: 'Mia', last_name: 'Tan', profile_pic: expect.stringMatching(/^http:\/\/localhost:\d+\/emulator\/avatar\.svg/) as unknown, locale: 'es_ES', id: mia.id });
    const i = await graphGet(r, maya.id, { fields: 'name,username,profile_pic' });
    expect(i.body).toEqual({ name: 'Maya Putri', username: 'maya.putri', profile_pic: expect.any(String) as unknown, id: maya.id });
    const noLocale = await graphGet(r, maya.id, { fields: 'name,locale' });
    expect(errorOf(noLocale)).toMatchObject({ code: 100, message: '(#100) Tried accessing nonexisting field (locale) on node type (IGUser)' });
    const nobody = await graphGet(r, '2999999999999999', { fields: 'first_name' });
    expect(errorOf(nobody)).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('stores, reads and deletes messenger_profile fields', async () => {
    const r = await startEmulatorApp();
    const set = await graphPost(r, 'me/messenger_profile', { get_started: { payload: 'GET_STARTED' }, greeting: [{ locale: 'default', text: 'Hi!' }] });
    expect(set.body).toEqual({ result: 'success' });
    const read = await graphGet(r, 'me/messenger_profile', { fields: 'get_started,greeting,ice_breakers' });
    expect(read.body).toEqual({ data: [{ get_started: { payload: 'GET_STARTED' }, greeting: [{ locale: 'default', text: 'Hi!' }] }] });
    const { header, proof } = pageAuth(r.config);
    const del = await request(r.server).delete(`/emulator/graph/${V}/me/messenger_profile`).query({ appsecret_proof: proof }).set('Authorization', header).send({ fields: ['greeting'] });
    expect(del.body).toEqual({ result: 'success' });
    expect((await graphGet(r, 'me/messenger_profile', { fields: 'greeting' })).body).toEqual({ data: [] });
    expect(errorOf(await graphPost(r, 'me/messenger_profile', { colour: 'teal' }))).toMatchObject({ code: 100 });
  });

  it('subscribes the app after verifying the callback like Meta, and installs the app on the Page', async () => {
    const r = await startEmulatorApp();
    const appToken = `${r.config.APP_ID}|${r.config.APP_SECRET}`;
    const fields = 'messages,messaging_postbacks,message_reactions';
    const wrong = await graphPost(r, `${r.config.APP_ID}/subscriptions`, { object: 'page', callback_url: `${r.base}/webhook`, verify_token: 'not-the-token', fields }, appToken);
    expect(errorOf(wrong)).toMatchObject({ code: 2200, message: expect.stringContaining('Callback verification failed') as unknown });
    const remote = await graphPost(r, `${r.config.APP_ID}/subscriptions`, { object: 'page', callback_url: 'https://example.org/webhook', verify_token: r.config.VERIFY_TOKEN, fields }, appToken);
    expect(errorOf(remote).message).toMatch(/only reaches callback URLs on this machine/);
    const ok = await graphPost(r, `${r.config.APP_ID}/subscriptions`, { object: 'page', callback_url: `${r.base}/webhook`, verify_token: r.config.VERIFY_TOKEN, fields }, appToken);
    expect(ok.body).toEqual({ success: true });
    const list = await graphGet(r, `${r.config.APP_ID}/subscriptions`, {}, appToken);
    expect(dataOf(list)).toEqual([{ object: 'page', callback_url: `${r.base}/webhook`, active: true, fields: fields.split(',').map((name) => ({ name, version: V })) }]);
    expect(JSON.stringify(r.emulator.records())).not.toContain(r.config.VERIFY_TOKEN);
    expect(graphCalls(r.emulator)[2]?.body).toMatchObject({ verify_token: '[REDACTED]' });

    const install = await graphPost(r, `${r.config.PAGE_ID}/subscribed_apps`, { subscribed_fields: fields });
    expect(install.body).toEqual({ success: true });
    const installed = await graphGet(r, `${r.config.PAGE_ID}/subscribed_apps`);
    expect(dataOf(installed)[0]).toMatchObject({ id: r.config.APP_ID, subscribed_fields: fields.split(',') });
    expect(errorOf(await graphPost(r, `${r.config.PAGE_ID}/subscribed_apps`, { subscribed_fields: 'everything' }))).toMatchObject({ code: 100 });
  });

  it('answers debug_token for the app token, describing its own Page token (so setup doctor works locally)', async () => {
    const r = await startEmulatorApp();
    const appToken = `${r.config.APP_ID}|${r.config.APP_SECRET}`;
    const good = await graphGet(r, 'debug_token', { input_token: r.config.PAGE_ACCESS_TOKEN }, appToken);
    expect(good.body).toMatchObject({ data: { is_valid: true, type: 'PAGE', app_id: r.config.APP_ID, profile_id: r.config.PAGE_ID } });
    const bad = await graphGet(r, 'debug_token', { input_token: 'EAAnot-the-token' }, appToken);
    expect(bad.body).toMatchObject({ data: { is_valid: false } });
    // With the Page token instead of the app token, Meta refuses.
    expect(errorOf(await graphGet(r, 'debug_token', { input_token: r.config.PAGE_ACCESS_TOKEN }))).toMatchObject({ code: 15 });
  });

  it('passes the thread to the Page Inbox: the user then reaches the bot only as standby, until the inbox passes it back', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const passed = await graphPost(r, 'me/pass_thread_control', { recipient: { id: mia.id }, target_app_id: '263902037430900', metadata: 'customer asked for a person' });
    expect(passed.body).toEqual({ success: true });
    await r.settle();
    expect(mia.thread_owner).toBe('inbox');
    const owner = await graphGet(r, 'me/thread_owner', { recipient: mia.id });
    expect(owner.body).toEqual({ data: [{ thread_owner: { app_id: '263902037430900' } }] });
    await r.emulator.act(mia, { type: 'text', text: 'hello?' });
    await r.emulator.act(mia, { type: 'return_thread' });
    await r.settle();
    const [standby, back] = webhooks(r.emulator).map((w) => w.body as { entry: Record<string, unknown>[] });
    expect(standby?.entry[0]?.standby).toEqual([expect.objectContaining({ message: expect.objectContaining({ text: 'hello?' }) as unknown })]);
    expect(back?.entry[0]?.messaging).toEqual([
      { sender: { id: mia.id }, recipient: { id: r.config.PAGE_ID }, timestamp: expect.any(Number) as unknown, pass_thread_control: { previous_owner_app_id: '263902037430900', new_owner_app_id: r.config.APP_ID, metadata: 'conversation done in the Page Inbox' } },
    ]);
    // The bot says it is back, with the menu.
    expect(sentTexts(r.emulator)).toContain(EN('human.back'));
  });
});

/** An emulator whose webhook POSTs are captured instead of sent, with a fixed clock. */
function capturingEmulator() {
  const config = loadConfig({ PORT: '3999', APP_SECRET: 'emulator-test-secret-0123456789', DATABASE_URL: 'memory:' });
  const posts: { url: string; headers: Headers; raw: string }[] = [];
  const fakeFetch: typeof fetch = (input, init) => {
    posts.push({ url: input instanceof URL ? input.href : (input as string), headers: new Headers(init?.headers), raw: init?.body as string });
    return Promise.resolve(new Response('EVENT_RECEIVED', { status: 200 }));
  };
  const log = createLogger({ level: 'silent' });
  const emulator = createEmulator({ config, log, webhookUrl: 'http://127.0.0.1:3999/webhook', now: () => T, fetch: fakeFetch });
  const last = () => {
    const post = posts.at(-1);
    if (!post) throw new Error('nothing was posted');
    verifySignature({ appSecret: config.APP_SECRET, rawBody: Buffer.from(post.raw), header: post.headers.get('x-hub-signature-256') ?? undefined });
    return JSON.parse(post.raw) as Record<string, unknown>;
  };
  return { config, emulator, posts, last };
}

/** A real Meta payload from test/fixtures with our IDs, times and mid put in. */
function likeFixture(name: string, ids: { account: string; user: string }, item: Record<string, unknown>) {
  const body = fixture(name) as { object: string; entry: { id: string; time: number; messaging: Record<string, unknown>[] }[] };
  const first = body.entry[0]?.messaging[0] ?? {};
  const kind = Object.keys(item)[0] ?? '';
  expect(Object.keys(first).sort()).toEqual(['recipient', 'sender', 'timestamp', kind].sort());
  return { object: body.object, entry: [{ id: ids.account, time: T, messaging: [{ sender: { id: ids.user }, recipient: { id: ids.account }, timestamp: T, ...item }] }] };
}

describe('notifications the emulator sends', () => {
  it('signs the exact bytes, escapes non-ASCII like Meta, and POSTs to the webhook URL', async () => {
    const { emulator, posts, last } = capturingEmulator();
    const mia = emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const { mid } = await emulator.act(mia, { type: 'text', text: 'hola 🍵 té' });
    expect(posts[0]?.url).toBe('http://127.0.0.1:3999/webhook');
    expect(posts[0]?.headers.get('content-type')).toBe('application/json');
    expect(posts[0]?.raw).toContain('hola \\ud83c\\udf75 t\\u00e9');
    expect(last()).toEqual(likeFixture('messenger-text', { account: emulator.ids.pageId, user: mia.id }, { message: { mid, text: 'hola 🍵 té' } }));
  });

  it('builds Messenger quick replies, postbacks, Get Started, stickers and reactions in Meta shapes', async () => {
    const { emulator, last } = capturingEmulator();
    const mia = emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const ids = { account: emulator.ids.pageId, user: mia.id };

    const qr = await emulator.act(mia, { type: 'quick_reply', text: 'Browse teas', payload: 'BROWSE' });
    expect(last()).toEqual(likeFixture('messenger-quick-reply', ids, { message: { mid: qr.mid, text: 'Browse teas', quick_reply: { payload: 'BROWSE' } } }));

    const pb = await emulator.act(mia, { type: 'postback', title: 'Details', payload: 'PRODUCT_DETAILS:oolong' });
    expect(last()).toEqual(likeFixture('messenger-postback', ids, { postback: { mid: pb.mid, title: 'Details', payload: 'PRODUCT_DETAILS:oolong' } }));

    const gs = await emulator.act(mia, { type: 'get_started' });
    expect(last()).toEqual(likeFixture('messenger-postback', ids, { postback: { mid: gs.mid, title: 'Get Started', payload: 'GET_STARTED' } }));

    const st = await emulator.act(mia, { type: 'sticker' });
    const sticker = fixture('messenger-attachment-sticker') as { entry: { messaging: { message: { attachments: unknown[] } }[] }[] };
    expect(sticker.entry[0]?.messaging[0]?.message.attachments[0]).toMatchObject({ type: 'image', payload: { sticker_id: 369239263222822 } });
    expect(last()).toEqual(
      likeFixture('messenger-attachment-sticker', ids, { message: { mid: st.mid, attachments: [{ type: 'image', payload: { url: 'http://localhost:3999/emulator/sticker.png', sticker_id: 369239263222822 } }] } }),
    );

    await emulator.act(mia, { type: 'reaction', mid: 'm_bot1', action: 'react', reaction: 'love' });
    expect(last()).toEqual(likeFixture('messenger-reactions', ids, { reaction: { mid: 'm_bot1', action: 'react', reaction: 'love', emoji: '❤️' } }));
    await emulator.act(mia, { type: 'reaction', mid: 'm_bot1', action: 'unreact', reaction: 'love' });
    expect(last()).toEqual(likeFixture('messenger-reactions', ids, { reaction: { mid: 'm_bot1', action: 'unreact' } }));
  });

  it('sends Messenger delivery {mids, watermark} then read {watermark} after the bot sends', async () => {
    const { config, emulator, posts } = capturingEmulator();
    const mia = emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const sent = await emulator.graph({ method: 'POST', version: V, path: 'me/messages', query: { appsecret_proof: appSecretProof(config.PAGE_ACCESS_TOKEN, config.APP_SECRET) }, body: { recipient: { id: mia.id }, messaging_type: 'RESPONSE', message: { text: 'Hi Mia!' } }, bearer: config.PAGE_ACCESS_TOKEN });
    const mid = (sent.body as { message_id: string }).message_id;
    sent.after?.();
    await emulator.idle();
    const ids = { account: emulator.ids.pageId, user: mia.id };
    const bodies = posts.map((p) => JSON.parse(p.raw) as unknown);
    expect(bodies).toEqual([likeFixture('messenger-delivery', ids, { delivery: { mids: [mid], watermark: T } }), likeFixture('messenger-read', ids, { read: { watermark: T } })]);
    for (const body of bodies) expect(normalizeNotification(body).events.map((e) => e.kind)).toEqual([expect.stringMatching(/^(delivery|read)$/)]);
  });

  it('speaks Instagram: object instagram, the IG account as entry id, messaging_seen with the mid and no delivery', async () => {
    const { config, emulator, posts } = capturingEmulator();
    const maya = emulator.createUser({ channel: 'instagram', name: 'Maya', locale: 'en_US' });
    expect(maya.id).toMatch(/^\d{17}$/);
    const ids = { account: EMULATED_IG_ACCOUNT_ID, user: maya.id };
    const text = await emulator.act(maya, { type: 'text', text: 'hi' });
    expect(text.mid).toMatch(/^aWdf/);
    expect(JSON.parse(posts[0]?.raw ?? '')).toEqual(likeFixture('instagram-text', ids, { message: { mid: text.mid, text: 'hi' } }));
    const pb = await emulator.act(maya, { type: 'postback', title: 'Details', payload: 'PRODUCT_DETAILS:sencha' });
    expect(JSON.parse(posts[1]?.raw ?? '')).toEqual(likeFixture('instagram-postback', ids, { postback: { mid: pb.mid, title: 'Details', payload: 'PRODUCT_DETAILS:sencha' } }));
    await emulator.act(maya, { type: 'reaction', mid: 'aWdfbot', action: 'react', reaction: 'love' });
    expect(JSON.parse(posts[2]?.raw ?? '')).toEqual(likeFixture('instagram-reaction', ids, { reaction: { mid: 'aWdfbot', action: 'react', reaction: 'love', emoji: '❤️' } }));

    const sent = await emulator.graph({ method: 'POST', version: V, path: 'me/messages', query: { appsecret_proof: appSecretProof(config.PAGE_ACCESS_TOKEN, config.APP_SECRET) }, body: { recipient: { id: maya.id }, messaging_type: 'RESPONSE', message: { text: 'Hi Maya!' } }, bearer: config.PAGE_ACCESS_TOKEN });
    sent.after?.();
    await emulator.idle();
    expect(posts).toHaveLength(4);
    const mid = (sent.body as { message_id: string }).message_id;
    expect(JSON.parse(posts[3]?.raw ?? '')).toEqual(likeFixture('instagram-seen', ids, { read: { mid } }));
    const events = normalizeNotification(JSON.parse(posts[3]?.raw ?? '')).events;
    expect(events[0]).toMatchObject({ kind: 'read', channel: 'instagram', read: { mid } });
  });

  it('records the status and time of each webhook, and says so when the app does not answer 200', async () => {
    const config = loadConfig({ PORT: '3999', DATABASE_URL: 'memory:' });
    const refusing: typeof fetch = () => Promise.resolve(new Response('Invalid signature', { status: 403 }));
    const emulator = createEmulator({ config, log: createLogger({ level: 'silent' }), webhookUrl: 'http://127.0.0.1:3999/webhook', fetch: refusing });
    const mia = emulator.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' });
    const { webhook } = await emulator.act(mia, { type: 'text', text: 'hi' });
    expect(webhook).toMatchObject({ kind: 'webhook', status: 403, event: 'message', ms: expect.any(Number) as unknown });
    const unreachable: typeof fetch = () => Promise.reject(new TypeError('fetch failed'));
    const offline = createEmulator({ config, log: createLogger({ level: 'silent' }), webhookUrl: 'http://127.0.0.1:3999/webhook', fetch: unreachable });
    const outcome = await offline.act(offline.createUser({ channel: 'messenger', name: 'Mia', locale: 'en_US' }), { type: 'text', text: 'hi' });
    expect(outcome.webhook).toMatchObject({ status: undefined, error: 'could not reach the webhook' });
  });
});

/** Reads a server-sent-events stream until `until` holds for the events so far. */
function readStream(url: string, until: (events: { event: string; data: unknown }[]) => boolean, timeoutMs = 8000) {
  return new Promise<{ event: string; data: unknown }[]>((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = httpGet(url, { agent: false }, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(frame)?.[1];
          const data = /^data: (.+)$/m.exec(frame)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as unknown });
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', () => undefined);
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`stream ended without the expected events: ${JSON.stringify(events.map((e) => e.event))}`));
    }, timeoutMs);
  });
}

describe('the page API and its event stream', () => {
  async function createUser(r: Running, body: object) {
    const res = await request(r.server).post('/emulator/users').send(body);
    return res;
  }

  it('creates independent users per tab and validates the input', async () => {
    const r = await startEmulatorApp();
    const a = await createUser(r, { channel: 'messenger', name: 'Mia Tan', locale: 'es_ES' });
    const b = await createUser(r, { channel: 'instagram', name: 'Maya', locale: 'en_US' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ channel: 'messenger', name: 'Mia Tan', first_name: 'Mia', locale: 'es_ES' });
    expect((b.body as { id: string }).id).not.toBe((a.body as { id: string }).id);
    const problems: [object, number, RegExp][] = [
      [{ channel: 'whatsapp', name: 'X' }, 400, /channel/],
      [{ channel: 'messenger', name: 'X', locale: 'fr_FR' }, 400, /locale must be one of en_US, id_ID, zh_TW, es_ES/],
      [{ channel: 'messenger', name: '' }, 400, /name/],
      [{ channel: 'messenger', name: 'x'.repeat(61) }, 400, /name/],
    ];
    for (const [body, status, error] of problems) {
      const res = await createUser(r, body);
      expect(res.status).toBe(status);
      expect(errorOf(res)).toMatch(error);
    }
    const tooBig = await request(r.server).post('/emulator/users').set('Content-Type', 'application/json').send(JSON.stringify({ name: 'x'.repeat(10_000) }));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toEqual({ error: 'the body is too large' });
    const notJson = await request(r.server).post('/emulator/users').set('Content-Type', 'application/json').send('{name');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ error: 'the body could not be parsed' });
  });

  it('validates every action and never lets a bad one reach the webhook', async () => {
    const r = await startEmulatorApp();
    const user = (await createUser(r, { channel: 'messenger', name: 'Mia', locale: 'en_US' })).body as { id: string };
    const ig = (await createUser(r, { channel: 'instagram', name: 'Maya', locale: 'en_US' })).body as { id: string };
    const bad: [string, object, number, RegExp][] = [
      [user.id, {}, 400, /type must be one of/],
      [user.id, { type: 'text', text: '   ' }, 400, /blank/],
      [user.id, { type: 'text', text: 'x'.repeat(2001) }, 400, /at most 2000/],
      [user.id, { type: 'quick_reply', text: 'Browse' }, 400, /payload/],
      [user.id, { type: 'reaction', mid: 'm_not_from_the_bot', action: 'react' }, 400, /not a message the bot sent/],
      [user.id, { type: 'reaction', mid: 'm_x', action: 'wave' }, 400, /action/],
      [user.id, { type: 'return_thread' }, 409, /already owns/],
      [ig.id, { type: 'sticker' }, 400, /Messenger feature/],
      ['2999999999999999', { type: 'text', text: 'hi' }, 404, /no such user/],
      ['abc', { type: 'text', text: 'hi' }, 404, /no such user/],
    ];
    for (const [id, body, status, error] of bad) {
      const res = await request(r.server).post(`/emulator/users/${id}/actions`).send(body);
      expect([res.status, errorOf(res)]).toEqual([status, expect.stringMatching(error)]);
    }
    expect(webhooks(r.emulator)).toEqual([]);
  });

  it('streams the conversation and the inspector to the page over server-sent events', async () => {
    const r = await startEmulatorApp();
    const mia = (await createUser(r, { channel: 'messenger', name: 'Mia Tan', locale: 'en_US' })).body as { id: string };
    const otherTab = (await createUser(r, { channel: 'messenger', name: 'Ana', locale: 'en_US' })).body as { id: string };
    const url = `${r.base}/emulator/users/${mia.id}/stream`;
    const isStatus = (e: { event: string; data: unknown }, status: string) => e.event === 'chat' && (e.data as { type: string; status?: string }).status === status;
    const streamed = readStream(url, (events) => events.filter((e) => isStatus(e, 'read')).length >= 1 && events.some((e) => (e.data as { type?: string }).type === 'message' && JSON.stringify(e.data).includes('quick_replies')));
    const other = readStream(`${r.base}/emulator/users/${otherTab.id}/stream`, (events) => events.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sent = await request(r.server).post(`/emulator/users/${mia.id}/actions`).send({ type: 'text', text: 'hello' });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ mid: expect.stringMatching(/^m_/) as unknown, webhook: { status: 200, ms: expect.any(Number) as unknown, event: 'message' } });
    const events = await streamed;
    expect(events[0]).toEqual({ event: 'ready', data: { user: expect.objectContaining({ id: mia.id }) as unknown, history: [] } });
    const chat = events.filter((e) => e.event === 'chat').map((e) => e.data as { type: string; text?: string; message?: { text?: string } });
    expect(chat[0]).toMatchObject({ type: 'user', text: 'hello' });
    // A new user: answered at once (no typing indicator first), without a name until the profile is looked up.
    expect(chat.find((c) => c.type === 'typing')).toBeUndefined();
    expect(chat.find((c) => c.type === 'message')?.message?.text).toBe(EN('welcome.anonymous'));
    const inspector = events.filter((e) => e.event === 'inspector').map((e) => e.data as { kind: string; status?: number });
    expect(inspector[0]).toMatchObject({ kind: 'webhook', status: 200 });
    expect(inspector.some((x) => x.kind === 'graph')).toBe(true);
    // The other tab is another user: it saw only its own ready event.
    expect((await other).map((e) => e.event)).toEqual(['ready']);

    // A page that reconnects gets the conversation so far.
    await r.settle();
    const again = await readStream(url, (evts) => evts.length >= 1);
    const history = (again[0]?.data as { history: { event: string }[] }).history;
    expect(history.length).toBeGreaterThan(5);
  });

  it('takes an image upload, serves it back, and refuses anything that is not an image', async () => {
    const r = await startEmulatorApp();
    const mia = (await createUser(r, { channel: 'messenger', name: 'Mia', locale: 'en_US' })).body as { id: string };
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const sent = await request(r.server).post(`/emulator/users/${mia.id}/images`).set('Content-Type', 'image/png').send(png);
    expect(sent.status).toBe(200);
    await r.settle();
    const body = webhooks(r.emulator)[0]?.body as { entry: { messaging: { message: { attachments: { type: string; payload: { url: string } }[] } }[] }[] };
    const attachment = body.entry[0]?.messaging[0]?.message.attachments[0];
    expect(attachment?.type).toBe('image');
    const path = new URL(attachment?.payload.url ?? '').pathname;
    const served = await request(r.server).get(path);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    const svg = await request(r.server).post(`/emulator/users/${mia.id}/images`).set('Content-Type', 'image/svg+xml').send('<svg onload="alert(1)"/>');
    expect(svg.status).toBe(415);
    // The bot answered the picture through the real Send API client.
    expect(sentTexts(r.emulator)).toContain(EN('attachment.image'));
  });
});

describe('the whole loop: page → signed webhook → bot → Send API client → emulated Graph API', () => {
  it('greets at once, then by name, shows the carousel, answers a postback and thanks for a reaction', async () => {
    const r = await startEmulatorApp();
    const mia: SimUser = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const say = async (action: Parameters<Emulator['act']>[1]) => {
      const { webhook } = await r.emulator.act(mia, action);
      expect(webhook.status).toBe(200);
      await r.settle();
    };
    const texts = () => sentTexts(r.emulator);
    await say({ type: 'text', text: 'hello' });
    expect(texts()).toContain(EN('welcome.anonymous'));
    // Her profile was looked up after that first answer.
    await say({ type: 'text', text: 'hello' });
    expect(texts()).toContain(EN('welcome.named', { name: 'Mia' }));
    await say({ type: 'quick_reply', text: 'Browse teas', payload: 'BROWSE' });
    const carousel = graphCalls(r.emulator).find((c) => (JSON.stringify(c.body) ?? '').includes('"template_type":"generic"'));
    expect(carousel?.status).toBe(200);
    await say({ type: 'postback', title: 'Details', payload: 'PRODUCT_DETAILS:oolong' });
    expect(JSON.stringify(graphCalls(r.emulator).at(-1)?.body)).toContain(JSON.stringify(EN('products.oolong.title')).slice(1, -1));
    const mid = (graphCalls(r.emulator).find((c) => (c.response as { message_id?: string }).message_id)?.response as { message_id: string }).message_id;
    await say({ type: 'reaction', mid, action: 'react', reaction: 'love' });
    expect(texts()).toContain(EN('reaction.thanks'));
    // Every webhook was acknowledged, deliveries and reads included; no signature was refused.
    const kinds = new Set(webhooks(r.emulator).map((w) => w.event));
    expect(kinds).toEqual(new Set(['message', 'message (quick_reply)', 'postback', 'reaction', 'delivery', 'read']));
    expect(webhooks(r.emulator).every((w) => w.status === 200)).toBe(true);
    expect(r.logText()).not.toContain('signature rejected');
    expect(r.logText()).not.toContain(r.config.APP_SECRET);
  });
});

describe('live mode', () => {
  it('has no emulator: every /emulator path is not found', async () => {
    const config = loadConfig({ PAGE_ACCESS_TOKEN: 'EAAlive0123456789', APP_SECRET: 'live-secret-0123456789', VERIFY_TOKEN: 'verify-0123456789', PAGE_ID: '1234567890', GRAPH_API_URL: 'https://graph.test', DATABASE_URL: 'memory:' });
    const log = createLogger({ level: 'silent' });
    const app = createApp({ config, log, bot: createBot(config, { log }) });
    for (const path of ['/emulator/info', '/emulator/users', '/emulator/app.js', '/emulator/', '/emulator/graph/v24.0/me/messages']) {
      expect((await request(app).get(path)).status).toBe(404);
    }
    expect((await request(app).post('/emulator/users').send({ channel: 'messenger', name: 'Mia' })).status).toBe(404);
    expect((await request(app).post('/emulator/graph/v24.0/me/messages').send({})).status).toBe(404);
  });
});
