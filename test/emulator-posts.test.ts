// The emulator's Posts view and stories, through the whole loop: a simulated user comments on the
// sample post (the page API), the emulator POSTs Meta's comment webhook to the real /webhook, the
// bot answers through the real Send API client, and the emulated Graph API takes the private reply
// (into the chat) and the public reply (under the comment), validating both like Meta; then it
// notifies the app of the shop's own reply, which the bot leaves alone.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp, localWebhookUrl } from '../app.ts';
import { createBot, type Bot } from '../services/bot.ts';
import { loadConfig, secretsOf, type Config } from '../services/config.ts';
import { mainMenu } from '../services/conversation/menu.ts';
import { createEmulator, type Emulator, type GraphCallRecord, type SimUser, type StreamEvent, type WebhookRecord } from '../services/emulator/index.ts';
import { createStreamHub } from '../services/emulator/sse.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { createLogger } from '../services/logger.ts';

const V = 'v24.0';
const EN = createTranslations().fixedT('en_US');

interface Running {
  config: Readonly<Config>;
  emulator: Emulator;
  bot: Bot;
  server: Server;
  logText: () => string;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function startEmulatorApp(): Promise<Running> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = loadConfig({ PORT: String(port), DATABASE_URL: 'memory:' });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log });
  const streams = createStreamHub({ secrets: secretsOf(config) });
  const emulator = createEmulator({ config, log, webhookUrl: localWebhookUrl(config), streams });
  server.on('request', createApp({ config, log, bot, emulator, streams }));
  const r: Running = {
    config,
    emulator,
    bot,
    server,
    logText: () => lines.join('\n'),
    async settle() {
      for (let i = 0; i < 6; i += 1) {
        await emulator.idle();
        await bot.idle();
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    },
    async close() {
      streams.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bot.idle();
    },
  };
  running.push(r);
  return r;
}

function graphPost(r: Running, path: string, body: unknown) {
  const token = r.config.PAGE_ACCESS_TOKEN;
  return request(r.server).post(`/emulator/graph/${V}/${path}`).query({ appsecret_proof: appSecretProof(token, r.config.APP_SECRET) }).set('Authorization', `Bearer ${token}`).send(body as object);
}

const graphCalls = (e: Emulator) => e.records().filter((x): x is GraphCallRecord => x.kind === 'graph');
const webhooks = (e: Emulator) => e.records().filter((x): x is WebhookRecord => x.kind === 'webhook');
const errorOf = (res: { body: unknown }) => (res.body as { error: { code: number; message: string } }).error;

async function comment(r: Running, user: SimUser, text: string): Promise<string> {
  const res = await request(r.server).post(`/emulator/users/${user.id}/comments`).send({ text });
  expect(res.status).toBe(200);
  await r.settle();
  return (res.body as { comment_id: string }).comment_id;
}

const chatMessages = (r: Running, user: SimUser) =>
  r.emulator
    .history(user.id)
    .filter((e): e is Extract<StreamEvent, { event: 'chat' }> => e.event === 'chat')
    .map((e) => e.data)
    .filter((d) => d.type === 'message')
    .map((d) => (d as { message: unknown }).message);

describe('commenting on the sample post', () => {
  it('Facebook: the comment webhook, the private reply in the chat, the public reply under the comment; the inspector shows both calls', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'Price?');

    const [hook] = webhooks(r.emulator);
    const value = (hook?.body as { entry: { changes: { field: string; value: Record<string, unknown> }[] }[] }).entry[0]?.changes[0];
    expect(hook).toMatchObject({ event: 'feed comment', status: 200, user_id: mia.id });
    expect(value).toMatchObject({ field: 'feed', value: { item: 'comment', verb: 'add', comment_id: commentId, message: 'Price?', from: { name: 'Mia Tan' } } });
    // Meta does not put the commenter's PSID in a Facebook comment.
    expect((value?.value.from as { id: string }).id).not.toBe(mia.id);

    const calls = graphCalls(r.emulator).filter((c) => c.user_id === mia.id);
    expect(calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['POST', `/${V}/me/messages`, 200],
      ['POST', `/${V}/${commentId}/comments`, 200],
    ]);
    expect(calls[0]?.body).toEqual({ recipient: { comment_id: commentId }, messaging_type: 'RESPONSE', message: { text: EN('browse.intro'), quick_replies: mainMenu(EN) } });
    expect(calls[0]?.response).toMatchObject({ recipient_id: mia.id });
    expect(calls[1]?.body).toEqual({ message: EN('comments.public_reply') });

    expect(chatMessages(r, mia)).toEqual([{ text: EN('browse.intro'), quick_replies: mainMenu(EN) }]);
    const view = r.emulator.posts.view(mia);
    expect(view.comments).toEqual([expect.objectContaining({ id: commentId, text: 'Price?', private_reply: true, replies: [expect.objectContaining({ text: EN('comments.public_reply'), author: 'Tidewater Tea Co.' })] })]);

    // Meta notified the app of the shop's own reply; the bot left it alone.
    const own = webhooks(r.emulator).filter((w) => w.event === 'feed comment')[1];
    expect(own?.status).toBe(200);
    expect(JSON.stringify(own?.body)).toContain(`"parent_id":"${commentId}"`);
    expect(graphCalls(r.emulator).filter((c) => c.path.endsWith('/comments'))).toHaveLength(1);
  });

  it('Instagram: the private reply to the comment, the public reply on the replies edge; the conversation then goes on from the IGSID', async () => {
    const r = await startEmulatorApp();
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'en_US' });
    const commentId = await comment(r, maya, 'harga?');
    const ID = createTranslations().fixedT('id_ID');
    const calls = graphCalls(r.emulator).filter((c) => c.user_id === maya.id);
    expect(calls.map((c) => [c.path, c.status])).toEqual([
      [`/${V}/me/messages`, 200],
      [`/${V}/${commentId}/replies`, 200],
    ]);
    expect(chatMessages(r, maya)).toEqual([{ text: ID('browse.intro'), quick_replies: mainMenu(ID) }]);
    // The customer taps "Lihat teh" in the private reply: the bot answers in Indonesian with the carousel.
    await r.emulator.act(maya, { type: 'quick_reply', text: ID('menu.browse'), payload: 'BROWSE' });
    await r.settle();
    const after = chatMessages(r, maya).slice(1);
    expect(after[0]).toEqual({ text: ID('browse.intro') });
    expect(JSON.stringify(after[1])).toContain('"template_type":"generic"');
  });

  it('a comment that matches nothing gets no reply; an empty comment is refused before any webhook', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    await comment(r, mia, 'What a view!');
    expect(graphCalls(r.emulator)).toEqual([]);
    const empty = await request(r.server).post(`/emulator/users/${mia.id}/comments`).send({ text: '   ' });
    expect(empty.status).toBe(400);
    expect(webhooks(r.emulator)).toHaveLength(1);
  });
});

describe('the emulated Graph API for comments', () => {
  it('takes one private reply per comment (then #10900), validates the body, and knows only its comments', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    const body = { recipient: { comment_id: commentId }, messaging_type: 'RESPONSE', message: { text: 'Hi!' } };
    const bad = await graphPost(r, 'me/messages', { ...body, message: { text: 'x'.repeat(2001) } });
    expect(errorOf(bad)).toMatchObject({ code: 100, message: expect.stringMatching(/message\[text\] must be less than or equal to 2000/) as unknown });
    const both = await graphPost(r, 'me/messages', { ...body, recipient: { comment_id: commentId, id: mia.id } });
    expect(errorOf(both).message).toMatch(/exactly one of id, user_ref, comment_id/);
    const typing = await graphPost(r, 'me/messages', { recipient: { comment_id: commentId }, sender_action: 'typing_on' });
    expect(errorOf(typing).message).toMatch(/sender_action cannot be sent to a comment_id/);
    expect((await graphPost(r, 'me/messages', body)).status).toBe(200);
    const again = await graphPost(r, 'me/messages', body);
    expect(errorOf(again)).toMatchObject({ code: 10900, message: '(#10900) Activity already replied to' });
    const unknown = await graphPost(r, 'me/messages', { ...body, recipient: { comment_id: '7000000000000001_1' } });
    expect(errorOf(unknown)).toMatchObject({ code: 100, message: expect.stringMatching(/Invalid comment_id/) as unknown });
  });

  it('takes a public reply only on the channel\'s edge, with a message', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    expect(errorOf(await graphPost(r, `${commentId}/replies`, { message: 'Hi' })).code).toBe(100);
    expect(errorOf(await graphPost(r, `${commentId}/comments`, { message: ' ' })).message).toMatch(/message must be a non-empty string/);
    expect(errorOf(await graphPost(r, '7000000000000001_1/comments', { message: 'Hi' })).message).toMatch(/^Unsupported post request/);
    const ok = await graphPost(r, `${commentId}/comments`, { message: 'Hi' });
    expect(ok.status).toBe(200);
    expect((ok.body as { id: string }).id).toMatch(/^7000000000000001_\d+$/);
  });
});

describe('stories', () => {
  it('an Instagram user mentions the shop in a story and is thanked once; the user\'s chat shows the mention', async () => {
    const r = await startEmulatorApp();
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'en_US' });
    const res = await request(r.server).post(`/emulator/users/${maya.id}/stories`).send({ type: 'mention' });
    expect(res.status).toBe(200);
    await r.settle();
    expect(chatMessages(r, maya)).toEqual([{ text: EN('stories.mention_thanks'), quick_replies: mainMenu(EN) }]);
    const mine = r.emulator.history(maya.id).find((e) => e.event === 'chat' && e.data.type === 'user');
    expect(JSON.stringify(mine)).toContain('mentioned @tidewater.tea in your story');
    const hook = webhooks(r.emulator).find((w) => JSON.stringify(w.body).includes('story_mention'));
    expect(hook?.status).toBe(200);
    // The bot keeps no story URL; the emulator's own record of what it sent is the only copy.
    expect(JSON.stringify(await r.bot.store.getUser(`instagram:${maya.id}`))).not.toContain('story-');
  });

  it('a reply to the shop\'s story is thanked; stories are refused for Messenger users', async () => {
    const r = await startEmulatorApp();
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'en_US' });
    expect((await request(r.server).post(`/emulator/users/${maya.id}/stories`).send({ type: 'reply', text: 'so pretty' })).status).toBe(200);
    await r.settle();
    expect(chatMessages(r, maya)).toEqual([{ text: EN('stories.reply_thanks'), quick_replies: mainMenu(EN) }]);
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const refused = await request(r.server).post(`/emulator/users/${mia.id}/stories`).send({ type: 'mention' });
    expect(refused.status).toBe(400);
    const badType = await request(r.server).post(`/emulator/users/${maya.id}/stories`).send({ type: 'dance' });
    expect(badType.status).toBe(400);
  });
});
