// The emulator's Posts view and stories, through the whole loop, for every account the emulator
// plays: a simulated user comments on the sample post of the account they talk to (the page API),
// the emulator POSTs Meta's comment webhook for that account's entry id to the real /webhook, the
// bot answers through the real Send API client with that account's token, and the account's
// emulated API (the Graph API for Pages and their linked Instagram account, the Instagram API for
// the Instagram Login account) takes the private reply (into the chat) and the public reply (under
// the comment), validating both like Meta; then it notifies the app of the shop's own reply, which
// the bot leaves alone.
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { EMULATED_IG_ACCOUNT_ID, EMULATED_IG_LOGIN_ACCOUNT_ID, EMULATED_PAGE_ID, EMULATED_SECOND_PAGE_ID } from '../services/accounts/emulated.ts';
import { mainMenu } from '../services/conversation/menu.ts';
import type { GraphCallRecord, SimUser, StreamEvent, WebhookRecord } from '../services/emulator/index.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { userKey } from '../services/state/store.ts';
import { startEmulatorApp, type Running } from './support/emulator-app.ts';

const V = 'v24.0';
const EN = createTranslations().fixedT('en_US');
const IG_SECRET = 'emulator-instagram-app-secret-0123456789';
const DAY_MS = 24 * 60 * 60 * 1000;

const tokenOf = (r: Running, key: string) => r.config.accounts.find((a) => a.key === key)?.access_token ?? '';

/** A call to an account's emulated API with its token and proof: the Graph API for Pages, the Instagram API for Instagram Login. */
function apiPost(r: Running, account: string, path: string, body: unknown) {
  const instagram = account === EMULATED_IG_LOGIN_ACCOUNT_ID;
  const token = tokenOf(r, account);
  const secret = instagram ? r.config.INSTAGRAM_APP_SECRET : r.config.APP_SECRET;
  return request(r.server)
    .post(`/emulator/${instagram ? 'instagram' : 'graph'}/${V}/${path}`)
    .query({ appsecret_proof: appSecretProof(token, secret) })
    .set('Authorization', `Bearer ${token}`)
    .send(body as object);
}

const graphCalls = (r: Running) => r.emulator.records().filter((x): x is GraphCallRecord => x.kind === 'graph');
const webhooks = (r: Running) => r.emulator.records().filter((x): x is WebhookRecord => x.kind === 'webhook');
const errorOf = (res: { body: unknown }) => (res.body as { error: { code: number; message: string } }).error;
const changeOf = (hook: WebhookRecord | undefined) => {
  const body = hook?.body as { object: string; entry: { id: string; changes: { field: string; value: Record<string, unknown> }[] }[] } | undefined;
  return { object: body?.object, entry_id: body?.entry[0]?.id, change: body?.entry[0]?.changes[0] };
};
const commentHooks = (r: Running) => webhooks(r).filter((w) => w.event === 'feed comment' || w.event === 'comments');

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

const privateReply = (commentId: string, text: string) => ({ recipient: { comment_id: commentId }, messaging_type: 'RESPONSE', message: { text } });

describe('commenting on the sample post', () => {
  it('Facebook (the first Page): the comment webhook, the private reply in the chat, the public reply under the comment; the inspector shows both calls with the Page and the Graph API', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'Price?');

    const [hook] = webhooks(r);
    const { object, entry_id, change } = changeOf(hook);
    expect(hook).toMatchObject({ event: 'feed comment', status: 200, user_id: mia.id, account: { key: EMULATED_PAGE_ID, type: 'page' } });
    expect([object, entry_id]).toEqual(['page', EMULATED_PAGE_ID]);
    expect(change).toMatchObject({ field: 'feed', value: { item: 'comment', verb: 'add', comment_id: commentId, message: 'Price?', from: { name: 'Mia Tan' }, post_id: `${EMULATED_PAGE_ID}_7000000000000001` } });
    // Meta does not put the commenter's PSID in a Facebook comment.
    expect((change?.value.from as { id: string }).id).not.toBe(mia.id);

    const calls = graphCalls(r).filter((c) => c.user_id === mia.id);
    expect(calls.map((c) => [c.api, c.account?.key, c.method, c.path, c.status])).toEqual([
      ['graph', EMULATED_PAGE_ID, 'POST', `/${V}/me/messages`, 200],
      ['graph', EMULATED_PAGE_ID, 'POST', `/${V}/${commentId}/comments`, 200],
    ]);
    expect(calls[0]?.body).toEqual({ recipient: { comment_id: commentId }, messaging_type: 'RESPONSE', message: { text: EN('browse.intro'), quick_replies: mainMenu(EN) } });
    expect(calls[0]?.response).toMatchObject({ recipient_id: mia.id });
    expect(calls[1]?.body).toEqual({ message: EN('comments.public_reply') });

    expect(chatMessages(r, mia)).toEqual([{ text: EN('browse.intro'), quick_replies: mainMenu(EN) }]);
    const view = r.emulator.posts.view(mia);
    expect(view).toMatchObject({ account: EMULATED_PAGE_ID, channel: 'messenger', author: 'Tidewater Tea Co.' });
    expect(view.comments).toEqual([expect.objectContaining({ id: commentId, text: 'Price?', private_reply: true, replies: [expect.objectContaining({ text: EN('comments.public_reply'), author: 'Tidewater Tea Co.' })] })]);

    // Meta notified the app of the shop's own reply, from the Page; the bot left it alone.
    const own = commentHooks(r)[1];
    expect(own?.status).toBe(200);
    expect(changeOf(own).change?.value).toMatchObject({ parent_id: commentId, from: { id: EMULATED_PAGE_ID, name: 'Tidewater Tea Co.' } });
    expect(graphCalls(r).filter((c) => c.path.endsWith('/comments'))).toHaveLength(1);
    expect(graphCalls(r)).toHaveLength(2);
  });

  it("the second Page: its own post, its entry id, and replies with the second Page's token", async () => {
    const r = await startEmulatorApp();
    const ben = r.emulator.createUser({ channel: 'messenger', name: 'Ben Ho', locale: 'en_US', account: EMULATED_SECOND_PAGE_ID });
    const view = r.emulator.posts.view(ben);
    expect(view).toMatchObject({ account: EMULATED_SECOND_PAGE_ID, author: 'Harbour Tea Bar' });
    expect(view.id).toMatch(new RegExp(`^${EMULATED_SECOND_PAGE_ID}_\\d+$`));
    const commentId = await comment(r, ben, 'how much?');
    expect(changeOf(webhooks(r)[0])).toMatchObject({ object: 'page', entry_id: EMULATED_SECOND_PAGE_ID, change: { value: { post_id: view.id } } });
    expect(graphCalls(r).map((c) => [c.api, c.account?.name, c.path, c.status])).toEqual([
      ['graph', 'Harbour Tea Bar', `/${V}/me/messages`, 200],
      ['graph', 'Harbour Tea Bar', `/${V}/${commentId}/comments`, 200],
    ]);
    expect(chatMessages(r, ben)).toEqual([{ text: EN('browse.intro'), quick_replies: mainMenu(EN) }]);
    expect(r.emulator.posts.view(ben).comments[0]?.replies).toEqual([expect.objectContaining({ author: 'Harbour Tea Bar' })]);
  });

  it("Instagram linked to the first Page: the private reply and the replies edge through the Graph API with the Page's token; the conversation then goes on from the IGSID", async () => {
    const r = await startEmulatorApp();
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya Putri', locale: 'en_US' });
    const commentId = await comment(r, maya, 'harga?');
    expect(changeOf(webhooks(r)[0])).toMatchObject({ object: 'instagram', entry_id: EMULATED_IG_ACCOUNT_ID, change: { field: 'comments', value: { id: commentId, text: 'harga?', from: { id: maya.id, username: 'maya.putri' } } } });
    const ID = createTranslations().fixedT('id_ID');
    const calls = graphCalls(r).filter((c) => c.user_id === maya.id);
    expect(calls.map((c) => [c.api, c.account?.key, c.path, c.status])).toEqual([
      ['graph', EMULATED_PAGE_ID, `/${V}/me/messages`, 200],
      ['graph', EMULATED_PAGE_ID, `/${V}/${commentId}/replies`, 200],
    ]);
    expect(chatMessages(r, maya)).toEqual([{ text: ID('browse.intro'), quick_replies: mainMenu(ID) }]);
    expect(changeOf(commentHooks(r)[1]).change?.value).toMatchObject({ parent_id: commentId, from: { id: EMULATED_IG_ACCOUNT_ID, username: 'tidewater.tea.co' } });
    // The customer taps "Lihat teh" in the private reply: the bot answers in Indonesian with the carousel.
    await r.emulator.act(maya, { type: 'quick_reply', text: ID('menu.browse'), payload: 'BROWSE' });
    await r.settle();
    const after = chatMessages(r, maya).slice(1);
    expect(after[0]).toEqual({ text: ID('browse.intro') });
    expect(JSON.stringify(after[1])).toContain('"template_type":"generic"');
  });

  it('the Instagram Login account: the comment signed with the Instagram app secret, both replies through the Instagram API with its own token', async () => {
    const r = await startEmulatorApp({ INSTAGRAM_APP_SECRET: IG_SECRET });
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor Aziz', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    const view = r.emulator.posts.view(noor);
    expect(view).toMatchObject({ account: EMULATED_IG_LOGIN_ACCOUNT_ID, channel: 'instagram', author: 'matcha.corner' });
    expect(view.id).not.toBe(r.emulator.posts.view(r.emulator.createUser({ channel: 'instagram', name: 'Maya', locale: 'en_US' })).id);
    const commentId = await comment(r, noor, 'price please');

    const [hook] = webhooks(r);
    expect(hook).toMatchObject({ event: 'comments', status: 200, account: { key: EMULATED_IG_LOGIN_ACCOUNT_ID, name: 'Matcha Corner', type: 'instagram' } });
    expect(changeOf(hook)).toMatchObject({ object: 'instagram', entry_id: EMULATED_IG_LOGIN_ACCOUNT_ID, change: { field: 'comments', value: { id: commentId, media: { id: view.id } } } });
    const calls = graphCalls(r);
    expect(calls.map((c) => [c.api, c.account?.key, c.method, c.path, c.status])).toEqual([
      ['instagram', EMULATED_IG_LOGIN_ACCOUNT_ID, 'POST', `/${V}/me/messages`, 200],
      ['instagram', EMULATED_IG_LOGIN_ACCOUNT_ID, 'POST', `/${V}/${commentId}/replies`, 200],
    ]);
    expect(calls[0]?.body).toEqual({ recipient: { comment_id: commentId }, messaging_type: 'RESPONSE', message: { text: EN('browse.intro'), quick_replies: mainMenu(EN) } });
    expect(calls[1]?.body).toEqual({ message: EN('comments.public_reply') });
    expect(chatMessages(r, noor)).toEqual([{ text: EN('browse.intro'), quick_replies: mainMenu(EN) }]);
    expect(r.emulator.posts.view(noor).comments).toEqual([expect.objectContaining({ private_reply: true, replies: [expect.objectContaining({ author: 'matcha.corner' })] })]);
    // The shop's own reply came back signed with the Instagram app secret too, was accepted and left alone.
    const own = commentHooks(r)[1];
    expect([own?.status, changeOf(own).change?.value.from]).toEqual([200, { id: EMULATED_IG_LOGIN_ACCOUNT_ID, username: 'matcha.corner' }]);
    expect(r.logText()).not.toContain('signature rejected');
    const text = JSON.stringify(r.emulator.records());
    for (const secret of [tokenOf(r, EMULATED_IG_LOGIN_ACCOUNT_ID), IG_SECRET]) expect(text).not.toContain(secret);
  });

  it('a comment that matches nothing gets no reply; an empty or overlong comment is refused before any webhook', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    await comment(r, mia, 'What a view!');
    expect(graphCalls(r)).toEqual([]);
    for (const text of ['   ', 'x'.repeat(2201), 42]) {
      const refused = await request(r.server).post(`/emulator/users/${mia.id}/comments`).send({ text });
      expect(refused.status).toBe(400);
    }
    expect((await request(r.server).post('/emulator/users/1234/comments').send({ text: 'price' })).status).toBe(404);
    expect(webhooks(r)).toHaveLength(1);
  });
});

describe('the emulated APIs for comments', () => {
  it('take one private reply per comment (then #10900), validate the body, and know only their comments', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    const body = privateReply(commentId, 'Hi!');
    const bad = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', { ...body, message: { text: 'x'.repeat(2001) } });
    expect(errorOf(bad)).toMatchObject({ code: 100, message: expect.stringMatching(/message\[text\] must be less than or equal to 2000/) as unknown });
    const both = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', { ...body, recipient: { comment_id: commentId, id: mia.id } });
    expect(errorOf(both).message).toMatch(/exactly one of id, user_ref, comment_id/);
    const typing = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', { recipient: { comment_id: commentId }, sender_action: 'typing_on' });
    expect(errorOf(typing).message).toMatch(/sender_action cannot be sent to a comment_id/);
    const malformed = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', privateReply('not-a-comment', 'Hi!'));
    expect(errorOf(malformed).message).toMatch(/recipient\[comment_id\] must be a valid comment id/);
    expect((await apiPost(r, EMULATED_PAGE_ID, 'me/messages', body)).status).toBe(200);
    const again = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', body);
    expect(errorOf(again)).toMatchObject({ code: 10900, message: '(#10900) Activity already replied to' });
    const unknown = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', privateReply('7000000000000001_1', 'Hi!'));
    expect(errorOf(unknown)).toMatchObject({ code: 100, message: expect.stringMatching(/Invalid comment_id/) as unknown });
    // Exactly one private reply reached the chat.
    expect(chatMessages(r, mia)).toEqual([{ text: 'Hi!' }]);
  });

  it('the Instagram API takes one private reply per comment of its own account too, and refuses a template Instagram does not have', async () => {
    const r = await startEmulatorApp();
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    const commentId = await comment(r, noor, 'lovely');
    const button = { ...privateReply(commentId, ''), message: { attachment: { type: 'template', payload: { template_type: 'button', text: 'Hi', buttons: [{ type: 'postback', title: 'Go', payload: 'GO' }] } } } };
    expect(errorOf(await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, 'me/messages', button)).message).toMatch(/template_type\] must be one of \{generic\} on Instagram/);
    expect((await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, `${EMULATED_IG_LOGIN_ACCOUNT_ID}/messages`, privateReply(commentId, 'Hi!'))).status).toBe(200);
    expect(errorOf(await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, 'me/messages', privateReply(commentId, 'Again')))).toMatchObject({ code: 10900 });
    expect(errorOf(await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, `${commentId}/comments`, { message: 'Hi' })).code).toBe(100);
    const publicly = await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, `${commentId}/replies`, { message: 'Hi' });
    expect(publicly.status).toBe(200);
    expect((publicly.body as { id: string }).id).toMatch(/^\d{17}$/);
    const records = graphCalls(r).filter((c) => c.user_id === noor.id);
    expect(records.every((c) => c.api === 'instagram' && c.account?.key === EMULATED_IG_LOGIN_ACCOUNT_ID)).toBe(true);
  });

  it("refuse a reply with another account's token: a comment belongs to the account it was made on", async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const maya = r.emulator.createUser({ channel: 'instagram', name: 'Maya', locale: 'en_US' });
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    const onPage = await comment(r, mia, 'hello');
    const onLinked = await comment(r, maya, 'hello');
    const onLogin = await comment(r, noor, 'hello');
    const attempts: [string, string, string][] = [
      [EMULATED_SECOND_PAGE_ID, onPage, 'comments'],
      [EMULATED_SECOND_PAGE_ID, onLinked, 'replies'],
      [EMULATED_PAGE_ID, onLogin, 'replies'],
      [EMULATED_IG_LOGIN_ACCOUNT_ID, onLinked, 'replies'],
    ];
    for (const [account, commentId, edge] of attempts) {
      expect(errorOf(await apiPost(r, account, 'me/messages', privateReply(commentId, 'Hi!'))).message).toMatch(/Invalid comment_id/);
      expect(errorOf(await apiPost(r, account, `${commentId}/${edge}`, { message: 'Hi' })).message).toMatch(/^Unsupported post request/);
    }
    for (const user of [mia, maya, noor]) expect(chatMessages(r, user)).toEqual([]);
    // Their own accounts can.
    expect((await apiPost(r, EMULATED_PAGE_ID, 'me/messages', privateReply(onLinked, 'Hi!'))).status).toBe(200);
    expect((await apiPost(r, EMULATED_IG_LOGIN_ACCOUNT_ID, `${onLogin}/replies`, { message: 'Hi' })).status).toBe(200);
  });

  it('take a public reply only on the channel\'s edge, with a message', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    expect(errorOf(await apiPost(r, EMULATED_PAGE_ID, `${commentId}/replies`, { message: 'Hi' })).code).toBe(100);
    expect(errorOf(await apiPost(r, EMULATED_PAGE_ID, `${commentId}/comments`, { message: ' ' })).message).toMatch(/message must be a non-empty string/);
    expect(errorOf(await apiPost(r, EMULATED_PAGE_ID, `${commentId}/comments`, { message: 'x'.repeat(2201) })).message).toMatch(/less than or equal to 2200/);
    expect(errorOf(await apiPost(r, EMULATED_PAGE_ID, '7000000000000001_1/comments', { message: 'Hi' })).message).toMatch(/^Unsupported post request/);
    const ok = await apiPost(r, EMULATED_PAGE_ID, `${commentId}/comments`, { message: 'Hi' });
    expect(ok.status).toBe(200);
    expect((ok.body as { id: string }).id).toMatch(/^7000000000000001_\d+$/);
    expect(r.emulator.posts.view(mia).comments[0]?.replies).toEqual([expect.objectContaining({ text: 'Hi' })]);
  });

  it('refuse a private reply to a comment older than 7 days', async () => {
    let now = Date.now();
    const r = await startEmulatorApp({}, { emulatorNow: () => now });
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    now += 7 * DAY_MS;
    const late = await apiPost(r, EMULATED_PAGE_ID, 'me/messages', privateReply(commentId, 'Hi!'));
    expect(errorOf(late)).toMatchObject({ code: 100, message: expect.stringMatching(/older than 7 days/) as unknown });
    expect(chatMessages(r, mia)).toEqual([]);
  });

  it('forgets the comments of a forgotten user', async () => {
    const r = await startEmulatorApp();
    const mia = r.emulator.createUser({ channel: 'messenger', name: 'Mia Tan', locale: 'en_US' });
    const commentId = await comment(r, mia, 'hello');
    r.emulator.posts.forget(mia.id);
    expect(errorOf(await apiPost(r, EMULATED_PAGE_ID, 'me/messages', privateReply(commentId, 'Hi!'))).message).toMatch(/Invalid comment_id/);
    expect(r.emulator.posts.view(mia).comments).toEqual([]);
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
    expect(JSON.stringify(mine)).toContain('mentioned @tidewater.tea.co in your story');
    const hook = webhooks(r).find((w) => JSON.stringify(w.body).includes('story_mention'));
    expect(hook?.status).toBe(200);
    // The bot keeps no story URL; the emulator's own record of what it sent is the only copy.
    const stored = await r.bot.store.getUser(userKey(EMULATED_PAGE_ID, 'instagram', maya.id));
    expect(stored.last_inbound_at).toEqual(expect.any(Number));
    expect(stored.thanked_stories).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain('story-');
  });

  it('the Instagram Login account\'s user mentions it in a story: the entry is that account\'s, the thanks go through the Instagram API', async () => {
    const r = await startEmulatorApp({ INSTAGRAM_APP_SECRET: IG_SECRET });
    const noor = r.emulator.createUser({ channel: 'instagram', name: 'Noor', locale: 'en_US', account: EMULATED_IG_LOGIN_ACCOUNT_ID });
    expect((await request(r.server).post(`/emulator/users/${noor.id}/stories`).send({ type: 'mention' })).status).toBe(200);
    await r.settle();
    expect(chatMessages(r, noor)).toEqual([{ text: EN('stories.mention_thanks'), quick_replies: mainMenu(EN) }]);
    expect(JSON.stringify(r.emulator.history(noor.id))).toContain('mentioned @matcha.corner in your story');
    const hook = webhooks(r).find((w) => JSON.stringify(w.body).includes('story_mention'));
    expect(hook).toMatchObject({ status: 200, account: { key: EMULATED_IG_LOGIN_ACCOUNT_ID } });
    expect((hook?.body as { entry: { id: string }[] }).entry[0]?.id).toBe(EMULATED_IG_LOGIN_ACCOUNT_ID);
    const sends = graphCalls(r).filter((c) => c.path === `/${V}/me/messages` && (JSON.stringify(c.body) ?? '').includes(EN('stories.mention_thanks')));
    expect(sends.map((c) => [c.api, c.account?.key, c.status])).toEqual([['instagram', EMULATED_IG_LOGIN_ACCOUNT_ID, 200]]);
  });

  it('a reply to the shop\'s story is thanked; stories are refused for Messenger users and without a known type', async () => {
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
