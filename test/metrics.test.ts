// GET /metrics on the real app (everything on one thread, memory store), the Graph API faked by
// nock: refused without the token or with a wrong one, and after a known sequence of webhooks,
// handled events and Send API results, the exact counts and histogram counts a scraper reads.
import { afterEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import request from 'supertest';
import { createMemoryStore } from '../services/state/memory-store.ts';
import type { BotStore } from '../services/state/store.ts';
import { signatureFor } from '../services/signature.ts';
import { ASK_ORDER, orderStatusItem, pageNotification, psid } from './reliability/helpers.ts';
import { PAGE_ID, TEST_ENV, createHarness, postSigned } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';
import { parseScrape, type Scrape } from './support/prometheus.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const RETRY = { baseMs: 1, maxMs: 2, maxAttempts: 3, random: () => 0 };

afterEach(() => {
  nock.cleanAll();
});

async function scrape(app: Parameters<typeof request>[0]): Promise<Scrape> {
  const res = await request(app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  return parseScrape(res.text);
}

/** A store whose expansion fails for bodies holding `marker`, as a normaliser bug would. */
function storeFailingOn(marker: string): BotStore {
  const base = createMemoryStore();
  return {
    ...base,
    expandNotifications: (max, expand, now) =>
      base.expandNotifications(max, (body, receivedAt) => {
        if (Buffer.from(body).toString('utf8').includes(marker)) throw new Error('normaliser bug');
        return expand(body, receivedAt);
      }, now),
  };
}

describe('GET /metrics access', () => {
  it('does not exist without METRICS_TOKEN', async () => {
    const h = createHarness();
    expect((await request(h.app).get('/metrics')).status).toBe(404);
    expect((await request(h.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(404);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer metrics-token-0123456789abcdeX'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token as Basic credentials', `Basic ${TOKEN}`],
    ['the token without a scheme', TOKEN],
  ])('refuses %s with 401 and shows no metric', async (_name, authorization) => {
    const h = createHarness({ METRICS_TOKEN: TOKEN });
    const req = request(h.app).get('/metrics');
    const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(res.text).not.toMatch(/bot_/);
    expect(h.logText()).not.toContain(TOKEN);
  });

  it('answers the right token with the Prometheus text format, and only GET/HEAD', async () => {
    const h = createHarness({ METRICS_TOKEN: TOKEN });
    const res = await request(h.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const metrics = parseScrape(res.text);
    expect(metrics.types.get('bot_webhook_requests_total')).toBe('counter');
    expect(metrics.types.get('bot_reply_latency_seconds')).toBe('histogram');
    expect(metrics.types.get('bot_backlog')).toBe('gauge');
    expect((await request(h.app).post('/metrics').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(405);
  });

  it('rejects a METRICS_TOKEN shorter than 16 characters at start-up', () => {
    expect(() => createHarness({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: is too short/);
  });
});

describe('GET /metrics after a known sequence (one thread)', () => {
  it('counts webhooks by status, events, duplicates, unreadable bodies, sends by outcome and code, and reply latency', async () => {
    const [A, B, C, D] = [psid(901), psid(902), psid(903), psid(904)];
    let failedOnce = false;
    const graph = fakeGraph({
      failSend: (send) => {
        if (send.recipient.id === C && 'message' in send && !failedOnce) {
          failedOnce = true;
          return { status: 500, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, fbtrace_id: 'AbC1' } } };
        }
        if (send.recipient.id === D && 'message' in send && 'text' in send.message && send.message.text === ASK_ORDER) {
          return { status: 400, body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'AbC2' } } };
        }
        return undefined;
      },
    });
    const h = createHarness({ METRICS_TOKEN: TOKEN }, { retry: RETRY, store: storeFailingOn('UNREADABLE-MARKER') });
    const t0 = Date.now() - 5000;
    const bodyB = JSON.stringify(pageNotification([orderStatusItem(B, t0 + 2)]));

    for (const body of [pageNotification([orderStatusItem(A, t0 + 1)]), bodyB, bodyB, pageNotification([orderStatusItem(C, t0 + 3)]), pageNotification([orderStatusItem(D, t0 + 4)])]) {
      expect((await postSigned(h.app, body)).status).toBe(200);
    }
    expect((await postSigned(h.app, { object: 'page', entry: [], note: 'UNREADABLE-MARKER' })).status).toBe(200);
    const bad = JSON.stringify(pageNotification([orderStatusItem(A, t0 + 5)]));
    expect((await request(h.app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor('wrong-secret', bad)).send(bad)).status).toBe(403);
    expect((await postSigned(h.app, 'not json')).status).toBe(400);
    const verify = await request(h.app).get('/webhook').query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_ENV.VERIFY_TOKEN, 'hub.challenge': 'c' });
    expect(verify.status).toBe(200);
    await h.bot.idle();

    // A, B, C, D: the answer each; C's answer once more after its 500, D's apology after its 100.
    expect(graph.sends()).toHaveLength(6);
    const m = await scrape(h.app);
    expect(m.value('bot_webhook_requests_total', { status: '200' })).toBe(7);
    expect(m.value('bot_webhook_requests_total', { status: '403' })).toBe(1);
    expect(m.value('bot_webhook_requests_total', { status: '400' })).toBe(1);
    expect(m.value('bot_webhook_duration_seconds_count')).toBe(9);
    expect(m.value('bot_webhook_duration_seconds_bucket', { le: '+Inf' })).toBe(9);

    expect(m.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(4);
    expect(m.all('bot_events_total')).toHaveLength(1);
    expect(m.value('bot_events_duplicate_total')).toBe(1);
    expect(m.value('bot_events_unreadable_total')).toBe(1);
    expect(m.value('bot_event_handling_seconds_count')).toBe(4);

    expect(m.value('bot_send_requests_total', { outcome: 'sent', code: 'none' })).toBe(4);
    expect(m.value('bot_send_requests_total', { outcome: 'retried', code: '2' })).toBe(1);
    expect(m.value('bot_send_requests_total', { outcome: 'failed', code: '100' })).toBe(1);
    expect(m.all('bot_send_requests_total')).toHaveLength(3);
    // Four answers reached users (D's as the apology).
    expect(m.value('bot_reply_latency_seconds_count')).toBe(4);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '+Inf' })).toBe(4);
    const sum = m.value('bot_reply_latency_seconds_sum');
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
    expect(m.value('bot_send_rate_limited_seconds_total')).toBeGreaterThanOrEqual(0);

    expect(m.value('bot_backlog', { queue: 'received' })).toBe(0);
    expect(m.value('bot_backlog', { queue: 'inbox' })).toBe(0);
    expect(m.value('bot_backlog', { queue: 'outbox' })).toBe(0);
    expect(m.value('bot_backlog', { queue: 'failed' })).toBe(1);
    expect(m.value('bot_token_valid', { account: PAGE_ID })).toBe(1);
    expect(m.value('bot_worker_restarts_total')).toBe(0);
    // This thread's Node metrics, labelled with it.
    expect(m.value('process_cpu_seconds_total', { thread: 'main' })).toBeGreaterThan(0);
    expect(m.value('nodejs_heap_size_used_bytes', { thread: 'main' })).toBeGreaterThan(0);
    expect(m.all('nodejs_eventloop_lag_p99_seconds', { thread: 'main' })).toHaveLength(1);

    // The scrape itself is not counted as a webhook, and a second scrape reads the same counts.
    const again = await scrape(h.app);
    expect(again.value('bot_webhook_requests_total', { status: '200' })).toBe(7);
    expect(again.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(4);
  });

  it('shows the token as invalid after Graph rejects it with code 190', async () => {
    fakeGraph({ failSend: () => ({ status: 401, body: { error: { message: 'Error validating access token', type: 'OAuthException', code: 190, fbtrace_id: 'AbC3' } } }) });
    const h = createHarness({ METRICS_TOKEN: TOKEN });
    expect((await postSigned(h.app, pageNotification([orderStatusItem(psid(905), Date.now() - 1000)]))).status).toBe(200);
    for (let i = 0; i < 100 && (await scrape(h.app)).all('bot_send_requests_total', { code: '190' }).length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    const m = await scrape(h.app);
    expect(m.value('bot_token_valid', { account: PAGE_ID })).toBe(0);
    expect(m.value('bot_send_requests_total', { outcome: 'retried', code: '190' })).toBe(1);
    await h.bot.close(100);
  });
});
