// Property: the real app (createApp, memory store, fake Graph) answers every correctly signed
// body, whatever it holds, with 200 or 400 (never a 5xx, never a hang); afterwards it is idle
// within seconds and still answers a normal message.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { signatureFor, toMetaJson } from '../../services/signature.ts';
import { TEST_ENV, createHarness, textFrom } from '../support/harness.ts';
import { fakeGraph } from '../support/fake-graph.ts';
import { anyBody, runs, timeoutFor } from './arbitraries.ts';

const RUNS = runs(150);

const SECRET = TEST_ENV.APP_SECRET as string;
const ANA = '24000000000000001';

/** Raw bodies: Meta-style JSON of any body, JSON text of any value, and bytes that are not JSON. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: anyBody.map((body) => toMetaJson(body)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: anyBody.map((body) => JSON.stringify(body).slice(0, -1)) },
);

/** Resolves with what `promise` gave, or rejects if it takes longer than `ms` (a hang). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('POST /webhook, for any signed body', () => {
  const h = createHarness({ LOG_LEVEL: 'error' });
  let server: Server;
  let graph: ReturnType<typeof fakeGraph>;

  beforeAll(async () => {
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await h.bot.close(2000);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers 200 or 400, never 5xx, never a hang; then is idle and still answers a normal message', async () => {
    graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(rawBody, async (raw) => {
        const res = await within(
          request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(SECRET, raw)).send(raw),
          5000,
          'the webhook answer',
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 400]).toContain(res.status);
      }),
      { numRuns: RUNS },
    );
    expect(statuses.get(200)).toBeGreaterThan(0);
    await within(h.bot.idle(), Math.max(20_000, RUNS * 5), 'handling the accepted bodies');
    const before = graph.messages(ANA).length;
    const ok = await request(server).post('/webhook').set('Content-Type', 'application/json');
    expect(ok.status).toBe(403); // unsigned: refused, as always
    const message = toMetaJson(textFrom(ANA, 'hello'));
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(SECRET, message)).send(message);
    expect(res.status).toBe(200);
    await within(h.bot.idle(), 10_000, 'answering the normal message');
    expect(graph.messages(ANA).length).toBeGreaterThan(before);
  }, timeoutFor(RUNS, 20));
});
