// The outbox against a real HTTP Graph stand-in: transient failures retried with backoff in
// order while other users carry on, permanent ones recorded and not retried, 190 pausing all
// sending without losing replies, and the 24-hour window enforced before anything is sent.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { backoff, type RetryPolicy } from '../../services/outbox/sender.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { messageText, recipientOf, startMockGraph, type Fault, type GraphCall } from '../support/mock-graph-server.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import { APOLOGY_EN, ASK_ORDER, EN, expectedStream, invalidOrder, label, messengerUser, orderStatusItem, PAGE, pageNotification, postbackItem, psid, tempDir, textItem, translations } from './helpers.ts';
import { healthOfInstance } from './health-shape.ts';
import { stamp, useRigs } from './in-process.ts';

const A = psid(101);
const B = psid(102);
/** A short Graph client timeout for the "hang" case. */
const CLIENT_TIMEOUT_MS = 1000;
const RETRY: RetryPolicy = { baseMs: 5, maxMs: 50, maxAttempts: 20, random: () => 0.5 };
const ES = translations.fixedT('es_ES');
const APOLOGY_ES = ES('apology');
const MENU_PROMPTS = [EN('menu.prompt'), ES('menu.prompt')];
/**
 * A's welcome: as a new user, without a name and in English (the profile is looked up after the
 * reply), or, known from before (a cached profile), as Ana in Spanish.
 */
const WELCOMES = [EN('welcome.anonymous'), ES('welcome.named', { name: 'Ana' })];
/** A user the bot knows from before: a fresh cached profile, Spanish. */
const knownAna = (store: BotStore) => store.putUser(messengerUser(A), { profile: { first_name: 'Ana', locale: 'es_MX', fetched_at: Date.now() } });

const { rig, cleanups } = useRigs();

const callsTo = (calls: readonly GraphCall[], user: string) => calls.filter((c) => recipientOf(c) === user);
const ok = (c: GraphCall) => c.status === 200;
const isWelcome = (c: GraphCall) => WELCOMES.includes(messageText(c) ?? '');

const TRANSIENT: [string, Fault][] = [
  ['HTTP 500', { kind: 'status', status: 500, body: 'Internal Server Error' }],
  ['HTTP 503', { kind: 'status', status: 503, body: { error: { message: 'Service Unavailable' } } }],
  ['Graph code 1 (unknown error)', { kind: 'graph', code: 1 }],
  ['Graph code 2 (service unavailable)', { kind: 'graph', code: 2 }],
  ['Graph code 4 (app rate limit)', { kind: 'graph', code: 4 }],
  ['Graph code 17 (user rate limit)', { kind: 'graph', code: 17 }],
  ['Graph code 32 (page rate limit)', { kind: 'graph', code: 32 }],
  ['Graph code 613 (rate limit)', { kind: 'graph', code: 613 }],
  ['Graph code 1200 (temporary send error)', { kind: 'graph', code: 1200 }],
  ['a network error (connection dropped)', { kind: 'drop' }],
  ['a timeout (no answer within the client timeout)', { kind: 'hang' }],
];

describe('store failures while sending', () => {
  it('a lane whose store read fails is tried again by itself; its replies go out in order', async () => {
    const base = createMemoryStore();
    let failed = 0;
    const store: BotStore = {
      ...base,
      outboxHead: (lane) => (failed++ === 0 ? Promise.reject(new Error('SQLITE_IOERR: disk I/O error')) : base.outboxHead(lane)),
    };
    const r = await rig({ bot: { store } });
    const started = Date.now();
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(450); // the lane waited the store's first pause (500 ms)
    expect(r.h.logs.some((l) => l.msg === 'the store failed while sending a lane; holding it until the store answers again')).toBe(true);
    expect(r.mock.sends().map(label)).toEqual(expectedStream([]));
    expect(await r.h.bot.store.backlog()).toMatchObject({ outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
  });
});

describe('transient failures', () => {
  it.each(TRANSIENT)('%s: retried with backoff until delivered, in order; only that recipient waits', async (_name, fault) => {
    const r = await rig({ bot: { retry: RETRY }, ...(fault.kind === 'hang' ? { clientTimeoutMs: CLIENT_TIMEOUT_MS } : {}) });
    // A's first reply fails at least twice, and until B has everything: B must not wait for A.
    const bFinished = () => r.mock.sends().some((c) => recipientOf(c) === B && messageText(c) === invalidOrder('b-2') && ok(c));
    let failures = 0;
    r.mock.setFault((call) => {
      if (recipientOf(call) !== A || messageText(call) !== ASK_ORDER || (failures >= 2 && bFinished())) return undefined;
      failures += 1;
      return fault;
    });
    await r.post([orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp()), textItem(A, 'a-2', stamp())]);
    await r.post([orderStatusItem(B, stamp()), textItem(B, 'b-1', stamp()), textItem(B, 'b-2', stamp())]);
    await r.h.bot.idle();

    const toA = callsTo(r.mock.sends(), A);
    const asks = toA.filter((c) => messageText(c) === ASK_ORDER);
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(asks.map(ok)).toEqual([...Array<boolean>(failures).fill(false), true]);
    // Nothing else went to A while its first reply was being retried: its later replies waited.
    expect(toA.map(label)).toEqual([...Array<string>(failures).fill(ASK_ORDER), ...expectedStream(['a-1', 'a-2'])]);
    expect(toA.filter(ok).map(label)).toEqual(expectedStream(['a-1', 'a-2']));
    // Each retry came no sooner than its backoff after the failure was seen: after the error
    // answer (as the mock sent it), or for a timeout after the client gave up (from when it sent).
    const askIssued = r.issued.filter((q) => JSON.stringify(q.data ?? null).includes(ASK_ORDER) && JSON.stringify(q.data).includes(A)).map((q) => q.at);
    expect(askIssued).toHaveLength(asks.length);
    for (let i = 1; i < asks.length; i += 1) {
      const failed = asks[i - 1] as GraphCall;
      const gap = fault.kind === 'hang' ? (askIssued[i] as number) - (askIssued[i - 1] as number) - CLIENT_TIMEOUT_MS : (asks[i] as GraphCall).at - (failed.answeredAt as number);
      expect(gap).toBeGreaterThanOrEqual(backoff(RETRY, i) - 1);
    }
    // B was answered in full while A was still failing.
    const bLast = callsTo(r.mock.sends(), B).find((c) => messageText(c) === invalidOrder('b-2') && ok(c)) as GraphCall;
    expect(callsTo(r.mock.sends(), B).filter(ok).map(label)).toEqual(expectedStream(['b-1', 'b-2']));
    expect(bLast.at).toBeLessThan((asks[asks.length - 1] as GraphCall).at);
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    expect(r.h.logs.filter((l) => l.msg === 'send failed, will retry')).toHaveLength(failures);
  });

  it('backoff is exponential with jitter between half and all of the ceiling, capped at maxMs', () => {
    const policy = (random: number): RetryPolicy => ({ baseMs: 1000, maxMs: 60_000, maxAttempts: 12, random: () => random });
    expect([1, 2, 3, 4].map((n) => backoff(policy(0), n))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoff(policy(0.999999), n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoff(policy(0.5), 20)).toBe(45_000);
    expect(backoff(policy(0.999999), 20)).toBe(60_000);
  });

  it('retries exhausted: given up after maxAttempts, recorded as failed, and the user’s next event is still answered', async () => {
    const r = await rig({ bot: { retry: { ...RETRY, maxAttempts: 5 } } });
    r.mock.setFault((call) => (messageText(call) === ASK_ORDER ? { kind: 'status', status: 502 } : undefined));
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();
    const failedBefore = (await r.h.bot.store.backlog()).failed;
    expect(failedBefore).toBe(1);
    r.mock.setFault(undefined);
    await r.post(textItem(A, 'a-1', stamp()));
    await r.h.bot.idle();

    expect(callsTo(r.mock.sends(), A).map(label)).toEqual([...Array<string>(5).fill(ASK_ORDER), invalidOrder('a-1')]);
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: failedBefore, unreadable: 0, failed_events: 0 });
    expect(r.h.logs.filter((l) => l.msg === 'send given up after retries')).toHaveLength(1);
  });
});

describe('permanent failures', () => {
  it.each([100, 200, 230])('Graph code %i: not retried; the apology in the user’s language takes its place; the rest of that event is dropped', async (code) => {
    const r = await rig({ bot: { retry: RETRY } });
    await knownAna(r.h.bot.store);
    r.mock.setFault((call) => (isWelcome(call) ? { kind: 'graph', code } : undefined));
    await r.post(postbackItem(A, 'GET_STARTED', stamp()));
    await r.h.bot.idle();
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();

    const toA = callsTo(r.mock.sends(), A);
    expect(toA.filter(isWelcome)).toHaveLength(1);
    expect(toA.map(label)).toEqual([ES('welcome.named', { name: 'Ana' }), APOLOGY_ES, expect.any(String)]);
    expect(toA.some((c) => MENU_PROMPTS.includes(messageText(c) ?? ''))).toBe(false);
    // The failed welcome and the dropped menu are recorded.
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 2, unreadable: 0, failed_events: 0 });
    expect(r.h.logs.filter((l) => l.msg === 'send failed, will retry')).toEqual([]);
  });

  it.each([
    ['551 (person unavailable)', 551, undefined],
    ['10/2018278 (outside the allowed window)', 10, 2018278],
  ])('Graph %s: not retried, no apology, the rest of that event dropped, the next event answered', async (_name, code, subcode) => {
    const r = await rig({ bot: { retry: RETRY } });
    r.mock.setFault((call) => (isWelcome(call) ? { kind: 'graph', code, ...(subcode === undefined ? {} : { subcode }) } : undefined));
    await r.post(postbackItem(A, 'GET_STARTED', stamp()));
    await r.h.bot.idle();
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();

    expect(callsTo(r.mock.sends(), A).map(label)).toEqual([WELCOMES[0], ASK_ORDER]);
    expect(r.mock.sends().some((c) => messageText(c) === APOLOGY_EN)).toBe(false);
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 2, unreadable: 0, failed_events: 0 });
    expect(r.h.logs.find((l) => l.msg === 'send failed permanently, not retried')).toMatchObject({ failure: 'recipient', apologise: false });
  });
});

describe('a failing typing indicator', () => {
  // Regression: 0.1.0 queued a typing indicator as the first row of each answer, and
  // an outbox may still hold some after an upgrade; its failure must not drop the replies behind it.
  it('a permanent error on a queued typing_on does not cost the user the reply', async () => {
    const r = await rig({ bot: { retry: RETRY } });
    r.mock.setFault((call) => (label(call) === 'typing_on' ? { kind: 'graph', code: 100 } : undefined));
    const store = r.h.bot.store;
    const lane = messengerUser(A);
    const [event] = normalizeNotification(pageNotification([orderStatusItem(A, stamp())])).events;
    const [row] = await store.addToInbox([{ key: 'older-release-event', lane, timestamp: Date.now(), event: event as NonNullable<typeof event> }], Date.now());
    const older = 'an older release';
    await store.claimInboxLanes(older, 1, 60_000, Date.now());
    const recipient = { id: A };
    const actions = [
      { type: 'sender_action' as const, recipient, sender_action: 'typing_on' as const, account: PAGE },
      { type: 'message' as const, recipient, message: { text: ASK_ORDER }, account: PAGE },
    ];
    await store.completeEvent((row as { id: number }).id, { userKey: lane, user: {}, sentUpdates: [], statusUpdates: [], actions, apology: undefined }, Date.now(), older);
    await store.releaseClaims(older);
    await r.h.bot.recover();
    await r.h.bot.idle();
    expect(callsTo(r.mock.sends(), A).map((c) => [label(c), c.status])).toEqual([
      ['typing_on', 400],
      [ASK_ORDER, 200],
    ]);
  });
});

describe('invalid Page token (190)', () => {
  it('pauses all sending, reports /healthz 503 token invalid, keeps the replies, and delivers them after a restart with a working token', async () => {
    const dir = tempDir('outbox-190');
    cleanups.push(dir.remove);
    const mock = await startMockGraph();
    cleanups.push(() => mock.close());
    const env = { DATABASE_URL: `sqlite:${join(dir.path, 'bot.db')}` };
    const first = await rig({ sharedMock: mock, env, bot: { retry: RETRY } });
    mock.setFault((call) => (call.method === 'POST' ? { kind: 'graph', code: 190, status: 400 } : undefined));
    await first.post(orderStatusItem(A, stamp()));
    await first.h.bot.idle();
    await first.post(orderStatusItem(B, stamp()));
    await first.h.bot.idle();
    await new Promise((resolve) => setTimeout(resolve, 200));

    // One call met the 190; nothing else was tried, for A or for B.
    expect(mock.sends().map((c) => [recipientOf(c), c.status])).toEqual([[A, 400]]);
    const health = await request(first.h.app).get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      status: 'degraded',
      store: 'ok',
      token: 'invalid',
      handling: 'ok',
      reason: expect.stringContaining('PAGE_ACCESS_TOKEN'),
      backlog: { received: 0, inbox: 0, outbox: 2, failed: 0, unreadable: 0, failed_events: 0 },
      paused_accounts: [PAGE],
      ...healthOfInstance('sqlite'),
    });
    expect(first.h.logText()).toContain('PAGE_ACCESS_TOKEN_INVALID');
    await first.close();

    // The operator replaces the token and restarts: the kept replies go out, in order.
    mock.setFault(undefined);
    const second = await rig({ sharedMock: mock, env, bot: { retry: RETRY } });
    await second.h.bot.recover();
    await second.h.bot.idle();
    expect(callsTo(mock.sends(), A).filter(ok).map(label)).toEqual(expectedStream([]));
    expect(callsTo(mock.sends(), B).filter(ok).map(label)).toEqual(expectedStream([]));
    expect(await second.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    expect((await request(second.h.app).get('/healthz')).status).toBe(200);
  });
});

describe('the 24-hour messaging window', () => {
  it('sends nothing to a user whose last message is older than 24 hours, and records the refusal', async () => {
    const r = await rig({ bot: { retry: RETRY } });
    const HOUR = 60 * 60 * 1000;
    await r.post(orderStatusItem(A, stamp(25 * HOUR)));
    await r.post(orderStatusItem(B, stamp(23 * HOUR)));
    await r.h.bot.idle();

    expect(callsTo(r.mock.sends(), A)).toEqual([]);
    expect(callsTo(r.mock.sends(), B).map(label)).toEqual(expectedStream([]));
    // A's one reply, refused and recorded.
    expect(await r.h.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 1, unreadable: 0, failed_events: 0 });
    expect(r.h.logs.filter((l) => l.msg === 'reply not sent: outside the 24-hour messaging window')).toHaveLength(1);
  });
});
