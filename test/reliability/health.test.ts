// GET /healthz: 200 while the store answers and the Page token is not known to be invalid, with
// the backlog; 503 ("degraded") when the store is closed or unreachable, or after a 190.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { messageText, recipientOf } from '../support/mock-graph-server.ts';
import { ASK_ORDER, orderStatusItem, PAGE, psid, tempDir } from './helpers.ts';
import { healthOfInstance } from './health-shape.ts';
import { stamp, useRigs, type Rig } from './in-process.ts';

const A = psid(1001);
const B = psid(1002);

const { rig, cleanups } = useRigs();

const healthz = (r: Rig) => request(r.h.app).get('/healthz');

describe('GET /healthz', () => {
  it('200 ok with the backlog: work waiting shows up, failures are counted', async () => {
    // Graph answers sends slowly, so the replies are still waiting when /healthz is asked.
    const r = await rig({ mock: { latencyMs: (call) => (call.method === 'POST' ? 600 : 0) } });
    const idle = await healthz(r);
    expect(idle.status).toBe(200);
    expect(idle.headers['cache-control']).toBe('no-store');
    expect(idle.body).toEqual({ status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: { received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 }, ...healthOfInstance('memory') });

    r.mock.setFault((call) => (messageText(call) === ASK_ORDER && recipientOf(call) === B ? { kind: 'graph', code: 551 } : undefined));
    await r.post([orderStatusItem(A, stamp()), orderStatusItem(B, stamp())]);
    const busy = await healthz(r);
    expect(busy.status).toBe(200);
    // Each user's event waits in the inbox, or its reply in the outbox, depending on how far handling got.
    expect(busy.body).toMatchObject({ status: 'ok', backlog: { received: 0, failed: 0, unreadable: 0, failed_events: 0 } });
    const waiting = (busy.body as { backlog: { inbox: number; outbox: number } }).backlog;
    expect(waiting.inbox + waiting.outbox).toBe(2);
    await r.h.bot.idle();
    expect((await healthz(r)).body).toEqual({ status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: { received: 0, inbox: 0, outbox: 0, failed: 1, unreadable: 0, failed_events: 0 }, ...healthOfInstance('memory') });
  });

  it('503 degraded when the SQLite store has been closed', async () => {
    const dir = tempDir('health-closed');
    cleanups.push(dir.remove);
    const r = await rig({ env: { DATABASE_URL: `sqlite:${join(dir.path, 'bot.db')}` } });
    expect((await healthz(r)).status).toBe(200);
    await r.h.bot.store.close();
    const res = await healthz(r);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'degraded', store: 'unreachable', token: 'ok', handling: 'ok', reason: 'the store does not answer', backlog: null, database: { kind: 'sqlite', ok: false }, instance: { owner: expect.any(String) } });
    const ready = await request(r.h.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([503, { status: 'not ready', reason: 'the store does not answer' }]);
  });

  it('503 degraded when the store does not answer', async () => {
    const base = createMemoryStore();
    let down = false;
    const store: BotStore = { ...base, backlog: () => (down ? Promise.reject(new Error('connection refused')) : base.backlog()) };
    const r = await rig({ bot: { store } });
    expect((await healthz(r)).status).toBe(200);
    down = true;
    const res = await healthz(r);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', store: 'unreachable' });
    expect(JSON.stringify(res.body)).not.toContain('connection refused');
    down = false;
    expect((await healthz(r)).status).toBe(200);
  });

  it('503 degraded with token "invalid" after Graph answers 190, while the store is fine', async () => {
    const r = await rig();
    r.mock.setFault(() => ({ kind: 'graph', code: 190, status: 401 }));
    await r.post(orderStatusItem(A, stamp()));
    await r.h.bot.idle();
    const res = await healthz(r);
    expect(res.status).toBe(503);
    // Still ready for the load balancer: webhooks are stored, the replies wait for a new token.
    const ready = await request(r.h.app).get('/readyz');
    expect([ready.status, ready.body, ready.headers['cache-control']]).toEqual([200, { status: 'ready' }, 'no-store']);
    expect(res.body).toEqual({
      status: 'degraded',
      store: 'ok',
      token: 'invalid',
      handling: 'ok',
      reason: 'Graph rejected the Page token (code 190): replace PAGE_ACCESS_TOKEN and restart',
      backlog: { received: 0, inbox: 0, outbox: 1, failed: 0, unreadable: 0, failed_events: 0 },
      paused_accounts: [PAGE],
      ...healthOfInstance('memory'),
    });
  });
});
