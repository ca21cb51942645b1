// The pieces of a comment's answer on their own: the actions handleComment returns (with the
// private reply's deadline and channel), what the outbox asks of an action (expiry, the 24-hour
// window, rate limits, lanes), and the Graph calls SendApi.perform makes for comment recipients.
import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { createAccountDirectory } from '../../services/accounts/directory.ts';
import { handleComment, PRIVATE_REPLY_WINDOW_MS, type CommentDeps } from '../../services/comments/handle.ts';
import { loadConfig } from '../../services/config.ts';
import { mainMenu } from '../../services/conversation/menu.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { CommentEvent } from '../../services/events/types.ts';
import { createGraphClient } from '../../services/graph/client.ts';
import { InvalidGraphIdError } from '../../services/graph/ids.ts';
import { textMessage } from '../../services/graph/messages.ts';
import { createSendApi } from '../../services/graph/send-api.ts';
import type { OutgoingAction } from '../../services/outbox/outgoing-action.ts';
import { createTranslations } from '../../services/i18n.ts';
import { createLogger } from '../../services/logger.ts';
import { expiryReason, gateOptionsFor, inMessagingWindow, isExpired, isPrivateReply } from '../../services/outbox/action-policy.ts';
import { replyLane } from '../../services/state/store.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { fixture, TEST_ENV } from '../support/harness.ts';

const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
const accounts = createAccountDirectory(config.accounts);
const translations = createTranslations();
const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations };
const CREATED = 1700000000 * 1000;

function commentEvent(name: string): CommentEvent {
  const [event] = normalizeNotification(fixture(name)).events;
  if (event?.kind !== 'comment') throw new Error(`${name} is not a comment`);
  return event;
}

function deps(now: number, lines: string[] = []): CommentDeps & { store: ReturnType<typeof createMemoryStore> } {
  return { store: createMemoryStore(), settings, log: createLogger({ level: 'debug', write: (l) => lines.push(l) }), now: () => now, accounts, account: accounts.defaultKey };
}

describe('handleComment', () => {
  it('returns the private reply with its deadline (7 days after the comment) and channel, then the public reply; no user for Facebook', async () => {
    const outcome = await handleComment(commentEvent('page-feed-comment-add'), deps(CREATED + 1000));
    const t = translations.fixedT('en_US');
    expect(outcome).toEqual({
      userKey: undefined,
      user: undefined,
      sentUpdates: [],
      statusUpdates: [],
      apology: undefined,
      actions: [
        { type: 'message', recipient: { comment_id: '7000000000000001_8000000000000002' }, message: textMessage(t('browse.intro'), mainMenu(t)), channel: 'messenger', expires_at: CREATED + PRIVATE_REPLY_WINDOW_MS },
        { type: 'comment_reply', channel: 'messenger', comment_id: '7000000000000001_8000000000000002', message: t('comments.public_reply') },
      ],
    });
  });

  it('on Instagram the comment belongs to the commenter\'s IGSID, whose language it learns from non-English words', async () => {
    const d = deps(CREATED + 1000);
    const outcome = await handleComment(commentEvent('instagram-comment-reply'), d);
    expect(outcome.userKey).toBe(`${accounts.defaultKey}/instagram:7650000000000002`);
    expect(outcome.user).toEqual({ locale: 'id_ID' });
    expect(outcome.actions[0]).toMatchObject({ recipient: { comment_id: '17900000000000004' }, channel: 'instagram', expires_at: CREATED + 1000 + PRIVATE_REPLY_WINDOW_MS });
  });

  it('a language the customer picked wins over the comment\'s words; a person owning the thread means no reply', async () => {
    const d = deps(CREATED + 1000);
    await d.store.putUser(`${accounts.defaultKey}/instagram:7650000000000002`, { locale: 'zh_TW' });
    const outcome = await handleComment(commentEvent('instagram-comment-reply'), d);
    expect(outcome.actions[0]).toMatchObject({ message: { text: translations.fixedT('zh_TW')('browse.intro') } });
    await d.store.putUser(`${accounts.defaultKey}/instagram:7650000000000002`, { thread_owner: 'human' });
    expect((await handleComment(commentEvent('instagram-comment-reply'), d)).actions).toEqual([]);
  });

  it('refuses, with the reason logged at warn: a comment 7 days old', async () => {
    const lines: string[] = [];
    const outcome = await handleComment(commentEvent('page-feed-comment-add'), deps(CREATED + PRIVATE_REPLY_WINDOW_MS, lines));
    expect(outcome.actions).toEqual([]);
    const line = JSON.parse(lines.find((l) => l.includes('older than 7 days')) ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', trigger: 'price', comment_id: '7000000000000001_8000000000000002', age_hours: 168 });
  });
});

describe('what the outbox asks of an action', () => {
  const privateReply: OutgoingAction = { type: 'message', recipient: { comment_id: '17900000000000003' }, message: { text: 'hi' }, channel: 'instagram', expires_at: 5000 };
  const publicReply: OutgoingAction = { type: 'comment_reply', channel: 'instagram', comment_id: '17900000000000003', message: 'Sent!' };
  const message: OutgoingAction = { type: 'message', recipient: { id: '2400' }, message: { text: 'hi' } };

  it('isExpired: from expires_at on, never without one', () => {
    expect(isExpired(privateReply, 4999)).toBe(false);
    expect(isExpired(privateReply, 5000)).toBe(true);
    expect(isExpired(privateReply, 9e12)).toBe(true);
    expect(isExpired(message, 9e12)).toBe(false);
    expect(expiryReason(privateReply, 5000 + 120_000)).toBe('expired: not sent after its deadline (1970-01-01T00:00:05.000Z, 2 min ago)');
  });

  it('the 24-hour window governs messages to users, not private replies (7 days) nor public replies', () => {
    expect(inMessagingWindow(message)).toBe(true);
    expect(inMessagingWindow({ type: 'sender_action', recipient: { id: '2400' }, sender_action: 'typing_on' })).toBe(true);
    expect(inMessagingWindow(privateReply)).toBe(false);
    expect(inMessagingWindow(publicReply)).toBe(false);
    expect(isPrivateReply(privateReply)).toBe(true);
    expect(isPrivateReply(message)).toBe(false);
  });

  it('Instagram private replies take the private-reply limit, audio and video the media limit, the rest only the account\'s', () => {
    expect(gateOptionsFor(privateReply)).toEqual({ kind: 'private_reply' });
    expect(gateOptionsFor({ ...privateReply, channel: 'messenger' })).toEqual({});
    expect(gateOptionsFor({ ...privateReply, message: { attachment: { type: 'video', payload: { url: 'https://x.test/v.mp4' } } } })).toEqual({ kind: 'private_reply', media: true });
    expect(gateOptionsFor(message)).toEqual({});
    expect(gateOptionsFor(publicReply)).toEqual({});
  });

  it('without a user, a comment\'s private and public replies share the comment\'s lane', () => {
    expect(replyLane(undefined, privateReply)).toBe('recipient:comment:17900000000000003');
    expect(replyLane(undefined, publicReply)).toBe('recipient:comment:17900000000000003');
    expect(replyLane(undefined, message)).toBe('recipient:2400');
    expect(replyLane(undefined, { type: 'message', recipient: { user_ref: 'ref-1' }, message: { text: 'hi' } })).toBe('recipient:ref-1');
  });
});

describe('SendApi.perform for comments', () => {
  const BASE = 'https://graph.comments.test';
  const api = createSendApi(createGraphClient({ baseUrl: BASE, version: 'v24.0', accessToken: 'EAAtoken0123456789', appSecret: 'secret-0123456789' }));

  it('sends a private reply to me/messages with recipient.comment_id, without the outbox\'s own fields', async () => {
    const scope = nock(BASE)
      .post('/v24.0/me/messages', { recipient: { comment_id: '7000000000000001_8000000000000002' }, messaging_type: 'RESPONSE', message: { text: 'Hello' } })
      .query(true)
      .reply(200, { recipient_id: '24000000000000555', message_id: 'm_1' });
    const result = await api.perform({ type: 'message', recipient: { comment_id: '7000000000000001_8000000000000002' }, message: { text: 'Hello' }, channel: 'messenger', expires_at: 1 });
    expect(result).toEqual({ recipient_id: '24000000000000555', message_id: 'm_1' });
    expect(scope.isDone()).toBe(true);
  });

  it('posts a public reply on Facebook\'s comments edge and Instagram\'s replies edge', async () => {
    const scope = nock(BASE)
      .post('/v24.0/7000000000000001_8000000000000002/comments', { message: 'Sent you a message!' })
      .query(true)
      .reply(200, { id: '7000000000000001_8000000000000009' })
      .post('/v24.0/17900000000000003/replies', { message: 'Sent you a message!' })
      .query(true)
      .reply(200, { id: '17900000000000010' });
    await api.perform({ type: 'comment_reply', channel: 'messenger', comment_id: '7000000000000001_8000000000000002', message: 'Sent you a message!' });
    await api.perform({ type: 'comment_reply', channel: 'instagram', comment_id: '17900000000000003', message: 'Sent you a message!' });
    expect(scope.isDone()).toBe(true);
  });

  it('refuses a comment id that could address another object, without a request', async () => {
    for (const id of ['../me', '17900000000000003/likes', 'abc', '']) {
      await expect(api.perform({ type: 'comment_reply', channel: 'instagram', comment_id: id, message: 'x' })).rejects.toBeInstanceOf(InvalidGraphIdError);
    }
  });
});
