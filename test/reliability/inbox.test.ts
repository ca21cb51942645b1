// The durable inbox: a notification's events are stored, in one transaction, before the webhook
// answers 200; a store that cannot take them means no 200 (Meta redelivers); completing an event
// stores the user's state and its replies atomically with removing it from the inbox.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { laneOf } from '../../services/inbox/lanes.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { OutgoingAction } from '../../services/outbox/outgoing-action.ts';
import { eventKey } from '../../services/inbox/event-key.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore, NewInboxEvent } from '../../services/state/store.ts';
import { claimAll, OWNER } from '../support/claims.ts';
import { postSigned } from '../support/harness.ts';
import { messageText, recipientOf, startMockGraph } from '../support/mock-graph-server.ts';
import { EN, deferred, expectedStream, label, messengerUser, orderStatusItem, pageNotification, psid, reactionItem, readItem, sleep, tempDir, textItem } from './helpers.ts';
import { stamp, useRigs } from './in-process.ts';

const A = psid(901);
const THANKS = EN('reaction.thanks');

const { rig, cleanups } = useRigs();

function sqliteFile(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(dir.remove);
  return join(dir.path, 'bot.db');
}

function inboxEvents(items: Parameters<typeof pageNotification>[0]): NewInboxEvent[] {
  return normalizeNotification(pageNotification(items)).events.map((event) => ({
    key: eventKey(event),
    lane: laneOf(event),
    timestamp: 'timestamp' in event ? event.timestamp : event.entry_time,
    event,
  }));
}

describe('inbox before the 200', () => {
  it('answers 200 only once the notification is stored; at that moment its event waits in the inbox', async () => {
    const base = createMemoryStore();
    let storedAt = 0;
    const slowStore: BotStore = {
      ...base,
      addNotification: async (notification, now) => {
        await sleep(100);
        await base.addNotification(notification, now);
        storedAt = performance.now();
      },
    };
    // A slow Send API keeps the reply from reaching the user for a while after the event was stored.
    const r = await rig({ bot: { store: slowStore }, mock: { latencyMs: (call) => (call.method === 'POST' ? 600 : 0) } });
    const res = await postSigned(r.h.app, pageNotification([orderStatusItem(A, stamp())]));
    const answeredAt = performance.now();
    const backlog = await r.h.bot.store.backlog();

    expect(res.status).toBe(200);
    expect(storedAt).toBeGreaterThan(0);
    expect(answeredAt).toBeGreaterThanOrEqual(storedAt);
    // Still the stored body, its event, or its reply on the way; either way not yet answered.
    expect(backlog.received + backlog.inbox + backlog.outbox).toBe(1);
    expect(r.mock.sends().filter((c) => c.answeredAt !== undefined)).toEqual([]);
    await r.h.bot.idle();
    expect(r.mock.sends().map(label)).toEqual(expectedStream([]));
  });

  it('does not answer 200 when the store cannot take the notification; the redelivery is then answered once', async () => {
    const base = createMemoryStore();
    let failNext = true;
    const flakyStore: BotStore = {
      ...base,
      addNotification: (notification, now) => {
        if (!failNext) return base.addNotification(notification, now);
        failNext = false;
        return Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
      },
    };
    const r = await rig({ bot: { store: flakyStore } });
    const notification = pageNotification([orderStatusItem(A, stamp())]);
    const refused = await postSigned(r.h.app, notification);
    await r.h.bot.idle();
    expect(refused.status).toBe(500);
    expect(refused.text).not.toContain('SQLITE');
    expect(r.mock.calls).toEqual([]);

    expect((await postSigned(r.h.app, notification)).status).toBe(200);
    await r.h.bot.idle();
    expect(r.mock.sends().map(label)).toEqual(expectedStream([]));
  });

  it('SQLite: a notification’s events are stored in one transaction, all or none', async () => {
    const store = createSqliteStore(sqliteFile('inbox-tx'));
    cleanups.unshift(() => store.close());
    const events = inboxEvents([orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp())]);
    // A third event that cannot be serialised makes the transaction fail after the first two rows.
    const broken = { ...(events[1] as NewInboxEvent), key: 'broken', event: { ...(events[1] as NewInboxEvent).event, poison: 1n } as unknown as NewInboxEvent['event'] };
    await expect(store.addToInbox([...events, broken], Date.now())).rejects.toThrow();
    expect(await store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    // Their dedup keys were rolled back too: the redelivery is stored.
    expect(await store.addToInbox(events, Date.now())).toHaveLength(2);
  });
});

describe('replies stored atomically with the event being handled', () => {
  it('SQLite: completing an event saves the user state and the sent messages\' changes, queues the replies and removes the event together, or not at all', async () => {
    const store = createSqliteStore(sqliteFile('inbox-complete'));
    cleanups.unshift(() => store.close());
    const [row] = await store.addToInbox(inboxEvents([orderStatusItem(A, stamp())]), Date.now());
    await claimAll(store);
    const id = (row as { id: number }).id;
    const reply: OutgoingAction = { type: 'message', recipient: { id: A }, message: { text: 'hello' } };
    const poisoned = { ...reply, message: { text: 'x', poison: 1n } } as unknown as OutgoingAction;
    await store.recordSent(`messenger:${A}`, 'm_earlier', 1000);
    const outcome = {
      userKey: `messenger:${A}`,
      user: { step: 'awaiting_order_number' as const },
      sentUpdates: [{ mid: 'm_earlier', reaction: '❤', thanked: true as const }],
      statusUpdates: [{ update: { watermark: 2000 }, status: 'read' as const }],
      apology: undefined,
    };

    await expect(store.completeEvent(id, { ...outcome, actions: [reply, poisoned] }, Date.now(), OWNER)).rejects.toThrow();
    expect(await store.backlog()).toEqual({ received: 0, inbox: 1, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    expect(await store.getUser(`messenger:${A}`)).toEqual({});
    expect(await store.getSent(`messenger:${A}`, 'm_earlier')).toEqual({ mid: 'm_earlier', sent_at: 1000, status: 'sent', thanked: false });
    expect(await store.inboxEvent(id)).toBeDefined();

    await store.completeEvent(id, { ...outcome, actions: [reply, reply] }, Date.now(), OWNER);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 2, failed: 0, unreadable: 0, failed_events: 0 });
    expect(await store.getUser(`messenger:${A}`)).toEqual({ step: 'awaiting_order_number' });
    expect(await store.getSent(`messenger:${A}`, 'm_earlier')).toEqual({ mid: 'm_earlier', sent_at: 1000, status: 'read', reaction: '❤', thanked: true });
  });

  it('SQLite: completions in the same turn share a commit, and one that fails takes none of the others with it', async () => {
    const store = createSqliteStore(sqliteFile('inbox-complete-group'));
    cleanups.unshift(() => store.close());
    const B = psid(902);
    const [rowA, rowB] = await store.addToInbox(inboxEvents([orderStatusItem(A, stamp()), orderStatusItem(B, stamp())]), Date.now());
    await claimAll(store);
    const reply = (to: string): OutgoingAction => ({ type: 'message', recipient: { id: to }, message: { text: 'hello' } });
    const poisoned = { ...reply(B), message: { text: 'x', poison: 1n } } as unknown as OutgoingAction;
    const outcome = (to: string, actions: OutgoingAction[]) => ({ userKey: `messenger:${to}`, user: { step: 'awaiting_order_number' as const }, sentUpdates: [], statusUpdates: [], actions, apology: undefined });

    const [a, b] = await Promise.allSettled([
      store.completeEvent((rowA as { id: number }).id, outcome(A, [reply(A)]), Date.now(), OWNER),
      store.completeEvent((rowB as { id: number }).id, outcome(B, [reply(B), poisoned]), Date.now(), OWNER),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(await store.backlog()).toEqual({ received: 0, inbox: 1, outbox: 1, failed: 0, unreadable: 0, failed_events: 0 });
    expect(await store.getUser(`messenger:${A}`)).toEqual({ step: 'awaiting_order_number' });
    expect(await store.getUser(`messenger:${B}`)).toEqual({});
  });

  it('SQLite: many completions in one turn (more than one commit takes) each get their own replies back', async () => {
    const store = createSqliteStore(sqliteFile('inbox-complete-many'));
    cleanups.unshift(() => store.close());
    const users = Array.from({ length: 20 }, (_, i) => psid(910 + i));
    const rows = await store.addToInbox(inboxEvents(users.map((u) => orderStatusItem(u, stamp()))), Date.now());
    await claimAll(store);
    const replies = await Promise.all(
      rows.map((row, i) => {
        const to = users[i] as string;
        const action: OutgoingAction = { type: 'message', recipient: { id: to }, message: { text: `hello ${i}` } };
        return store.completeEvent(row.id, { userKey: `messenger:${to}`, user: {}, sentUpdates: [], statusUpdates: [], actions: [action], apology: undefined }, Date.now(), OWNER);
      }),
    );
    expect(replies.map((r) => (r === 'lost' ? r : r.replies.map((o) => [o.lane, o.event_id])))).toEqual(rows.map((row, i) => [[`messenger:${users[i]}`, row.id]]));
    expect(await store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 20, failed: 0, unreadable: 0, failed_events: 0 });
  });

  // Regression: the thanks decision is stored with the event's outcome, so a crash replays it whole.
  it('a reaction whose handling was cut short by a crash is thanked once after the restart', async () => {
    const path = sqliteFile('inbox-crash');
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    const base = createSqliteStore(path);
    let crashNext = false;
    const crashing: BotStore = {
      ...base,
      completeEvent: (id, outcome, now, owner) => {
        if (!crashNext) return base.completeEvent(id, outcome, now, owner);
        crashNext = false;
        return Promise.reject(new Error('process killed before the commit'));
      },
    };
    const first = await rig({ sharedMock: mock, bot: { store: crashing } });
    await first.post(orderStatusItem(A, stamp()));
    await first.h.bot.idle();
    const asked = mock.sends().find((c) => messageText(c) !== undefined);
    const mid = (asked?.response as { message_id?: string } | undefined)?.message_id ?? '';
    crashNext = true;
    await first.post(reactionItem(A, mid, 'react', stamp()));
    await first.h.bot.idle();
    await first.close();

    const second = await rig({ sharedMock: mock, env: { DATABASE_URL: `sqlite:${path}` } });
    await second.h.bot.recover();
    await second.h.bot.idle();
    expect(await second.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    expect(mock.sends().filter((c) => recipientOf(c) === A && messageText(c) === THANKS)).toHaveLength(1);
  });
  // Handlers never write the store: a read is applied with the event's outcome, or not at all.
  it('a read receipt whose completion was cut short by a crash changes nothing then, and is applied once after the restart', async () => {
    const path = sqliteFile('inbox-read-crash');
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    const base = createSqliteStore(path);
    let crashNext = false;
    const commitStarted = deferred<void>();
    const crashing: BotStore = {
      ...base,
      completeEvent: (id, outcome, now, owner) => {
        if (!crashNext) return base.completeEvent(id, outcome, now, owner);
        // The process dies during the commit: the completion never comes back.
        commitStarted.resolve();
        return new Promise(() => undefined);
      },
    };
    const first = await rig({ sharedMock: mock, bot: { store: crashing } });
    await first.post(orderStatusItem(A, stamp()));
    await first.h.bot.idle();
    const mid = (mock.sends().find((c) => messageText(c) !== undefined)?.response as { message_id?: string } | undefined)?.message_id ?? '';
    const statusIn = async (store: BotStore) => (await store.getSent(messengerUser(A), mid))?.status;
    expect(await statusIn(base)).toBe('sent');

    crashNext = true;
    await first.post(readItem(A, Date.now() + 1000, stamp()));
    await commitStarted.promise;
    expect(await statusIn(base)).toBe('sent');
    await first.close();

    const second = await rig({ sharedMock: mock, env: { DATABASE_URL: `sqlite:${path}` } });
    await second.h.bot.recover();
    await second.h.bot.idle();
    expect(await second.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    expect(await statusIn(second.h.bot.store)).toBe('read');
    // Handled once more, quietly: a read never makes the bot say anything.
    expect(mock.sends().filter((c) => recipientOf(c) === A).map(label)).toEqual(expectedStream([]));
  });
});
