// The Send API rate limit: a token bucket with an injected clock. Over a long run it holds its
// rate, never lets more than a burst through at one instant, serves waiters first come first
// served; end to end, the outbox stays under SEND_RATE_LIMIT against the mock Graph server.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createRateLimiter, type Timers } from '../../services/outbox/rate-limiter.ts';
import { expectedStream, orderStatusItem, psid, streamsByUser, textItem } from './helpers.ts';
import { createRig, stamp, type Rig } from './in-process.ts';

/** A clock that only moves when someone sleeps: sleeping advances it by exactly that long. */
function manualClock(): Timers & { advance(ms: number): void } {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
    advance(ms) {
      t += ms;
    },
  };
}

/** Starts `n` acquires at once; resolves with the clock time each one was granted, in grant order. */
async function acquireAll(n: number, perSecond: number, clock: Timers, limiter = createRateLimiter(perSecond, clock)) {
  const grants: { id: number; at: number }[] = [];
  await Promise.all(Array.from({ length: n }, (_, id) => limiter.acquire().then(() => grants.push({ id, at: clock.now() }))));
  return grants;
}

/** The most grants in any window [t, t + windowMs). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while ((sorted[j] as number) < (sorted[i] as number) - windowMs + 1e-9) j += 1;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

describe('createRateLimiter (fake clock)', () => {
  it('holds 100 calls/s over 1000 calls: at least 9.9 s, never more than the burst at one instant, first come first served', async () => {
    const clock = manualClock();
    const grants = await acquireAll(1000, 100, clock);
    const last = grants[grants.length - 1]?.at ?? 0;
    // The bucket starts with a burst of 10; the other 990 calls come at 100/s.
    expect(last).toBeGreaterThanOrEqual(9900);
    expect(last).toBeLessThanOrEqual(10_000);
    const perInstant = new Map<number, number>();
    for (const g of grants) perInstant.set(g.at, (perInstant.get(g.at) ?? 0) + 1);
    expect(Math.max(...perInstant.values())).toBeLessThanOrEqual(10);
    expect(grants.map((g) => g.id)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(maxInWindow(grants.map((g) => g.at), 1000)).toBeLessThanOrEqual(100);
  });

  it('refills only up to the burst while idle, and waiters that arrive later queue behind earlier ones', async () => {
    const clock = manualClock();
    const limiter = createRateLimiter(50, clock);
    await acquireAll(20, 50, clock, limiter);
    clock.advance(60_000);
    const start = clock.now();
    const order: string[] = [];
    const first = Array.from({ length: 10 }, (_, i) => limiter.acquire().then(() => order.push(`a${i}`)));
    await Promise.resolve();
    const second = Array.from({ length: 10 }, (_, i) => limiter.acquire().then(() => order.push(`b${i}`)));
    await Promise.all([...first, ...second]);
    expect(order).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)]);
    // A minute of idling bought 5 tokens (the burst), not 3000: the other 15 took 300 ms.
    expect(clock.now() - start).toBe(300);
  });

  // Meta counts calls per second: the window cap holds even right after the initial burst.
  it('never grants more than perSecond calls within any 1-second window', async () => {
    const clock = manualClock();
    const grants = await acquireAll(1000, 100, clock);
    expect(maxInWindow(grants.map((g) => g.at), 1000)).toBeLessThanOrEqual(100);
  });
});

describe('SEND_RATE_LIMIT end to end', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('the outbox keeps to SEND_RATE_LIMIT=20 in every 1-second window over 100 sends', async () => {
    rig = await createRig({ env: { SEND_RATE_LIMIT: '20' } });
    const users = Array.from({ length: 10 }, (_, i) => psid(800 + i));
    const started = performance.now();
    await rig.post(users.flatMap((u) => [orderStatusItem(u, stamp()), ...[1, 2, 3, 4].map((n) => textItem(u, `r${n}`, stamp()))]));
    await rig.h.bot.idle();
    const elapsed = performance.now() - started;
    const sends = rig.mock.sends();
    // When the bot put each send on the wire, and when the mock Graph server received it.
    const issued = maxInWindow(rig.issued.filter((r) => r.url === 'me/messages').map((r) => r.at), 1000);
    const received = maxInWindow(sends.map((c) => c.at), 1000);
    process.stdout.write(`SEND_RATE_LIMIT=20: ${sends.length} sends in ${Math.round(elapsed)} ms; at most ${issued} issued and ${received} received in any 1-second window\n`);

    expect(sends).toHaveLength(100);
    const streams = streamsByUser(sends);
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream(['r1', 'r2', 'r3', 'r4']));
    // Measured where the request leaves, a few ms after the grant, so one send of slack.
    expect(issued).toBeLessThanOrEqual(21);
    // Arrival adds transit jitter (the first sends also open connections): a little slack.
    expect(received).toBeLessThanOrEqual(30);
    // 2 at once, then 98 at 20/s.
    expect(elapsed).toBeGreaterThanOrEqual(4800);
  }, 15_000);
});
