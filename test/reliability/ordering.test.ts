// Per-user order: one user's events are handled strictly one after another in timestamp order,
// different users side by side, with bounded concurrency. Proven from the outside: a store
// wrapper that sees when handling starts and ends, and the mock Graph server's call log.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { laneOf } from '../../services/inbox/lanes.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { eventKey } from '../../services/inbox/event-key.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import { postSigned } from '../support/harness.ts';
import { recipientOf } from '../support/mock-graph-server.ts';
import { PAGE, expectedStream, orderStatusItem, pageNotification, psid, sleep, streamsByUser, tempDir, textItem, type MessagingItem } from './helpers.ts';
import { stamp, useRigs } from './in-process.ts';

/** The inbox's default number of users handled at once. */
const INBOX_CONCURRENCY = 64;
/** The outbox's default number of recipients sent to at once. */
const OUTBOX_CONCURRENCY = 64;

const { rig, cleanups } = useRigs();

/** Wraps a store to see each event's handling window: from reading it out of the inbox to completing it. */
function watchHandling(base: BotStore) {
  const laneOfId = new Map<number, string>();
  const active = new Map<string, number>();
  const stats = { running: 0, maxRunning: 0, maxPerUser: 0, handled: 0 };
  const store: BotStore = {
    ...base,
    async inboxEvent(id) {
      const event = await base.inboxEvent(id);
      if (event) {
        const lane = laneOf(event);
        laneOfId.set(id, lane);
        active.set(lane, (active.get(lane) ?? 0) + 1);
        stats.running += 1;
        stats.maxRunning = Math.max(stats.maxRunning, stats.running);
        stats.maxPerUser = Math.max(stats.maxPerUser, active.get(lane) ?? 0);
        await sleep(1 + (id % 4)); // widen the window an overlap would need
      }
      return event;
    },
    async completeEvent(id, outcome, now, owner) {
      const lane = laneOfId.get(id);
      if (lane !== undefined) {
        active.set(lane, (active.get(lane) ?? 1) - 1);
        stats.running -= 1;
        stats.handled += 1;
      }
      return base.completeEvent(id, outcome, now, owner);
    },
  };
  return { store, stats };
}

describe('per-user order', () => {
  it('never handles two events of one user at once; users proceed side by side up to the bound', async () => {
    const watched = watchHandling(createMemoryStore());
    const r = await rig({ env: { SEND_RATE_LIMIT: '300' }, bot: { store: watched.store }, mock: { latencyMs: (call) => (call.method === 'GET' ? 5 : call.seq % 3) } });
    const users = Array.from({ length: 24 }, (_, i) => psid(300 + i));
    const inputs = new Map(users.map((u, i) => [u, Array.from({ length: 6 }, (_, n) => `o${i}-${n + 1}`)]));
    await r.post(users.map((u) => orderStatusItem(u, stamp())));
    // Each user posts in order (two notifications of 3 texts); users at the same time.
    await Promise.all(
      users.map(async (u) => {
        const items = (inputs.get(u) ?? []).map((text) => textItem(u, text, stamp()));
        await r.post(items.slice(0, 3));
        await r.post(items.slice(3));
      }),
    );
    await r.h.bot.idle();

    const streams = streamsByUser(r.mock.sends());
    for (const u of users) expect({ u, stream: streams.get(u) }).toEqual({ u, stream: expectedStream(inputs.get(u) ?? []) });
    expect(watched.stats.handled).toBe(users.length * 7);
    expect(watched.stats.maxPerUser).toBe(1);
    expect(watched.stats.maxRunning).toBeGreaterThan(1);
    expect(watched.stats.maxRunning).toBeLessThanOrEqual(INBOX_CONCURRENCY);
  });

  it('a new user’s batch of events fetches the profile once: the second event starts only after the first finished', async () => {
    const r = await rig({ mock: { latencyMs: (call) => (call.method === 'GET' ? 100 : 0) } });
    const users = Array.from({ length: 10 }, (_, i) => psid(400 + i));
    await r.post(users.flatMap((u) => [orderStatusItem(u, stamp()), textItem(u, `${u}-1`, stamp()), textItem(u, `${u}-2`, stamp())]));
    await r.h.bot.idle();

    const gets = r.mock.calls.filter((c) => c.method === 'GET');
    expect(gets.map((c) => c.path).sort()).toEqual(users.map((u) => `/v24.0/${u}`).sort());
    const streams = streamsByUser(r.mock.sends());
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream([`${u}-1`, `${u}-2`]));
    // The ten slow profile calls overlapped: users did not wait for each other.
    expect(r.mock.maxInFlight('profile')).toBeGreaterThan(1);
  });

  it('handles a batch in timestamp order per user even when Meta lists the events out of order, across entries', async () => {
    const r = await rig();
    const A = psid(501);
    const B = psid(502);
    const t = Date.now() - 60_000;
    const item = (user: string, n: number): MessagingItem => (n === 0 ? orderStatusItem(user, t + n * 10) : textItem(user, `${user.slice(-3)}-${n}`, t + n * 10));
    const body = {
      object: 'page',
      entry: [
        { id: PAGE, time: t + 100, messaging: [item(A, 3), item(B, 2), item(A, 1)] },
        { id: PAGE, time: t + 50, messaging: [item(B, 0), item(A, 2), item(B, 1), item(A, 0)] },
      ],
    };
    expect((await postSigned(r.h.app, body)).status).toBe(200);
    await r.h.bot.idle();

    const streams = streamsByUser(r.mock.sends());
    expect(streams.get(A)).toEqual(expectedStream(['501-1', '501-2', '501-3']));
    expect(streams.get(B)).toEqual(expectedStream(['502-1', '502-2']));
  });

  it('bounds the inbox: at most 64 users handled at once', async () => {
    const r = await rig({ env: { SEND_RATE_LIMIT: '300' }, mock: { latencyMs: (call) => (call.method === 'GET' ? 40 : 0) } });
    const users = Array.from({ length: 160 }, (_, i) => psid(600 + i));
    await r.post(users.map((u) => orderStatusItem(u, stamp())));
    await r.h.bot.idle();

    const profile = r.mock.maxInFlight('profile');
    process.stdout.write(`inbox concurrency: ${profile} slow profile calls in flight at most (bound ${INBOX_CONCURRENCY})\n`);
    expect(profile).toBeGreaterThan(1);
    expect(profile).toBeLessThanOrEqual(INBOX_CONCURRENCY);
    const streams = streamsByUser(r.mock.sends());
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream([]));
  });

  it('bounds the outbox: at most 64 recipients sent to at once, whatever the rate limit would allow', async () => {
    // 300/s with a burst of 30 and 400 ms per call would allow some 150 calls in flight.
    const r = await rig({ env: { SEND_RATE_LIMIT: '300' }, mock: { latencyMs: (call) => (call.method === 'GET' ? 0 : 400) } });
    const users = Array.from({ length: 160 }, (_, i) => psid(700 + i));
    await r.post(users.map((u) => orderStatusItem(u, stamp())));
    await r.h.bot.idle();

    const sends = r.mock.maxInFlight('send');
    process.stdout.write(`outbox concurrency: ${sends} sends in flight at most (bound ${OUTBOX_CONCURRENCY})\n`);
    // The bound is reached (the rate limit would allow more), never passed.
    expect(sends).toBeGreaterThanOrEqual(OUTBOX_CONCURRENCY * 0.75);
    expect(sends).toBeLessThanOrEqual(OUTBOX_CONCURRENCY);
    const streams = streamsByUser(r.mock.sends());
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream([]));
  });

  // Regression: a lane yields its slot after a few sends, so a newcomer is not starved by long backlogs.
  it('does not starve a recipient while 64 others have long backlogs', async () => {
    const r = await rig({ env: { SEND_RATE_LIMIT: '300' }, mock: { latencyMs: (call) => (call.method === 'GET' ? 0 : 10) } });
    const busy = Array.from({ length: OUTBOX_CONCURRENCY }, (_, i) => psid(900 + i));
    const newcomer = psid(999);
    await r.post(busy.flatMap((u) => [orderStatusItem(u, stamp()), ...Array.from({ length: 5 }, (_, n) => textItem(u, `s${n}`, stamp()))]));
    await r.post(orderStatusItem(newcomer, stamp()));
    await r.h.bot.idle();
    const sends = r.mock.sends();
    const firstToNewcomer = sends.findIndex((c) => recipientOf(c) === newcomer);
    process.stdout.write(`starvation: the newcomer's first send was number ${firstToNewcomer + 1} of ${sends.length}\n`);
    expect(firstToNewcomer).toBeGreaterThanOrEqual(0);
    expect(firstToNewcomer).toBeLessThan(sends.length / 2);
  });

  // Regression: events accepted during recovery queue behind what recovery finds (a store with slow reads).
  it('keeps per-user order when an event arrives while recovery is still reading the inbox (a store with real read latency)', async () => {
    const dir = tempDir('ordering-recover');
    cleanups.push(dir.remove);
    const path = join(dir.path, 'bot.db');
    const A = psid(801);
    const [ask, a1, a2, a3] = [orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp()), textItem(A, 'a-2', stamp()), textItem(A, 'a-3', stamp())];
    // The previous run stored these and died before handling them.
    const previous = createSqliteStore(path);
    const events = normalizeNotification(pageNotification([ask, a1, a2])).events;
    await previous.addToInbox(events.map((e) => ({ key: eventKey(e), lane: laneOf(e), timestamp: e.kind === 'message' ? e.timestamp : 0, event: e })), Date.now());
    await previous.close();

    const base = createSqliteStore(path);
    const slowReads: BotStore = { ...base, inboxAfter: async (afterId, limit) => (await sleep(50), base.inboxAfter(afterId, limit)) };
    const r = await rig({ bot: { store: slowReads } });
    const recovering = r.h.bot.recover();
    await r.post(a3);
    await recovering;
    await r.h.bot.idle();
    expect(streamsByUser(r.mock.sends()).get(A)).toEqual(expectedStream(['a-1', 'a-2', 'a-3']));
  });
});
