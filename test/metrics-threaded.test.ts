// GET /metrics with a SQLite file, as `npm start` runs it: the webhook thread serves the scrape and
// the events are handled and sent on the worker thread, whose counts must be in it, exactly. Real
// server (app.ts start()), real worker, real HTTP to the mock Graph server.
import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createApp, start, type RunningApp } from '../app.ts';
import { loadConfig } from '../services/config.ts';
import { createLogger } from '../services/logger.ts';
import { createThreadMetrics } from '../services/metrics/registry.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { createThreadedBot } from '../services/worker/threaded-bot.ts';
import { orderStatusItem, pageNotification, psid, tempDir, waitFor } from './reliability/helpers.ts';
import { TEST_ENV, postSigned } from './support/harness.ts';
import { startMockGraph, type MockGraph } from './support/mock-graph-server.ts';
import { parseScrape, type Scrape } from './support/prometheus.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
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
  const dir = tempDir('metrics');
  cleanups.push(dir.remove);
  return `sqlite:${join(dir.path, 'bot.db')}`;
}

function envFor(mock: MockGraph, url: string): Record<string, string> {
  // The worker logs to this process's stdout: keep it quiet.
  return { ...TEST_ENV, LOG_LEVEL: 'silent', GRAPH_API_URL: mock.url, DATABASE_URL: url, METRICS_TOKEN: TOKEN, WATCHDOG_INTERVAL: 'off', PORT: '0' };
}

async function scrape(target: Parameters<typeof request>[0]): Promise<Scrape> {
  const res = await request(target).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  return parseScrape(res.text);
}

const faultyWorker = (mode: string): URL => {
  const url = new URL('./support/faulty-worker.ts', import.meta.url);
  url.searchParams.set('mode', mode);
  return url;
};

describe('GET /metrics with the worker thread (SQLite file, app.ts start())', () => {
  it('has the exact counts of events handled and replies sent on the worker, and each thread\'s Node metrics', async () => {
    const mock = await mockGraph();
    const running: RunningApp = await start(loadConfig(envFor(mock, databaseUrl())), createLogger({ level: 'silent' }));
    cleanups.unshift(() => running.close(2000));
    const t0 = Date.now() - 10_000;
    // 20 users over 10 notifications of two events each, one notification delivered twice.
    const bodies = Array.from({ length: 10 }, (_, n) => toMetaJson(pageNotification([orderStatusItem(psid(1000 + 2 * n), t0 + n), orderStatusItem(psid(1001 + 2 * n), t0 + n)])));
    const post = (raw: string) =>
      request(running.server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(TEST_ENV.APP_SECRET as string, raw)).send(raw);
    for (const raw of [...bodies, bodies[3] as string]) expect((await post(raw)).status).toBe(200);
    expect((await request(running.server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', 'sha256=00').send(bodies[0] as string)).status).toBe(403);
    await running.bot.idle();
    // One reply per user.
    expect(mock.sends()).toHaveLength(20);

    const m = await scrape(running.server);
    expect(m.value('bot_webhook_requests_total', { status: '200' })).toBe(11);
    expect(m.value('bot_webhook_requests_total', { status: '403' })).toBe(1);
    expect(m.value('bot_webhook_duration_seconds_count')).toBe(12);
    expect(m.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(20);
    expect(m.value('bot_events_duplicate_total')).toBe(2);
    expect(m.value('bot_events_unreadable_total')).toBe(0);
    expect(m.value('bot_event_handling_seconds_count')).toBe(20);
    expect(m.value('bot_send_requests_total', { outcome: 'sent', code: 'none' })).toBe(20);
    expect(m.all('bot_send_requests_total')).toHaveLength(1);
    expect(m.value('bot_reply_latency_seconds_count')).toBe(20);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '+Inf' })).toBe(20);
    expect(m.value('bot_reply_latency_seconds_sum')).toBeGreaterThan(0);
    for (const queue of ['received', 'inbox', 'outbox', 'failed']) expect(m.value('bot_backlog', { queue })).toBe(0);
    expect(m.value('bot_token_valid', { account: TEST_ENV.PAGE_ID as string })).toBe(1);
    expect(m.value('bot_worker_restarts_total')).toBe(0);

    // Event-loop lag and heap per thread; the process's CPU and memory once, from the main thread.
    for (const thread of ['main', 'bot']) {
      expect(m.all('nodejs_eventloop_lag_p99_seconds', { thread })).toHaveLength(1);
      expect(m.value('nodejs_heap_size_used_bytes', { thread })).toBeGreaterThan(0);
    }
    expect(m.value('process_cpu_seconds_total', { thread: 'main' })).toBeGreaterThan(0);
    expect(m.all('process_cpu_seconds_total')).toHaveLength(1);
    expect(m.samples.filter((s) => s.name.startsWith('process_') && s.labels.thread === 'bot')).toEqual([]);
  });

  it('serves a scrape while the worker restarts, counts the restart, and then the new worker\'s events', async () => {
    const mock = await mockGraph();
    const dir = tempDir('metrics-faulty');
    cleanups.push(dir.remove);
    const marker = join(dir.path, 'died');
    const config = loadConfig(envFor(mock, databaseUrl()));
    const log = createLogger({ level: 'silent' });
    const metrics = createThreadMetrics({ thread: 'main', processMetrics: true });
    const bot = createThreadedBot(config, { log, metrics, workerEntry: faultyWorker(`die-once:${marker}`) });
    cleanups.unshift(() => bot.close(1000));
    const app = createApp({ config, log, bot, metrics });
    const A = psid(1101);
    expect((await postSigned(app, pageNotification([orderStatusItem(A, Date.now() - 1000)]))).status).toBe(200);
    await waitFor(() => existsSync(marker), 5000, () => 'the first worker did not die');

    // The worker is gone (it restarts a second later): the scrape still answers, with what is known.
    await waitFor(async () => (await scrape(app)).value('bot_worker_restarts_total') === 1, 5000, () => 'no restart counted');
    const during = await scrape(app);
    expect(during.value('bot_webhook_requests_total', { status: '200' })).toBe(1);

    await waitFor(() => mock.sends().length >= 1, 10_000, () => `sends: ${mock.sends().length}`);
    await bot.idle();
    const after = await scrape(app);
    expect(after.value('bot_worker_restarts_total')).toBe(1);
    expect(after.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(1);
    expect(after.value('bot_send_requests_total', { outcome: 'sent', code: 'none' })).toBe(1);
  });

  it('answers a scrape within seconds when the worker does not answer, from the webhook thread alone', async () => {
    const mock = await mockGraph();
    const config = loadConfig(envFor(mock, databaseUrl()));
    const log = createLogger({ level: 'silent' });
    const bot = createThreadedBot(config, { log, workerEntry: faultyWorker('hang') });
    cleanups.unshift(() => bot.close(200));
    const app = createApp({ config, log, bot });
    expect((await postSigned(app, pageNotification([orderStatusItem(psid(1201), Date.now() - 1000)]))).status).toBe(200);
    const started = Date.now();
    const m = await scrape(app);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(m.value('bot_webhook_requests_total', { status: '200' })).toBe(1);
    expect(m.value('bot_backlog', { queue: 'received' })).toBe(1);
    expect(m.all('bot_events_total')).toEqual([]);
  });
});
