// Redelivery: Meta posts a notification again when it saw no 200 in time, for up to 36 hours.
// Each event has a stable key; a key seen before is dropped before handling, across restarts of
// the SQLite store, and keys are only forgotten after the retention.
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { createBot } from '../../services/bot.ts';
import { loadConfig } from '../../services/config.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { eventKey } from '../../services/inbox/event-key.ts';
import { laneOf } from '../../services/inbox/lanes.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import { DEDUP_RETENTION_MS, type BotStore, type NewInboxEvent } from '../../services/state/store.ts';
import { TEST_ENV, postSigned } from '../support/harness.ts';
import { messageText, recipientOf, startMockGraph } from '../support/mock-graph-server.ts';
import { EN, expectedStream, invalidOrder, label, messengerUser, orderStatusItem, pageNotification, psid, reactionItem, tempDir, textItem } from './helpers.ts';
import { stamp, useRigs, type Rig } from './in-process.ts';

const A = psid(201);
const B = psid(202);
const HOUR = 60 * 60 * 1000;
const THANKS = EN('reaction.thanks');

const { rig, cleanups } = useRigs();

const sendsTo = (r: Rig, user: string) => r.mock.sends().filter((c) => recipientOf(c) === user);

describe('redelivered notifications get no second reply', () => {
  it('the same notification posted twice, one after the other and at the same time, is answered once', async () => {
    const r = await rig();
    const first = pageNotification([orderStatusItem(A, stamp())]);
    const second = pageNotification([textItem(A, 'a-1', stamp())]);
    expect((await postSigned(r.h.app, first)).status).toBe(200);
    expect((await postSigned(r.h.app, first)).status).toBe(200);
    await r.h.bot.idle();
    const [x, y] = await Promise.all([postSigned(r.h.app, second), postSigned(r.h.app, second)]);
    expect([x.status, y.status]).toEqual([200, 200]);
    await r.h.bot.idle();
    expect((await postSigned(r.h.app, first)).status).toBe(200);
    await r.h.bot.idle();

    expect(sendsTo(r, A).map(label)).toEqual(expectedStream(['a-1']));
    expect(r.h.logs.filter((l) => l.msg === 'redelivered events ignored').map((l) => l.duplicates)).toEqual([1, 1, 1]);
  });

  it('a redelivered event inside a new batch is dropped while the new events of the batch are answered', async () => {
    const r = await rig();
    const a1 = textItem(A, 'a-1', stamp());
    await r.post([orderStatusItem(A, stamp()), orderStatusItem(B, stamp())]);
    await r.post([a1]);
    await r.h.bot.idle();
    // Meta's retry batches the old event with new ones, under a new entry time.
    await postSigned(r.h.app, pageNotification([textItem(B, 'b-1', stamp()), a1, textItem(A, 'a-2', stamp())], Date.now() + 5000));
    await r.h.bot.idle();

    expect(sendsTo(r, A).map(label)).toEqual(expectedStream(['a-1', 'a-2']));
    expect(sendsTo(r, B).map(label)).toEqual(expectedStream(['b-1']));
  });

  it('react, unreact, react with distinct timestamps are three events; redeliveries of any of them change nothing', async () => {
    const r = await rig();
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();
    const asked = sendsTo(r, A).find((c) => messageText(c) !== undefined);
    const mid = (asked?.response as { message_id?: string } | undefined)?.message_id as string;
    expect(mid).toMatch(/^m_mock_/);
    const react1 = reactionItem(A, mid, 'react', stamp());
    const unreact = reactionItem(A, mid, 'unreact', stamp());
    const react2 = reactionItem(A, mid, 'react', stamp());
    const reaction = async () => (await r.h.bot.store.getSent(messengerUser(A), mid))?.reaction;

    await r.post(react1);
    await r.h.bot.idle();
    expect(await reaction()).toBe('❤️');
    await r.post(unreact);
    await r.h.bot.idle();
    expect(await reaction()).toBeUndefined();
    // Same mid and action as react1, a later timestamp: the user reacted again, not a redelivery.
    await r.post(react2);
    await r.h.bot.idle();
    expect(await reaction()).toBe('❤️');
    // A late redelivery of the unreact must not undo the newer reaction; nor do the reacts repeat anything.
    await r.post([unreact, react1, react2]);
    await r.h.bot.idle();
    expect(await reaction()).toBe('❤️');

    expect(sendsTo(r, A).filter((c) => messageText(c) === THANKS)).toHaveLength(1);
    expect(r.h.logs.filter((l) => l.msg === 'redelivered events ignored').map((l) => l.duplicates)).toEqual([3]);
  });
});

describe('dedup keys are durable', () => {
  it('a notification handled before a restart of the bot (same SQLite file) is not handled again after it', async () => {
    const dir = tempDir('redelivery-restart');
    cleanups.push(dir.remove);
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    const env = { DATABASE_URL: `sqlite:${join(dir.path, 'bot.db')}` };
    const notification = pageNotification([orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp())]);

    const before = await rig({ sharedMock: mock, env });
    expect((await postSigned(before.h.app, notification)).status).toBe(200);
    await before.h.bot.idle();
    await before.close();
    const after = await rig({ sharedMock: mock, env });
    await after.h.bot.recover();
    expect((await postSigned(after.h.app, notification)).status).toBe(200);
    await after.post(textItem(A, 'a-2', stamp()));
    await after.h.bot.idle();

    expect(mock.sends().filter((c) => recipientOf(c) === A).map(label)).toEqual(expectedStream(['a-1', 'a-2']));
    expect(mock.sends().filter((c) => messageText(c) === invalidOrder('a-1'))).toHaveLength(1);
  });

  it('SQLite: a key stored before close() is still known after reopening the file', async () => {
    const dir = tempDir('redelivery-sqlite');
    cleanups.push(dir.remove);
    const path = join(dir.path, 'bot.db');
    const t0 = Date.now();
    const first = createSqliteStore(path);
    expect(await first.addToInbox([inboxEvent('mid.1', t0)], t0)).toHaveLength(1);
    await first.close();
    const reopened = createSqliteStore(path);
    cleanups.push(() => reopened.close());
    expect(await reopened.addToInbox([inboxEvent('mid.1', t0)], t0 + 1000)).toEqual([]);
    expect(await reopened.addToInbox([inboxEvent('mid.2', t0 + 1)], t0 + 1000)).toHaveLength(1);
    expect((await reopened.backlog()).inbox).toBe(2);
  });
});

describe('dedup retention', () => {
  it('keeps keys longer than Meta redelivers (36 h)', () => {
    expect(DEDUP_RETENTION_MS).toBeGreaterThanOrEqual(36 * HOUR);
  });

  const stores: [string, () => { store: BotStore; done: () => void }][] = [
    ['memory', () => ({ store: createMemoryStore(), done: () => undefined })],
    [
      'sqlite',
      () => {
        const dir = tempDir('redelivery-prune');
        const store = createSqliteStore(join(dir.path, 'bot.db'));
        return { store, done: () => void store.close().then(dir.remove) };
      },
    ],
  ];

  it.each(stores)('%s store: prune forgets a key only once it is older than the retention', async (_name, make) => {
    const { store, done } = make();
    cleanups.push(done);
    const t0 = Date.now();
    await store.addToInbox([inboxEvent('mid.old', t0)], t0);
    await store.addToInbox([inboxEvent('mid.new', t0 + 12 * HOUR)], t0 + 12 * HOUR);

    await store.prune(t0 + 36 * HOUR);
    expect(await store.addToInbox([inboxEvent('mid.old', t0)], t0 + 36 * HOUR)).toEqual([]);
    await store.prune(t0 + DEDUP_RETENTION_MS);
    expect(await store.addToInbox([inboxEvent('mid.old', t0)], t0 + DEDUP_RETENTION_MS)).toEqual([]);
    await store.prune(t0 + DEDUP_RETENTION_MS + 1);
    expect(await store.addToInbox([inboxEvent('mid.old', t0)], t0 + DEDUP_RETENTION_MS + 1)).toHaveLength(1);
    // The younger key is still kept.
    expect(await store.addToInbox([inboxEvent('mid.new', t0 + 12 * HOUR)], t0 + DEDUP_RETENTION_MS + 1)).toEqual([]);
  });
});

describe('the bot prunes on its own', () => {
  it('asks the store to prune every hour, with the bot’s clock', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const base = createMemoryStore();
      const pruned: number[] = [];
      const store: BotStore = { ...base, prune: (now) => (pruned.push(now), base.prune(now)) };
      const T = 1_900_000_000_000;
      const bot = createBot(loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' }), { log: silentLogger, store, timers: { now: () => T, sleep: () => Promise.resolve() } });
      jest.advanceTimersByTime(59 * 60 * 1000);
      expect(pruned).toEqual([]);
      jest.advanceTimersByTime(60 * 1000);
      expect(pruned).toEqual([T]);
      jest.advanceTimersByTime(60 * 60 * 1000);
      expect(pruned).toEqual([T, T]);
      await bot.close(0);
      jest.advanceTimersByTime(3 * 60 * 60 * 1000);
      expect(pruned).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });
});

/** A stored inbox event as the inbox makes it (same key function). */
function inboxEvent(mid: string, timestamp: number): NewInboxEvent {
  const event = normalizeNotification(pageNotification([textItem(A, mid, timestamp, mid)])).events[0];
  if (!event) throw new Error('no event');
  return { key: eventKey(event), lane: laneOf(event), timestamp, event };
}
