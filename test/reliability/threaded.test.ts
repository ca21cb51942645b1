// The bot as `npm start` runs it with a SQLite file: the webhook on this thread stores bodies on
// its own connection, a worker thread expands, handles and sends (services/worker/). Real worker,
// real database, real HTTP to the mock Graph server.
import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import request from 'supertest';
import { createApp, type App } from '../../app.ts';
import type { Bot } from '../../services/bot.ts';
import { loadConfig, type Config } from '../../services/config.ts';
import type { BotFailure } from '../../services/failure-hook.ts';
import type { ObservedGraphCall } from '../../services/graph/client.ts';
import Database from 'better-sqlite3';
import { createLogger } from '../../services/logger.ts';
import { WORKER_LIMITS, createThreadedBot, type ThreadedBotOptions } from '../../services/worker/threaded-bot.ts';
import { TEST_ENV, postSigned } from '../support/harness.ts';
import { messageText, startMockGraph, type MockGraph } from '../support/mock-graph-server.ts';
import { APOLOGY_EN, ASK_ORDER, PAGE, collapseRepeats, expectedStream, messengerUser, orderStatusItem, pageNotification, psid, streamsByUser, tempDir, textItem, waitFor, withDeepValue } from './helpers.ts';
import { healthOfInstance } from './health-shape.ts';
import { stamp } from './in-process.ts';

interface Threaded {
  app: App;
  bot: Bot;
  config: Readonly<Config>;
}

const faultyWorker = (mode: string): URL => {
  const url = new URL('../support/faulty-worker.ts', import.meta.url);
  url.searchParams.set('mode', mode);
  return url;
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function mockGraph(): Promise<MockGraph> {
  const mock = await startMockGraph();
  cleanups.push(() => mock.close());
  return mock;
}

function databaseUrl(): string {
  const dir = tempDir('threaded');
  cleanups.push(dir.remove);
  return `sqlite:${join(dir.path, 'bot.db')}`;
}

/** A threaded bot and the app in front of it; closed after the test (before the mock and the files). */
function threaded(mock: MockGraph, url: string, options: Omit<ThreadedBotOptions, 'log'> = {}): Threaded {
  // The worker logs to this process's stdout, not to a test's logger: keep it quiet.
  const config = loadConfig({ ...TEST_ENV, LOG_LEVEL: 'silent', GRAPH_API_URL: mock.url, DATABASE_URL: url });
  const log = createLogger({ level: 'error' });
  const bot = createThreadedBot(config, { log, ...options });
  cleanups.unshift(() => bot.close(1000));
  return { app: createApp({ config, log, bot }), bot, config };
}

const post = async (t: Threaded, items: Parameters<typeof pageNotification>[0]) => {
  const res = await postSigned(t.app, pageNotification(items));
  expect(res.status).toBe(200);
};

describe('handling on a worker thread (SQLite file)', () => {
  it('answers every user in order, a redelivery once, and drains the backlog', async () => {
    const mock = await mockGraph();
    const t = threaded(mock, databaseUrl());
    await t.bot.recover();
    const users = [1, 2, 3, 4, 5].map((i) => psid(700 + i));
    await post(t, users.map((u) => orderStatusItem(u, stamp())));
    const later = users.flatMap((u) => [textItem(u, `${u}-1`, stamp()), textItem(u, `${u}-2`, stamp())]);
    await post(t, later);
    await post(t, later); // Meta redelivers the same notification
    await t.bot.idle();

    const streams = streamsByUser(mock.sends());
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream([`${u}-1`, `${u}-2`]));
    expect(await t.bot.store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    const health = await request(t.app).get('/healthz');
    expect(health.body).toEqual({ status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: { received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 }, ...healthOfInstance('sqlite') });
  });

  it('reports the worker’s view of the Page token: 503 "invalid" after Graph answers 190', async () => {
    const mock = await mockGraph();
    mock.setFault(() => ({ kind: 'graph', code: 190, status: 401 }));
    const t = threaded(mock, databaseUrl());
    await post(t, [orderStatusItem(psid(711), stamp())]);
    await waitFor(async () => (await request(t.app).get('/healthz')).status === 503, 5000);
    const res = await request(t.app).get('/healthz');
    expect(res.body).toMatchObject({ status: 'degraded', store: 'ok', token: 'invalid', handling: 'ok' });
    // The one reply, kept for when the token works again.
    expect(res.body).toMatchObject({ backlog: { outbox: 1 } });
  });

  it('tells the observer (the live dashboard) about each Graph call the worker makes', async () => {
    const mock = await mockGraph();
    const observed: ObservedGraphCall[] = [];
    const t = threaded(mock, databaseUrl(), { observeGraph: (call) => observed.push(call) });
    await post(t, [orderStatusItem(psid(721), stamp())]);
    await t.bot.idle();
    const sends = observed.filter((c) => c.method === 'POST' && c.path === 'me/messages');
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ status: 200, body: { recipient: { id: psid(721) }, messaging_type: 'RESPONSE' } });
    expect(JSON.stringify(observed)).not.toContain(TEST_ENV.PAGE_ACCESS_TOKEN);
  });

  it('a notification stored when the bot stops is handled by the next start, exactly once', async () => {
    const mock = await mockGraph();
    const url = databaseUrl();
    const A = psid(731);
    const first = threaded(mock, url);
    // Stop sending: every reply waits on a very slow Graph API, so the stop leaves work behind.
    mock.setLatency(60_000);
    await post(first, [orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp())]);
    await waitFor(() => mock.calls.length > 0, 5000);
    await first.bot.close(200);
    mock.setLatency(0);

    const second = threaded(mock, url);
    await second.bot.recover();
    await second.bot.idle();
    const replies = streamsByUser(mock.sends()).get(A) ?? [];
    // The call in flight at the stop may have reached Graph (then it is sent again: a repeat of the
    // send just before); everything else is sent exactly once.
    const { collapsed, repeats } = collapseRepeats(replies);
    expect(collapsed).toEqual(expectedStream(['a-1']));
    expect(repeats).toBeLessThanOrEqual(1);
    expect(await second.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0, outbox: 0 });
  });

  it('restarts a worker that dies; the notification it was given is answered once', async () => {
    const mock = await mockGraph();
    const url = databaseUrl();
    const dir = tempDir('faulty-worker');
    cleanups.push(dir.remove);
    const marker = join(dir.path, 'died');
    const t = threaded(mock, url, { workerEntry: faultyWorker(`die-once:${marker}`) });
    const A = psid(741);
    await post(t, [orderStatusItem(A, stamp()), textItem(A, 'a-1', stamp())]);
    await waitFor(() => existsSync(marker), 5000, () => 'the first worker did not die');
    await waitFor(() => (streamsByUser(mock.sends()).get(A) ?? []).length >= expectedStream(['a-1']).length, 10_000, () => `sends: ${mock.sends().length}`);
    await t.bot.idle();
    expect(streamsByUser(mock.sends()).get(A)).toEqual(expectedStream(['a-1']));
    expect((await request(t.app).get('/healthz')).body).toMatchObject({ status: 'ok', handling: 'ok' });
  });

  it('reports a worker that stops answering: /healthz 503 with handling "stalled", and the stop is still bounded', async () => {
    const mock = await mockGraph();
    const config = loadConfig({ ...TEST_ENV, LOG_LEVEL: 'silent', GRAPH_API_URL: mock.url, DATABASE_URL: databaseUrl() });
    const bot = createThreadedBot(config, { log: createLogger({ level: 'silent' }), workerEntry: faultyWorker('hang') });
    const app = createApp({ config, log: createLogger({ level: 'silent' }), bot });
    // Stored and acknowledged all the same: the webhook does not depend on the worker.
    await post({ app, bot, config }, [orderStatusItem(psid(751), stamp())]);
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', store: 'ok', handling: 'stalled', backlog: { received: 1 } });
    const started = Date.now();
    await bot.close(200);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a signed body that nests 100,000 arrays deep is set aside by the worker; the next message is answered, and a restart does not meet it again', async () => {
    const mock = await mockGraph();
    const url = databaseUrl();
    const A = psid(761);
    const first = threaded(mock, url);
    await post(first, [orderStatusItem(A, stamp())]);
    const deep = { sender: { id: A }, recipient: { id: PAGE }, timestamp: stamp(), message: { mid: 'm_deep_761', text: 'hi', extra: '__DEEP__' } };
    expect((await postSigned(first.app, withDeepValue(pageNotification([deep as never])))).status).toBe(200);
    await post(first, [textItem(A, 'a-1', stamp())]);
    await first.bot.idle();
    expect(streamsByUser(mock.sends()).get(A)).toEqual(expectedStream(['a-1']));
    expect((await request(first.app).get('/healthz')).body).toMatchObject({ status: 'ok', backlog: { received: 0, inbox: 0, unreadable: 1, failed_events: 0 } });
    await first.bot.close(1000);

    const second = threaded(mock, url);
    await second.bot.recover();
    await post(second, [textItem(A, 'a-2', stamp())]);
    await second.bot.idle();
    expect(streamsByUser(mock.sends()).get(A)).toEqual(expectedStream(['a-1', 'a-2']));
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    cleanups.unshift(() => db.close());
    expect(db.prepare('SELECT count(*) AS n FROM unreadable_notifications').get()).toEqual({ n: 1 });
  });

  it('an event that kills the worker each time it is handled is set aside after a bounded number of restarts; the rest is answered', async () => {
    const mock = await mockGraph();
    const A = psid(771);
    const B = psid(772);
    const t = threaded(mock, databaseUrl(), { workerEntry: faultyWorker('die-on:die'), inboxRetry: { baseMs: 20, maxMs: 200, maxAttempts: 3 } });
    await post(t, [orderStatusItem(B, stamp()), textItem(A, 'die', stamp())]);
    // The try in the run that received it, then three counted tries, each ending the thread.
    await waitFor(async () => (await t.bot.store.backlog()).failed_events === 1, 20_000, () => 'the event was not set aside');
    await post(t, [orderStatusItem(A, stamp())]);
    await t.bot.idle();
    // A send in flight when the thread died may have gone out twice.
    const streams = streamsByUser(mock.sends());
    expect(collapseRepeats(streams.get(A) ?? []).collapsed).toEqual(expectedStream([]));
    expect(collapseRepeats(streams.get(B) ?? []).collapsed).toEqual(expectedStream([]));
    expect((await request(t.app).get('/healthz')).body).toMatchObject({ status: 'ok', handling: 'ok', backlog: { inbox: 0, outbox: 0, failed_events: 1 } });
  }, 30_000);

  it('/healthz is 503 with handling "stuck" while notifications wait and the worker reports no progress', async () => {
    const mock = await mockGraph();
    const t = threaded(mock, databaseUrl(), { workerEntry: faultyWorker('no-progress'), stuckAfterMs: 300 });
    await post(t, [orderStatusItem(psid(781), stamp())]);
    await waitFor(async () => (await request(t.app).get('/healthz')).status === 503, 3000);
    const res = await request(t.app).get('/healthz');
    expect(res.body).toMatchObject({ status: 'degraded', store: 'ok', token: 'ok', handling: 'stuck', backlog: { received: 1 } });
    expect(res.body).toMatchObject({ reason: expect.stringMatching(/^handling is stuck: nothing handled or sent for \d+ s while work waits \(1 notifications, 0 events, 0 reply lanes due\)$/) });
  });

  it("passes the worker's send failures to the onError hook on this thread, the GraphApiError rebuilt with its fields", async () => {
    const mock = await mockGraph();
    mock.setFault((call) => (messageText(call) === ASK_ORDER ? { kind: 'graph', code: 100 } : undefined));
    const failures: BotFailure[] = [];
    const t = threaded(mock, databaseUrl(), { onError: (failure) => failures.push(failure) });
    const A = psid(731);
    await post(t, [orderStatusItem(A, stamp())]);
    // The worker posts the failure before it answers idle: the port keeps the order.
    await t.bot.idle();
    expect(failures).toEqual([{ stage: 'sending', error: expect.any(Error), action: { type: 'message', account: PAGE, user: messengerUser(A) } }]);
    expect(failures[0]?.error).toMatchObject({ name: 'GraphApiError', code: 100, status: 400, endpoint: 'POST /v24.0/me/messages', stack: expect.stringMatching(/services\/graph\/client\.ts:\d+/) });
    expect(streamsByUser(mock.sends()).get(A)).toEqual([ASK_ORDER, APOLOGY_EN]);
  });

  it('bounds the worker thread’s heap (WORKER_LIMITS), far below V8’s default for this machine', async () => {
    const mock = await mockGraph();
    const dir = tempDir('heap-limit');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'limit');
    const t = threaded(mock, databaseUrl(), { workerEntry: faultyWorker(`heap-limit:${file}`) });
    await t.bot.recover();
    const limitMb = Number(readFileSync(file, 'utf8')) / 1024 / 1024;
    const { maxOldGenerationSizeMb = 0, maxYoungGenerationSizeMb = 0 } = WORKER_LIMITS;
    expect(limitMb).toBeGreaterThanOrEqual(maxOldGenerationSizeMb);
    expect(limitMb).toBeLessThanOrEqual(maxOldGenerationSizeMb + 3 * maxYoungGenerationSizeMb + 16);
    expect(limitMb).toBeLessThan(getHeapStatistics().heap_size_limit / 1024 / 1024);
  });

  it('a runaway event (handling allocates without end) ends only the worker: it is restarted, the event set aside, the rest answered', async () => {
    const mock = await mockGraph();
    const A = psid(791);
    const t = threaded(mock, databaseUrl(), {
      workerEntry: faultyWorker('leak-on:hoard'),
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
      inboxRetry: { baseMs: 20, maxMs: 200, maxAttempts: 2 },
    });
    await post(t, [textItem(A, 'hoard', stamp())]);
    await waitFor(async () => (await t.bot.store.backlog()).failed_events === 1, 30_000, () => 'the runaway event was not set aside');
    await post(t, [orderStatusItem(A, stamp())]);
    await t.bot.idle();
    expect(collapseRepeats(streamsByUser(mock.sends()).get(A) ?? []).collapsed).toEqual(expectedStream([]));
  }, 40_000);
});
