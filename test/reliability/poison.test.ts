// One bad notification or event never stops the others. Signed bodies posted to the real app
// (memory and SQLite stores), and stores that throw for one body or one event: whatever cannot
// be expanded, stored or handled is set aside with its reason, and everything behind it, above
// all the next normal message, is still answered. A store that fails as a whole is waited out.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { Rig } from './in-process.ts';
import { stamp, useRigs } from './in-process.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import type { InboxRetry } from '../../services/inbox/inbox.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore, NotificationExpander } from '../../services/state/store.ts';
import { postSigned } from '../support/harness.ts';
import { recipientOf, startMockGraph, type MockGraph } from '../support/mock-graph-server.ts';
import { toMetaJson } from '../../services/signature.ts';
import Database from 'better-sqlite3';
import { expectedStream, label, messengerUser, orderStatusItem, PAGE, pageNotification, psid, sleep, streamsByUser, tempDir, textItem, waitFor, withDeepValue } from './helpers.ts';

const A = psid(1201);
const B = psid(1202);
const C = psid(1203);

/** Short pauses between tries, so a test sees all of them (the defaults take ~7.5 s). */
const FAST_RETRY: InboxRetry = { baseMs: 20, maxMs: 200, maxAttempts: 5 };

const { rig, cleanups } = useRigs();

function sqliteFile(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(dir.remove);
  return join(dir.path, 'bot.db');
}

/** `memory:`, or a SQLite file of its own. */
const STORES: [string, () => string][] = [
  ['memory', () => 'memory:'],
  ['SQLite', () => `sqlite:${sqliteFile('poison')}`],
];

/**
 * The store with these methods replaced: while `instead()` gives a promise, a call to one of them
 * returns it (a rejection for an outage, one that never settles for a dead thread).
 */
function intercept(base: BotStore, methods: readonly (keyof BotStore)[], instead: () => Promise<never> | undefined): BotStore {
  return new Proxy(base, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || !(methods as readonly PropertyKey[]).includes(prop)) return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => instead() ?? method.apply(target, args);
    },
  });
}

function openStore(url: string): BotStore {
  if (url === 'memory:') return createMemoryStore();
  const store = createSqliteStore(url.slice('sqlite:'.length));
  cleanups.unshift(() => store.close().catch(() => undefined));
  return store;
}

/** A message whose `message` holds one more field, nested 100,000 arrays deep (see withDeepValue). */
function deepMessage(user: string, timestamp: number): Record<string, unknown> {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, message: { mid: `m_deep_${user}_${timestamp}`, text: 'hi', extra: '__DEEP__' } };
}

/** An item of no known kind whose one field nests 100,000 deep: it becomes an `unknown` event, which is keyed by a digest of it. */
function deepUnknown(user: string, timestamp: number): Record<string, unknown> {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, mystery: '__DEEP__' };
}

/** Waits for every accepted event to be handled and every reply sent, failing clearly if that never happens. */
async function settle(r: Rig, timeoutMs = 10_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bot did not settle within ${timeoutMs} ms: ${JSON.stringify(r.h.logs.filter((l) => l.level === 'error').slice(-3))}`)), timeoutMs);
  });
  try {
    await Promise.race([r.h.bot.idle(), late]);
  } finally {
    clearTimeout(timer);
  }
}

const sendsTo = (r: Rig, user: string): string[] => r.mock.sends().filter((c) => recipientOf(c) === user).map(label);

describe.each(STORES)('%s store: a signed notification that cannot be stored', (_name, databaseUrl) => {
  it('a body whose event nests 100,000 arrays deep gets its 200, is set aside with its reason, and the next message is answered', async () => {
    const r = await rig({ env: { DATABASE_URL: databaseUrl() } });
    await r.post(orderStatusItem(A, stamp()));
    await settle(r);

    const poison = withDeepValue(pageNotification([deepMessage(A, stamp()) as never]));
    expect(poison.length).toBeGreaterThan(190_000);
    const res = await postSigned(r.h.app, poison);
    expect(res.status).toBe(200);
    await r.post(textItem(A, 'a-1', stamp()));
    await r.post(orderStatusItem(B, stamp()));
    await settle(r);

    expect(sendsTo(r, A)).toEqual(expectedStream(['a-1']));
    expect(sendsTo(r, B)).toEqual(expectedStream([]));
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 1, failed_events: 0 });
    const logged = r.h.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('some events of a stored notification could not be read'));
    expect(logged).toMatchObject({ level: 'error', events: [1] });
    expect(String(logged?.reason)).toMatch(/^event 1: could not be stored: (RangeError: Maximum call stack size exceeded|DataCloneError)/);
  });

  it('the valid events in the same body as unreadable ones are answered; the others are named by position', async () => {
    const r = await rig({ env: { DATABASE_URL: databaseUrl() } });
    const t = stamp();
    const body = withDeepValue(pageNotification([orderStatusItem(B, t), deepMessage(A, t + 1) as never, deepUnknown(C, t + 2) as never, orderStatusItem(C, t + 3)]));
    expect((await postSigned(r.h.app, body)).status).toBe(200);
    await settle(r);

    expect(sendsTo(r, B)).toEqual(expectedStream([]));
    expect(sendsTo(r, C)).toEqual(expectedStream([]));
    expect(sendsTo(r, A)).toEqual([]);
    const logged = r.h.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('some events of a stored notification could not be read'));
    expect(logged).toMatchObject({ events: [2, 3] });
    expect(String(logged?.reason)).toMatch(/event 2: could not be stored: .*; event 3: unknown event in entry 1234567890 could not be keyed: RangeError/);
    expect(await r.h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, unreadable: 1, failed_events: 0 });
  });

  it('an expander that yields an event the store cannot hold, for one body: that body alone is set aside', async () => {
    const url = databaseUrl();
    const base = openStore(url);
    // Stands in for any bug between the normaliser and the store: one body's event cannot be
    // serialised (a BigInt, for JSON) or cloned (a function, for the memory store).
    const store: BotStore = {
      ...base,
      expandNotifications: (maxEvents, expand, now) => {
        const poisoning: NotificationExpander = (body, receivedAt) => {
          const expanded = expand(body, receivedAt);
          if (!Buffer.from(body).includes('POISON')) return expanded;
          const events = expanded.events.map((e) => ({ ...e, event: { ...e.event, big: 1n, fn: () => 1 } as unknown as WebhookEvent }));
          return { ...expanded, events };
        };
        return base.expandNotifications(maxEvents, poisoning, now);
      },
    };
    const r = await rig({ env: { DATABASE_URL: url }, bot: { store } });
    await r.post(orderStatusItem(A, stamp()));
    await r.post(textItem(A, 'POISON', stamp()));
    await r.post(textItem(A, 'a-1', stamp()));
    await settle(r);
    expect(sendsTo(r, A)).toEqual(expectedStream(['a-1']));
    expect(await r.h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, unreadable: 1 });
  });

  it('an expander that throws for one body: that body alone is set aside, the bodies around it are answered', async () => {
    const url = databaseUrl();
    const base = openStore(url);
    const store: BotStore = {
      ...base,
      expandNotifications: (maxEvents, expand, now) =>
        base.expandNotifications(
          maxEvents,
          (body, receivedAt) => {
            if (Buffer.from(body).includes('POISON')) throw new TypeError('a normaliser bug');
            return expand(body, receivedAt);
          },
          now,
        ),
    };
    const r = await rig({ env: { DATABASE_URL: url }, bot: { store } });
    await r.post(orderStatusItem(A, stamp()));
    await r.post([textItem(A, 'POISON', stamp()), textItem(B, 'lost with it', stamp())]);
    await r.post(textItem(A, 'a-1', stamp()));
    await settle(r);
    expect(sendsTo(r, A)).toEqual(expectedStream(['a-1']));
    expect(await r.h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, unreadable: 1 });
    expect(r.h.logs.find((l) => l.msg === 'stored notification could not be read; set aside in unreadable_notifications')).toMatchObject({ reason: 'TypeError: a normaliser bug' });
  });
});

describe('SQLite: the poison body is not met again after a restart', () => {
  it('keeps the body with its reason; a restart on the same database answers the next message at once', async () => {
    const path = sqliteFile('poison-restart');
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    const first = await rig({ sharedMock: mock, env: { DATABASE_URL: `sqlite:${path}` } });
    await postSigned(first.h.app, withDeepValue(pageNotification([deepMessage(A, stamp()) as never])));
    await settle(first);
    await first.close();

    const db = new Database(path, { readonly: true });
    cleanups.unshift(() => void db.close());
    const kept = db.prepare('SELECT body, reason FROM unreadable_notifications').all() as { body: Buffer; reason: string }[];
    expect(kept).toHaveLength(1);
    expect(kept[0]?.body.length).toBeGreaterThan(190_000);
    expect(kept[0]?.reason).toMatch(/^event 1: could not be stored: RangeError/);

    const second = await rig({ sharedMock: mock, env: { DATABASE_URL: `sqlite:${path}` } });
    await second.h.bot.recover();
    await second.post(orderStatusItem(B, stamp()));
    await settle(second);
    expect(sendsTo(second, B)).toEqual(expectedStream([]));
    expect(await second.h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, unreadable: 1 });
  });
});

/** A store that throws whenever the event with this text is read, or completed. */
function failingFor(base: BotStore, text: string, where: 'inboxEvent' | 'completeEvent'): { store: BotStore; tries: () => number } {
  const poisonIds = new Set<number>();
  let tries = 0;
  const isPoison = (event: WebhookEvent | undefined): boolean => event?.kind === 'message' && event.message.text === text;
  const store: BotStore = {
    ...base,
    async inboxEvent(id) {
      const event = await base.inboxEvent(id);
      if (isPoison(event)) poisonIds.add(id);
      if (where === 'inboxEvent' && poisonIds.has(id)) {
        tries += 1;
        throw new SyntaxError('Unexpected token in JSON at position 7 (a damaged row)');
      }
      return event;
    },
    completeEvent(id, outcome, now, owner) {
      if (where !== 'completeEvent' || !poisonIds.has(id)) return base.completeEvent(id, outcome, now, owner);
      tries += 1;
      // A user state the store cannot serialise (for SQLite: JSON has no BigInt), in the real store.
      const user = { ...outcome.user, poison: 1n, fn: () => 1 } as unknown as typeof outcome.user;
      return base.completeEvent(id, { ...outcome, user }, now, owner);
    },
  };
  return { store, tries: () => tries };
}

describe.each(STORES)('%s store: an event whose handling keeps failing', (_name, databaseUrl) => {
  it.each([
    ['its stored row cannot be read', 'inboxEvent' as const],
    ['its outcome cannot be saved (a user state that cannot be serialised)', 'completeEvent' as const],
  ])('%s: tried a bounded number of times with backoff, set aside with the reason; the user and the others go on', async (_what, where) => {
    const url = databaseUrl();
    const failing = failingFor(openStore(url), 'a-poison', where);
    const r = await rig({ env: { DATABASE_URL: url }, bot: { store: failing.store, inboxRetry: FAST_RETRY } });
    await r.post(orderStatusItem(A, stamp()));
    await settle(r);
    const started = performance.now();
    await r.post([textItem(A, 'a-poison', stamp()), orderStatusItem(B, stamp())]);
    await r.post(textItem(A, 'a-2', stamp()));
    await settle(r);

    expect(failing.tries()).toBe(FAST_RETRY.maxAttempts);
    // Pauses of 20, 40, 80 and 160 ms between the five tries.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(sendsTo(r, A)).toEqual(expectedStream(['a-2']));
    expect(sendsTo(r, B)).toEqual(expectedStream([]));
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 1 });
    const aside = r.h.logs.find((l) => l.msg === 'event set aside in failed_events: handling it kept failing');
    expect(aside).toMatchObject({ level: 'error', lane: messengerUser(A), attempts: FAST_RETRY.maxAttempts });
    expect(String(aside?.reason)).toMatch(where === 'inboxEvent' ? /SyntaxError: Unexpected token/ : /(BigInt|could not be cloned)/);
    expect(String(aside?.reason)).toMatch(/^handling failed 5 times: /);
    expect(r.h.logs.filter((l) => l.msg === 'handling an event failed; trying it again')).toHaveLength(FAST_RETRY.maxAttempts - 1);
  });

  it('a store outage (every handling call fails for a while) sets nothing aside: handling waits, then answers everyone in order', async () => {
    const url = databaseUrl();
    const base = openStore(url);
    let down = false;
    let refused = 0;
    const store = intercept(base, ['inboxEvent', 'completeEvent', 'countAttempt', 'setAsideEvent', 'getUser'], () => {
      if (!down) return undefined;
      refused += 1;
      return Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
    });
    const r = await rig({ env: { DATABASE_URL: url }, bot: { store, inboxRetry: FAST_RETRY } });
    await r.post([orderStatusItem(A, stamp()), orderStatusItem(B, stamp())]);
    await settle(r);
    down = true;
    await r.post([textItem(A, 'a-1', stamp()), textItem(B, 'b-1', stamp())]);
    await r.post(textItem(A, 'a-2', stamp()));
    await waitFor(() => refused > 30, 5000, () => `refused ${refused}`);
    down = false;
    await settle(r);

    expect(sendsTo(r, A)).toEqual(expectedStream(['a-1', 'a-2']));
    expect(sendsTo(r, B)).toEqual(expectedStream(['b-1']));
    expect(await r.h.bot.store.backlog()).toMatchObject({ inbox: 0, outbox: 0, failed_events: 0 });
    expect(r.h.logs.some((l) => l.msg === 'the store failed while handling an event; waiting for it')).toBe(true);
  });
});

describe('an event that kills the bot each time it is handled', () => {
  /**
   * One run of the bot on the database at `path`. Reading the event with text "die" kills the
   * run: from then on every store call of that run hangs, like a thread that is gone, so the
   * events in flight beside it never finish either. Resolves once the run died, or finished all.
   */
  async function run(path: string, mock: MockGraph): Promise<{ r: Rig; died: boolean }> {
    const base = openStore(`sqlite:${path}`);
    let dead = false;
    const hang = new Promise<never>(() => undefined);
    const dying: BotStore = {
      ...base,
      async inboxEvent(id) {
        const event = await base.inboxEvent(id);
        if (event?.kind === 'message' && event.message.text === 'die') dead = true;
        return dead ? hang : event;
      },
    };
    const store = intercept(dying, ['inboxEvent', 'completeEvent', 'countAttempt', 'setAsideEvent', 'outboxHead', 'outboxSent', 'getUser'], () => (dead ? hang : undefined));
    const r = await rig({ sharedMock: mock, env: { DATABASE_URL: `sqlite:${path}` }, bot: { store, inboxRetry: { ...FAST_RETRY, maxAttempts: 3 } } });
    await r.h.bot.recover();
    let finished = false;
    const done = r.h.bot.idle().then(() => (finished = true));
    await waitFor(() => dead || finished, 10_000);
    const died = dead;
    if (!died) await done;
    if (died) {
      await sleep(50); // the events beside it get stuck too
      await r.h.bot.close(20);
    }
    return { r, died };
  }

  it('counts the attempts that never finished and sets the event aside; the events in flight beside it are answered', async () => {
    const path = sqliteFile('poison-crash');
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    // A's "die" among events of other users, in one notification stored the way the webhook stores it.
    const users = [psid(1301), psid(1302), psid(1303), psid(1304)];
    const t = stamp();
    const items = [...users.map((u, i) => orderStatusItem(u, t + i)), textItem(A, 'die', t + 10), ...users.map((u, i) => textItem(u, `${u}-1`, t + 20 + i))];
    const seed = createSqliteStore(path);
    await seed.addNotification({ body: Buffer.from(toMetaJson(pageNotification(items))) }, Date.now());
    await seed.close();

    let deaths = 0;
    let last: Rig | undefined;
    for (let i = 0; i < 8 && !last; i++) {
      const { r, died } = await run(path, mock);
      if (died) deaths += 1;
      else last = r;
    }
    // The first run's try was not counted (the event arrived in that run: counting every first
    // try would cost a write per event); then three counted tries, each cut short; the next run
    // sets it aside without trying.
    expect(deaths).toBe(4);
    const final = last as Rig;
    await final.post(textItem(A, 'a-after', stamp()));
    await settle(final);
    expect(await final.h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, outbox: 0, failed_events: 1 });
    const aside = final.h.logs.find((l) => l.msg === 'event set aside in failed_events: handling it kept failing');
    expect(aside).toMatchObject({ lane: messengerUser(A), attempts: 3, reason: 'handling did not finish in 3 attempts: the bot stopped, or its thread died, during each of them' });
    // Every other event was answered (a send in flight at a death may have gone out twice).
    for (const u of users) {
      const texts = streamsByUser(mock.sends()).get(u) ?? [];
      expect([...new Set(texts)]).toEqual(expectedStream([`${u}-1`]));
    }
  }, 60_000);
});
