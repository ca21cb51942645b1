// /metrics scraped while a known load of signed notifications is posted to the app as `npm start`
// runs it (a child process, SQLite file, worker thread, mock Graph API, the watchdog on): every
// scrape answers, no counter goes backwards, and once the load is handled the counts are exact.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import request from 'supertest';
import { orderStatusItem, pageNotification, psid, tempDir, waitFor } from './reliability/helpers.ts';
import { startMockGraph, type MockGraph } from './support/mock-graph-server.ts';
import { parseScrape, type Scrape } from './support/prometheus.ts';
import { spawnApp, type SpawnedApp } from './support/spawn-app.ts';
import { toMetaJson } from '../services/signature.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const NOTIFICATIONS = 100;
const EVENTS_PER_NOTIFICATION = 4;
const REDELIVERED = 10;

let mock: MockGraph;
let app: SpawnedApp;
let dir: { path: string; remove: () => void };

beforeAll(async () => {
  mock = await startMockGraph();
  dir = tempDir('metrics-load');
  app = await spawnApp({ graphUrl: mock.url, databasePath: join(dir.path, 'bot.db'), cwd: dir.path, env: { METRICS_TOKEN: TOKEN, SEND_RATE_LIMIT: '300' } });
}, 30_000);

afterAll(async () => {
  await app.kill('SIGTERM');
  await mock.close();
  dir.remove();
});

async function scrape(): Promise<Scrape> {
  const res = await request(app.url).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  return parseScrape(res.text);
}

const total = (m: Scrape, name: string, labels: Record<string, string> = {}) => m.all(name, labels).reduce((sum, s) => sum + s.value, 0);
const COUNTERS = ['bot_webhook_requests_total', 'bot_events_total', 'bot_events_duplicate_total', 'bot_send_requests_total', 'bot_reply_latency_seconds_count', 'bot_event_handling_seconds_count'];

describe('GET /metrics under load (spawned app, worker thread)', () => {
  it('answers every scrape during the load, counters only rise, and the final counts are exact', async () => {
    expect((await request(app.url).get('/metrics')).status).toBe(401);
    const t0 = Date.now() - 60_000;
    const bodies = Array.from({ length: NOTIFICATIONS }, (_, n) =>
      toMetaJson(pageNotification(Array.from({ length: EVENTS_PER_NOTIFICATION }, (_, e) => orderStatusItem(psid(2000 + n * EVENTS_PER_NOTIFICATION + e), t0 + n)))),
    );
    const scrapes: Scrape[] = [];
    let posting = true;
    const scraper = (async () => {
      while (posting) {
        scrapes.push(await scrape());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    // Eight connections posting side by side, then the redeliveries.
    const queue = [...bodies, ...bodies.slice(0, REDELIVERED)];
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let raw = queue.shift(); raw !== undefined; raw = queue.shift()) statuses.push(await app.postRaw(raw));
    }));
    const events = NOTIFICATIONS * EVENTS_PER_NOTIFICATION;
    // One reply per event.
    await waitFor(() => mock.sends().length >= events, 60_000, () => `sends: ${mock.sends().length}`);
    await waitFor(async () => total(await scrape(), 'bot_reply_latency_seconds_count') >= events, 10_000);
    posting = false;
    await scraper;

    expect(statuses.filter((s) => s === 200)).toHaveLength(NOTIFICATIONS + REDELIVERED);
    expect(scrapes.length).toBeGreaterThan(3);
    for (const [a, b] of scrapes.slice(1).map((s, i) => [scrapes[i] as Scrape, s] as const)) {
      for (const name of COUNTERS) expect(total(b, name)).toBeGreaterThanOrEqual(total(a, name));
    }

    const m = await scrape();
    expect(m.value('bot_webhook_requests_total', { status: '200' })).toBe(NOTIFICATIONS + REDELIVERED);
    expect(m.value('bot_webhook_duration_seconds_count')).toBe(NOTIFICATIONS + REDELIVERED);
    expect(m.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(events);
    expect(m.value('bot_event_handling_seconds_count')).toBe(events);
    expect(m.value('bot_events_duplicate_total')).toBe(REDELIVERED * EVENTS_PER_NOTIFICATION);
    expect(mock.sends()).toHaveLength(events);
    expect(m.value('bot_send_requests_total', { outcome: 'sent', code: 'none' })).toBe(events);
    expect(m.value('bot_reply_latency_seconds_count')).toBe(events);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '+Inf' })).toBe(events);
    for (const queueName of ['received', 'inbox', 'outbox', 'failed']) expect(m.value('bot_backlog', { queue: queueName })).toBe(0);
    expect(m.value('bot_worker_restarts_total')).toBe(0);
    // The watchdog found no subscription at the mock Graph API (it has none to show).
    await waitFor(async () => (await scrape()).all('bot_subscription_ok', { account: '1234567890' })[0]?.value === 0, 10_000);
  }, 90_000);
});
