// Stored notifications: the webhook stores each verified body as it arrived, and the inbox expands
// bodies into events after the 200. Both stores, the same contract; then the inbox's bounded window.
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { WebhookEvent } from '../../services/events/types.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import { createInbox } from '../../services/inbox/inbox.ts';
import { createLogger } from '../../services/logger.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore, EventOutcome, ExpandedNotification } from '../../services/state/store.ts';
import { emptyOutcome } from '../../services/state/store.ts';
import { toMetaJson } from '../../services/signature.ts';
import { claimAll, OWNER, quietOutbox } from '../support/claims.ts';
import Database from 'better-sqlite3';
import { messengerUser, pageNotification, psid, sleep, tempDir, textItem, waitFor } from './helpers.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const T0 = 1_763_892_000_000;
const body = (...items: Parameters<typeof textItem>[]): Buffer => Buffer.from(toMetaJson(pageNotification(items.map((i) => textItem(...i)), T0)));

function sqlitePath(): string {
  const dir = tempDir('notifications');
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

describe.each(stores)('%s store: stored notifications', (_name, open) => {
  it('expands oldest first, stopping once the event budget is reached (at least one body)', async () => {
    const store = open();
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2]) }, T0);
    await store.addNotification({ body: body([psid(2), 'c', T0 + 3], [psid(2), 'd', T0 + 4]) }, T0);
    await store.addNotification({ body: body([psid(3), 'e', T0 + 5]) }, T0);
    expect(await store.backlog()).toEqual({ received: 3, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });

    // 2 events < 3, so a second body is taken; 4 ≥ 3 stops there.
    expect(await store.expandNotifications(3, expandBody, T0)).toEqual({ notifications: 2, stored: 4, duplicates: 0, unreadable: [] });
    expect(await store.backlog()).toEqual({ received: 1, inbox: 4, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    // A budget of 0 still takes one body, so a caller always makes progress.
    expect(await store.expandNotifications(0, expandBody, T0)).toMatchObject({ notifications: 1, stored: 1 });
    expect(await store.expandNotifications(100, expandBody, T0)).toEqual({ notifications: 0, stored: 0, duplicates: 0, unreadable: [] });

    const rows = await store.inboxAfter(0, 10);
    const texts = await Promise.all(rows.map(async (r) => ((await store.inboxEvent(r.id)) as Extract<WebhookEvent, { kind: 'message' }>).message.text));
    expect(texts).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(rows.map((r) => r.lane)).toEqual([1, 1, 2, 2, 3].map((i) => messengerUser(psid(i))));
  });

  it('drops a redelivered body’s events by key, counting them as duplicates', async () => {
    const store = open();
    const same = body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2]);
    await store.addNotification({ body: same }, T0);
    await store.addNotification({ body: same }, T0 + 1000);
    expect(await store.expandNotifications(100, expandBody, T0 + 2000)).toEqual({ notifications: 2, stored: 2, duplicates: 2, unreadable: [] });
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 2 });
  });

  it('reports a body that cannot be expanded, takes it out of the way, and expands the others', async () => {
    const store = open();
    await store.addNotification({ body: Buffer.from('{"object":"page","entry":[') }, T0);
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1]) }, T0);
    const result = await store.expandNotifications(100, expandBody, T0);
    expect(result).toMatchObject({ notifications: 2, stored: 1, duplicates: 0 });
    expect(result.unreadable).toHaveLength(1);
    expect(result.unreadable[0]?.reason).toMatch(/JSON/);
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 1 });
  });

  it('keeps its own copy of the body', async () => {
    const store = open();
    const bytes = body([psid(1), 'a', T0 + 1]);
    await store.addNotification({ body: bytes }, T0);
    bytes.fill(0x20);
    expect(await store.expandNotifications(100, expandBody, T0)).toMatchObject({ stored: 1, unreadable: [] });
  });

  it('pages through waiting events by id, and lists the lanes with queued replies', async () => {
    const store = open();
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(2), 'b', T0 + 2], [psid(1), 'c', T0 + 3]) }, T0);
    await store.expandNotifications(100, expandBody, T0);
    const [first, ...rest] = await store.inboxAfter(0, 1);
    expect(rest).toEqual([]);
    const next = await store.inboxAfter((first as { id: number }).id, 10);
    expect(next).toHaveLength(2);
    const reply = { type: 'message' as const, recipient: { id: psid(2) }, message: { text: 'hi' } };
    const outcome: EventOutcome = { userKey: `messenger:${psid(2)}`, user: {}, sentUpdates: [], statusUpdates: [], actions: [reply, reply], apology: undefined };
    await claimAll(store);
    await store.completeEvent((next[0] as { id: number }).id, outcome, T0, OWNER);
    expect(await store.outboxLanes()).toEqual([`messenger:${psid(2)}`]);
    expect((await store.inboxAfter(0, 10)).map((r) => r.id)).toEqual([(first as { id: number }).id, (next[1] as { id: number }).id]);
  });
});

describe('SQLite store: stored notifications are durable and expanded atomically', () => {
  it('keeps a body that cannot be expanded, with the reason, for a person to look at', async () => {
    const path = sqlitePath();
    const store = createSqliteStore(path);
    cleanups.unshift(() => store.close());
    const broken = Buffer.from('{"object":"page","entry":[');
    await store.addNotification({ body: broken }, T0);
    const [aside] = (await store.expandNotifications(100, expandBody, T0 + 5)).unreadable;
    const db = new Database(path, { readonly: true });
    cleanups.unshift(() => db.close());
    const row = db.prepare('SELECT id, received_at, body, reason, failed_at FROM unreadable_notifications').get() as Record<string, unknown>;
    expect(row).toEqual({ id: aside?.id, received_at: T0, body: broken, reason: aside?.reason, failed_at: T0 + 5 });
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 0 });
  });

  it('a body stored before a restart is expanded after it', async () => {
    const path = sqlitePath();
    const before = createSqliteStore(path);
    await before.addNotification({ body: body([psid(1), 'a', T0 + 1]) }, T0);
    await before.close();
    const after = createSqliteStore(path);
    cleanups.unshift(() => after.close());
    expect(await after.backlog()).toMatchObject({ received: 1, inbox: 0 });
    expect(await after.expandNotifications(100, expandBody, T0)).toMatchObject({ notifications: 1, stored: 1 });
  });

  it('an event that cannot be stored is set aside by position: its body is kept with the reason, the other events are stored', async () => {
    const path = sqlitePath();
    const store = createSqliteStore(path);
    cleanups.unshift(() => store.close());
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2], [psid(1), 'c', T0 + 3]) }, T0);
    // The second event cannot be serialised: the others are stored all the same.
    const poisoned = (bytes: Uint8Array, receivedAt: number): ExpandedNotification => {
      const expanded = expandBody(bytes, receivedAt);
      return { ...expanded, events: expanded.events.map((e, i) => (i === 1 ? { ...e, event: { ...e.event, poison: 1n } as unknown as WebhookEvent } : e)) };
    };
    const result = await store.expandNotifications(100, poisoned, T0 + 5);
    expect(result).toMatchObject({ notifications: 1, stored: 2, duplicates: 0, unreadable: [{ events: [1] }] });
    expect(result.unreadable[0]?.reason).toMatch(/^event 2: could not be stored: TypeError: .*BigInt/);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 2, outbox: 0, failed: 0, unreadable: 1, failed_events: 0 });
    const db = new Database(path, { readonly: true });
    cleanups.unshift(() => db.close());
    expect(db.prepare('SELECT reason, received_at FROM unreadable_notifications').get()).toEqual({ reason: result.unreadable[0]?.reason, received_at: T0 });
    // The dedup key of the one set aside was not taken: a fixed redelivery would be stored.
    await store.addNotification({ body: body([psid(1), 'a', T0 + 1], [psid(1), 'b', T0 + 2]) }, T0 + 10);
    expect(await store.expandNotifications(100, expandBody, T0 + 10)).toMatchObject({ stored: 1, duplicates: 1 });
  });
});

describe('SQLite store: the webhook’s connection waits for the write lock without blocking its thread', () => {
  it('keeps the event loop running while another connection holds the lock, commits once it is free, and gives up after lockWaitMs', async () => {
    const path = sqlitePath();
    const webhook = createSqliteStore(path, { onLocked: 'yield', lockWaitMs: 300 });
    cleanups.unshift(() => webhook.close());
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    cleanups.unshift(() => other.close());

    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const stored = webhook.addNotification({ body: body([psid(1), 'a', T0 + 1]) }, T0);
    await sleep(100);
    other.exec('COMMIT');
    await stored;
    clearInterval(ticker);
    // A blocking wait (SQLite's busy handler) would have frozen the timers for the whole 100 ms.
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(await webhook.backlog()).toMatchObject({ received: 1 });

    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    await expect(webhook.addNotification({ body: body([psid(1), 'b', T0 + 2]) }, T0)).rejects.toThrow(/locked|busy/i);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    other.exec('ROLLBACK');
    expect(await webhook.backlog()).toMatchObject({ received: 1 });
  });
});

describe('inbox window', () => {
  it('holds at most `window` events in memory however many are stored, and keeps each user’s order', async () => {
    const base = createMemoryStore();
    let fetched = 0;
    let completed = 0;
    let mostHeld = 0;
    const store: BotStore = {
      ...base,
      laneEvents: async (lane, limit) => {
        const rows = await base.laneEvents(lane, limit);
        fetched += rows.length;
        mostHeld = Math.max(mostHeld, fetched - completed);
        return rows;
      },
      completeEvent: async (id, outcome, now, owner) => {
        completed += 1;
        return base.completeEvent(id, outcome, now, owner);
      },
    };
    const handled = new Map<string, string[]>();
    const handleEvent = async (event: WebhookEvent): Promise<EventOutcome> => {
      await new Promise((resolve) => setImmediate(resolve));
      const who = event.kind === 'message' ? event.sender?.id : undefined;
      if (event.kind === 'message' && who) handled.set(who, [...(handled.get(who) ?? []), event.message.text ?? '']);
      return emptyOutcome();
    };
    const inbox = createInbox({ store, handleEvent, outbox: quietOutbox, log: createLogger({ level: 'silent' }), now: () => T0, owner: OWNER, concurrency: 2 });
    for (let n = 0; n < 20; n++) {
      await store.addNotification({ body: body(...[1, 2, 3].map((u): [string, string, number] => [psid(u), `${u}-${n}`, T0 + n * 10 + u])) }, T0);
    }
    inbox.wake();
    await inbox.idle();

    expect(completed).toBe(60);
    // Two lanes at once, each reading at most 8 of its events at a time.
    expect(mostHeld).toBeLessThanOrEqual(16);
    for (const u of [1, 2, 3]) expect(handled.get(psid(u))).toEqual(Array.from({ length: 20 }, (_, n) => `${u}-${n}`));
    expect(await store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
  });

  it('tries again by itself when the store fails to give events, without waiting for a new notification', async () => {
    const base = createMemoryStore();
    let failures = 1;
    const store: BotStore = {
      ...base,
      expandNotifications: (maxEvents, expand, now) => (failures-- > 0 ? Promise.reject(new Error('SQLITE_IOERR: disk I/O error')) : base.expandNotifications(maxEvents, expand, now)),
    };
    const handled: string[] = [];
    const handleEvent = (event: WebhookEvent): Promise<EventOutcome> => {
      if (event.kind === 'message') handled.push(event.message.text ?? '');
      return Promise.resolve(emptyOutcome());
    };
    const lines: string[] = [];
    const inbox = createInbox({ store, handleEvent, outbox: quietOutbox, log: createLogger({ level: 'error', write: (l) => lines.push(l) }), now: () => T0, owner: OWNER });
    await inbox.accept(body([psid(1), 'a', T0 + 1]));
    await waitFor(() => handled.length === 1, 3000, () => `handled: ${handled.join(',')}`);
    expect(handled).toEqual(['a']);
    expect(lines.join('\n')).toContain('reading the inbox failed');
    await inbox.stop();
  });
});
