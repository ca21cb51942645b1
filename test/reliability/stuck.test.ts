// When the store keeps failing: reading the inbox or the outbox is retried by one chain with a
// growing pause (never one chain per wake-up or per lane), and /healthz says handling is stuck,
// with the reason, while work waits and nothing moves; it recovers by itself once work moves.
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { WebhookEvent } from '../../services/events/types.ts';
import { createInbox } from '../../services/inbox/inbox.ts';
import { createLogger } from '../../services/logger.ts';
import { OWNER, quietOutbox } from '../support/claims.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore, EventOutcome } from '../../services/state/store.ts';
import { emptyOutcome } from '../../services/state/store.ts';
import { toMetaJson } from '../../services/signature.ts';
import { recipientOf } from '../support/mock-graph-server.ts';
import { expectedStream, label, orderStatusItem, pageNotification, psid, sleep, textItem, waitFor } from './helpers.ts';
import { healthOfInstance } from './health-shape.ts';
import { stamp, useRigs, type Rig } from './in-process.ts';

const { rig } = useRigs();
const A = psid(1401);
const FAST_RETRY = { baseMs: 50, maxMs: 200, maxAttempts: 5 };

const healthz = (r: Rig) => request(r.h.app).get('/healthz');
const sendsTo = (r: Rig, user: string): string[] => r.mock.sends().filter((c) => recipientOf(c) === user).map(label);

describe('reading the inbox keeps failing', () => {
  it('is retried by one chain with a growing pause, however many notifications wake it; all are handled once it answers', async () => {
    const base = createMemoryStore();
    let down = true;
    let calls = 0;
    const store: BotStore = {
      ...base,
      expandNotifications: (maxEvents, expand, now) => {
        calls += 1;
        return down ? Promise.reject(new Error('SQLITE_IOERR: disk I/O error')) : base.expandNotifications(maxEvents, expand, now);
      },
    };
    const handled: string[] = [];
    const handleEvent = (event: WebhookEvent): Promise<EventOutcome> => {
      if (event.kind === 'message') handled.push(event.message.text ?? '');
      return Promise.resolve(emptyOutcome());
    };
    const inbox = createInbox({ store, handleEvent, outbox: quietOutbox, log: createLogger({ level: 'silent' }), now: () => Date.now(), owner: OWNER, retry: { baseMs: 100, maxMs: 400, maxAttempts: 5 } });
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      await inbox.accept(Buffer.from(toMetaJson(pageNotification([textItem(A, `n-${i}`, stamp())]))));
      await sleep(50);
    }
    const elapsed = performance.now() - started;
    // Pauses of 100, 200, 400, 400 ms...: about one try per pause, not one per notification.
    expect(calls).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 300));
    down = false;
    await waitFor(() => handled.length === 20, 3000, () => `handled ${handled.length}`);
    expect(handled).toEqual(Array.from({ length: 20 }, (_, i) => `n-${i}`));
    // Once it answered, the pause starts over: a new failure is retried after the first pause.
    await inbox.stop();
  });
});

describe('reading the outbox keeps failing', () => {
  it('every lane it failed for waits behind one growing pause (one probe at a time), then all replies go out in order', async () => {
    const base = createMemoryStore();
    let down = false;
    let refused = 0;
    const store: BotStore = {
      ...base,
      outboxHead: (lane) => {
        if (!down) return base.outboxHead(lane);
        refused += 1;
        return Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
      },
    };
    const r = await rig({ bot: { store, stuckAfterMs: 400 } });
    const users = Array.from({ length: 20 }, (_, i) => psid(1410 + i));
    down = true;
    await r.post(users.map((u) => orderStatusItem(u, stamp())));
    await waitFor(() => refused >= 20, 3000, () => `refused ${refused}`);
    const first = refused;
    await sleep(2000);
    // Each lane failed once; since then a probe after 0.5 s, then 1 s (a timer per lane: 40 more).
    expect(refused - first).toBeLessThanOrEqual(3);
    const stuck = await healthz(r);
    expect(stuck.status).toBe(503);
    expect(stuck.body).toMatchObject({ handling: 'stuck', reason: expect.stringContaining('20 reply lanes due') });
    down = false;
    await r.h.bot.idle();
    for (const u of users) expect(sendsTo(r, u)).toEqual(expectedStream([]));
    expect((await healthz(r)).status).toBe(200);
  });
});

describe('recording a sent reply fails', () => {
  it('the write is retried, never the send: each reply reaches Meta once although the store refused to record it', async () => {
    const base = createMemoryStore();
    let refusals = 0;
    const store: BotStore = {
      ...base,
      // The first two replies Meta accepts cannot be written down at once (SQLITE_BUSY, a dropped connection).
      outboxSent: (id, sent, now, owner) => (refusals++ < 2 ? Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })) : base.outboxSent(id, sent, now, owner)),
    };
    const r = await rig({ bot: { store } });
    const users = [psid(1450), psid(1451)];
    await r.post(users.map((u) => orderStatusItem(u, stamp())));
    await r.h.bot.idle();
    expect(refusals).toBeGreaterThan(2);
    for (const u of users) expect(sendsTo(r, u)).toEqual(expectedStream([]));
    expect(await base.backlog()).toMatchObject({ outbox: 0, failed: 0 });
  });
});

describe('/healthz while handling is stuck', () => {
  it('503 with handling "stuck" and the reason while notifications wait and nothing moves; ok again by itself once handling resumes', async () => {
    const base = createMemoryStore();
    let broken = true;
    const store: BotStore = {
      ...base,
      expandNotifications: (maxEvents, expand, now) => (broken ? Promise.reject(new Error('SQLITE_CORRUPT: database disk image is malformed')) : base.expandNotifications(maxEvents, expand, now)),
    };
    const r = await rig({ bot: { store, stuckAfterMs: 400, inboxRetry: FAST_RETRY } });
    await r.post(orderStatusItem(A, stamp()));
    expect((await healthz(r)).status).toBe(200);
    await waitFor(async () => (await healthz(r)).status === 503, 3000, () => 'never reported stuck');
    const res = await healthz(r);
    expect(res.body).toEqual({
      status: 'degraded',
      store: 'ok',
      token: 'ok',
      handling: 'stuck',
      reason: expect.stringMatching(/^handling is stuck: nothing handled or sent for \d+ s while work waits \(1 notifications, 0 events, 0 reply lanes due\)$/),
      backlog: { received: 1, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 },
      ...healthOfInstance('memory'),
    });
    expect(JSON.stringify(res.body)).not.toContain('SQLITE_CORRUPT');
    broken = false;
    await waitFor(async () => (await healthz(r)).status === 200, 3000, () => 'never recovered');
    // Work is moving again: the lanes it holds at this moment vary.
    expect((await healthz(r)).body).toEqual({ status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: expect.any(Object), ...healthOfInstance('memory', { inbox: expect.any(Number), outbox: expect.any(Number) }) });
    await r.h.bot.idle();
    expect(sendsTo(r, A)).toEqual(expectedStream([]));
  });

  it('stays ok while replies wait for their retry time (Graph down), and when work arrives after a quiet spell', async () => {
    const r = await rig({ bot: { stuckAfterMs: 300, retry: { baseMs: 5000, maxMs: 5000, maxAttempts: 5, random: () => 0.5 } } });
    await sleep(400); // quiet for longer than the stuck bound
    r.mock.setFault((call) => (call.method === 'POST' ? { kind: 'status', status: 503 } : undefined));
    await r.post(orderStatusItem(A, stamp()));
    expect((await healthz(r)).status).toBe(200);
    await waitFor(async () => ((await r.h.bot.store.backlog()).outbox === 1), 3000);
    await sleep(600);
    const res = await healthz(r);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ handling: 'ok', backlog: { outbox: 1 } });
  });
});
