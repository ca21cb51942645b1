// The store's side of "one bad notification or event never stops the others", for every store
// (memory and SQLite here; any new store must pass the same): expansion isolates each body and
// each event, handling attempts are counted durably, and an event can be set aside with its reason.
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { WebhookEvent } from '../../services/events/types.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore, NotificationExpander } from '../../services/state/store.ts';
import { emptyOutcome } from '../../services/state/store.ts';
import { toMetaJson } from '../../services/signature.ts';
import { claimAll, OWNER } from '../support/claims.ts';
import { messengerUser, PAGE, pageNotification, psid, tempDir, textItem, withDeepValue } from './helpers.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const T0 = 1_763_892_000_000;
const body = (...items: Parameters<typeof textItem>[]): Buffer => Buffer.from(toMetaJson(pageNotification(items.map((i) => textItem(...i)), T0)));
const deepBody = (...items: Record<string, unknown>[]): Buffer => Buffer.from(withDeepValue(pageNotification(items as never)));
const deepMessage = (user: string, ts: number) => ({ sender: { id: user }, recipient: { id: PAGE }, timestamp: ts, message: { mid: `m_deep_${ts}`, text: 'x', extra: '__DEEP__' } });
const deepUnknown = (user: string, ts: number) => ({ sender: { id: user }, recipient: { id: PAGE }, timestamp: ts, mystery: '__DEEP__' });
const plain = (user: string, text: string, ts: number) => textItem(user, text, ts) as unknown as Record<string, unknown>;

function sqlitePath(): string {
  const dir = tempDir('set-aside');
  cleanups.push(dir.remove);
  return join(dir.path, 'bot.db');
}

const stores: [string, () => BotStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'SQLite',
    () => {
      const store = createSqliteStore(sqlitePath());
      cleanups.unshift(() => store.close());
      return store;
    },
  ],
];

const texts = async (store: BotStore): Promise<string[]> => {
  const rows = await store.inboxAfter(0, 100);
  return Promise.all(rows.map(async (r) => ((await store.inboxEvent(r.id)) as Extract<WebhookEvent, { kind: 'message' }>).message.text ?? ''));
};

describe.each(stores)('%s store: expansion isolates each notification and each event', (_name, open) => {
  it('a body the expander throws on is set aside; the bodies before and after it are expanded in the same call', async () => {
    const store = open();
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1]) }, T0);
    await store.addNotification({ body: body([psid(1), 'POISON', T0 + 2]) }, T0);
    await store.addNotification({ body: body([psid(1), 'c', T0 + 3]) }, T0);
    const throwing: NotificationExpander = (bytes, receivedAt) => {
      if (Buffer.from(bytes).includes('POISON')) throw new RangeError('Maximum call stack size exceeded');
      return expandBody(bytes, receivedAt);
    };
    const result = await store.expandNotifications(100, throwing, T0);
    expect(result).toEqual({ notifications: 3, stored: 2, duplicates: 0, unreadable: [{ id: expect.any(Number), reason: 'RangeError: Maximum call stack size exceeded' }] });
    expect(await texts(store)).toEqual(['a', 'c']);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 2, outbox: 0, failed: 0, unreadable: 1, failed_events: 0 });
  });

  it('the deep-nesting body: the event that cannot be stored and the one that cannot be keyed are set aside by position, the valid ones stored', async () => {
    const store = open();
    await store.addNotification({ body: deepBody(plain(psid(1), 'a', T0 + 1), deepMessage(psid(2), T0 + 2), deepUnknown(psid(3), T0 + 3), plain(psid(4), 'd', T0 + 4)) }, T0);
    const result = await store.expandNotifications(100, expandBody, T0 + 5);
    expect(result).toMatchObject({ notifications: 1, stored: 2, duplicates: 0, unreadable: [{ events: [1, 2] }] });
    expect(result.unreadable[0]?.reason).toMatch(/^event 2: could not be stored: \w+Error: .+; event 3: unknown event in entry 1234567890 could not be keyed: RangeError: Maximum call stack size exceeded$/);
    expect(await texts(store)).toEqual(['a', 'd']);
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 2, unreadable: 1 });
    // Nothing is left to retry: the next call finds no work.
    expect(await store.expandNotifications(100, expandBody, T0 + 6)).toEqual({ notifications: 0, stored: 0, duplicates: 0, unreadable: [] });
  });

  it('many unreadable bodies are taken a bounded number per call', async () => {
    const store = open();
    for (let i = 0; i < 30; i++) await store.addNotification({ body: Buffer.from('not json') }, T0);
    const first = await store.expandNotifications(10, expandBody, T0);
    expect(first).toMatchObject({ notifications: 10, stored: 0 });
    expect(first.unreadable).toHaveLength(10);
    expect(await store.backlog()).toMatchObject({ received: 20, unreadable: 10 });
  });
});

describe.each(stores)('%s store: handling attempts and set-aside events', (_name, open) => {
  it('counts attempts durably per event, shows them on the waiting rows, and answers 0 once the event is gone', async () => {
    const store = open();
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(2), 'b', T0 + 2]) }, T0);
    await store.expandNotifications(100, expandBody, T0);
    const [a, b] = await store.inboxAfter(0, 10);
    expect([a?.attempts, b?.attempts]).toEqual([0, 0]);
    const idA = (a as { id: number }).id;
    expect(await store.countAttempt(idA)).toBe(1);
    expect(await store.countAttempt(idA)).toBe(2);
    expect((await store.inboxAfter(0, 10)).map((r) => r.attempts)).toEqual([2, 0]);
    await claimAll(store);
    await store.completeEvent(idA, emptyOutcome(), T0, OWNER);
    expect(await store.countAttempt(idA)).toBe(0);
  });

  it('sets an event aside with its reason: out of the inbox, counted in the backlog; setting aside a gone event changes nothing', async () => {
    const store = open();
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2]) }, T0);
    await store.expandNotifications(100, expandBody, T0);
    const [a] = await store.inboxAfter(0, 10);
    const id = (a as { id: number }).id;
    await claimAll(store);
    await store.setAsideEvent(id, 'handling did not finish in 5 attempts: SyntaxError: bad row', T0 + 10, OWNER);
    expect(await store.inboxEvent(id)).toBeUndefined();
    expect(await texts(store)).toEqual(['b']);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 1, outbox: 0, failed: 0, unreadable: 0, failed_events: 1 });
    await store.setAsideEvent(id, 'again', T0 + 20, OWNER);
    expect(await store.backlog()).toMatchObject({ inbox: 1, failed_events: 1 });
  });
});

describe('SQLite store: what is set aside is kept, and attempts survive a restart', () => {
  it('keeps the event as stored, its attempts and the reason in failed_events; attempts persist across reopening', async () => {
    const path = sqlitePath();
    const first = createSqliteStore(path);
    await first.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2]) }, T0);
    await first.expandNotifications(100, expandBody, T0);
    const [a, b] = await first.inboxAfter(0, 10);
    await first.countAttempt((b as { id: number }).id);
    await first.countAttempt((a as { id: number }).id);
    await first.countAttempt((a as { id: number }).id);
    await first.close();

    const store = createSqliteStore(path);
    cleanups.unshift(() => store.close());
    expect((await store.inboxAfter(0, 10)).map((r) => r.attempts)).toEqual([2, 1]);
    expect(await store.countAttempt((a as { id: number }).id)).toBe(3);
    await claimAll(store);
    await store.setAsideEvent((a as { id: number }).id, 'the reason', T0 + 9, OWNER);
    const db = new Database(path, { readonly: true });
    cleanups.unshift(() => db.close());
    const row = db.prepare('SELECT id, lane, event, attempts, reason, failed_at FROM failed_events').get() as { event: string } & Record<string, unknown>;
    expect(row).toMatchObject({ id: a?.id, lane: messengerUser(psid(1)), attempts: 3, reason: 'the reason', failed_at: T0 + 9 });
    expect((JSON.parse(row.event) as { message: { text: string } }).message.text).toBe('a');
  });

  it('a queued reply that cannot be read is given up with the reason; the replies behind it still come out', async () => {
    const path = sqlitePath();
    const store = createSqliteStore(path);
    cleanups.unshift(() => store.close());
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1]) }, T0);
    await store.expandNotifications(100, expandBody, T0);
    const [row] = await store.inboxAfter(0, 1);
    const lane = `messenger:${psid(1)}`;
    const reply = (text: string) => ({ type: 'message' as const, recipient: { id: psid(1) }, message: { text } });
    await claimAll(store);
    const completion = await store.completeEvent((row as { id: number }).id, { userKey: lane, user: {}, sentUpdates: [], statusUpdates: [], actions: [reply('one'), reply('two')], apology: undefined }, T0, OWNER);
    const [first] = completion === 'lost' ? [] : completion.replies;
    const db = new Database(path);
    cleanups.unshift(() => db.close());
    db.prepare("UPDATE outbox SET action = '{\"type\":\"mess' WHERE id = ?").run(first?.id);
    expect(await store.outboxHead(lane)).toMatchObject({ action: reply('two') });
    expect(await store.backlog()).toMatchObject({ outbox: 1, failed: 1 });
    expect(db.prepare('SELECT reason FROM failed_sends').get()).toEqual({ reason: expect.stringMatching(/^unreadable: SyntaxError/) });
  });

  it('opens a database made before attempts were counted, and counts them from then on', async () => {
    const path = sqlitePath();
    const old = new Database(path);
    old.exec('CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, ts INTEGER NOT NULL, event TEXT NOT NULL)');
    old.prepare('INSERT INTO inbox (lane, ts, event) VALUES (?, ?, ?)').run('messenger:1', T0, JSON.stringify({ kind: 'unknown' }));
    old.close();
    const store = createSqliteStore(path);
    cleanups.unshift(() => store.close());
    const [row] = await store.inboxAfter(0, 10);
    expect(row).toEqual({ id: 1, lane: 'messenger:1', attempts: 0, received_at: undefined });
    // The migration gave the waiting event its lane, so it can be claimed and handled.
    expect(await store.claimInboxLanes(OWNER, 10, 10_000, T0)).toEqual([{ lane: 'messenger:1', takenOver: false }]);
    expect(await store.countAttempt(1)).toBe(1);
    expect(await store.backlog()).toMatchObject({ inbox: 1, failed_events: 0 });
  });
});
