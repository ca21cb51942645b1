import { createServer } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../services/config.ts';
import { buildTestNotification, sendTestEvent, testTargetOf } from '../services/test-event.ts';
import { APP_SECRET, IG_LOGIN, INSTAGRAM_APP_SECRET, PAGE_A, PAGE_A_IG, PAGE_B, accountsEnv } from './support/accounts.ts';
import { normalizeNotification } from '../services/events/normalize.ts';
import { PAGE_ID, TEST_ENV, createHarness } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';

describe('send-test-event', () => {
  it('builds a notification the normaliser reads as a message from the given user', () => {
    const body = buildTestNotification({ text: 'hello', channel: 'messenger', accountId: PAGE_ID, senderId: '42', now: 1763892000000 });
    const [event] = normalizeNotification(body).events;
    expect(event).toMatchObject({ kind: 'message', channel: 'messenger', entry_id: PAGE_ID, sender: { id: '42' }, message: { text: 'hello' } });
  });

  it('builds postbacks and Instagram events', () => {
    const body = buildTestNotification({ text: 'GET_STARTED', postback: true, channel: 'instagram', accountId: '17841400000000001', senderId: '7', now: 1 });
    const [event] = normalizeNotification(body).events;
    expect(event).toMatchObject({ kind: 'postback', channel: 'instagram', postback: { payload: 'GET_STARTED' } });
  });

  it('is accepted by a running app over real HTTP, and a wrong secret is refused', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { '24000000000000001': { first_name: 'Ana' } } });
    const server = createServer(h.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
      const body = buildTestNotification({ text: 'hi äö 🍵', channel: 'messenger', accountId: PAGE_ID, senderId: '24000000000000001', now: Date.now() });
      const ok = await sendTestEvent(url, TEST_ENV.APP_SECRET as string, body);
      expect(ok).toMatchObject({ status: 200, body: 'EVENT_RECEIVED' });
      const refused = await sendTestEvent(url, 'not-the-secret', body);
      expect(refused.status).toBe(403);
      await h.bot.idle();
      // Answered once (the text is no intent: the fallback with the menu), the wrong secret not at all.
      expect(graph.messages('24000000000000001')).toHaveLength(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('send-test-event with several accounts', () => {
  const config = loadConfig(accountsEnv());

  it('addresses the first account that has the channel, or the one --account names, signed with its app secret', () => {
    expect(testTargetOf(config, 'messenger')).toEqual({ accountId: PAGE_A, secret: APP_SECRET });
    expect(testTargetOf(config, 'instagram')).toEqual({ accountId: PAGE_A_IG, secret: APP_SECRET });
    expect(testTargetOf(config, 'messenger', PAGE_B)).toEqual({ accountId: PAGE_B, secret: APP_SECRET });
    expect(testTargetOf(config, 'instagram', PAGE_A)).toEqual({ accountId: PAGE_A_IG, secret: APP_SECRET });
    expect(testTargetOf(config, 'instagram', IG_LOGIN)).toEqual({ accountId: IG_LOGIN, secret: INSTAGRAM_APP_SECRET });
  });

  it('says why when the account does not have the channel', () => {
    expect(testTargetOf(config, 'messenger', IG_LOGIN)).toBe(`no configured account with id ${IG_LOGIN} has Messenger (a Page)`);
    expect(testTargetOf(config, 'instagram', PAGE_B)).toBe(`no configured account with id ${PAGE_B} has an Instagram account`);
    expect(testTargetOf(loadConfig({ ...TEST_ENV, IG_ACCOUNT_ID: '', DATABASE_URL: 'memory:' }), 'instagram')).toMatch(/^no Instagram account is configured/);
  });
});
