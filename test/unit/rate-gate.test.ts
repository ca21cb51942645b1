// The local rate gate on a fake clock: arrivals never exceed the limit in any 1-second window, however
// calls bunch between grant and arrival and however early done() is reported; waiters are served in
// order; accounts are independent; audio and video also keep to their own, lower limit.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Timers } from '../../services/outbox/timers.ts';
import { createRateLimiter } from '../support/grant-time-limiter.ts';
import { createLocalRateGate, IN_FLIGHT_TIMEOUT_MS, RateGateClosedError, type GateClock, type Grant, type RateGate } from '../../services/outbox/rate-gate.ts';
import { createLogger } from '../../services/logger.ts';
import { maxInWindow } from '../support/arrival-window.ts';

interface FakeClock extends GateClock, Timers {
  /** Runs every timer due up to `t` (in time order, settling promises in between), then sets the time to `t`. */
  advanceTo(t: number): Promise<void>;
  /** Runs timers until none is left (or `maxMs` of fake time passed). */
  runAll(maxMs?: number): Promise<void>;
  pendingTimers(): number;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function fakeClock(): FakeClock {
  let t = 0;
  let seq = 0;
  const timers: { at: number; seq: number; fn: () => void }[] = [];
  const setTimer = (ms: number, fn: () => void): (() => void) => {
    const entry = { at: t + Math.max(0, ms), seq: (seq += 1), fn };
    timers.push(entry);
    return () => {
      const i = timers.indexOf(entry);
      if (i >= 0) timers.splice(i, 1);
    };
  };
  const nextDue = (limit: number) => {
    let best: (typeof timers)[number] | undefined;
    for (const entry of timers) if (entry.at <= limit && (!best || entry.at < best.at || (entry.at === best.at && entry.seq < best.seq))) best = entry;
    return best;
  };
  const advanceTo = async (target: number): Promise<void> => {
    await settle();
    for (let due = nextDue(target); due; due = nextDue(target)) {
      timers.splice(timers.indexOf(due), 1);
      t = Math.max(t, due.at);
      due.fn();
      await settle();
    }
    t = Math.max(t, target);
  };
  return {
    now: () => t,
    setTimer,
    sleep: (ms) => new Promise((resolve) => setTimer(ms, resolve)),
    advanceTo,
    async runAll(maxMs = 10 * 60_000) {
      const end = t + maxMs;
      await settle();
      while (timers.length > 0 && t < end) await advanceTo(Math.min(end, Math.min(...timers.map((x) => x.at))));
    },
    pendingTimers: () => timers.length,
  };
}

interface Call {
  /** Time from grant to arrival at Graph (client work, connection, transit). */
  toArrival: number;
  /** Time from arrival to the moment the sender calls done() (Graph's latency and the way back). */
  toDone: number;
  /** done(arrivalTime) instead of done(): the earliest time a caller could honestly report. */
  reportArrival: boolean;
}

/**
 * `lanes` senders in parallel, each doing its calls one after another through `acquire`, on the
 * fake clock. Resolves with the arrival time of every call.
 */
async function simulate(clock: FakeClock, acquire: () => Promise<Grant | undefined>, lanes: Call[][]): Promise<number[]> {
  const arrivals: number[] = [];
  const runLane = async (calls: Call[]): Promise<void> => {
    for (const call of calls) {
      const grant = await acquire();
      await clock.sleep(call.toArrival);
      const arrivedAt = clock.now();
      arrivals.push(arrivedAt);
      await clock.sleep(call.toDone);
      grant?.done(call.reportArrival ? arrivedAt : undefined);
    }
  };
  const all = Promise.all(lanes.map(runLane));
  await clock.runAll();
  await all;
  return arrivals;
}

const callArb = fc.record({
  toArrival: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
  toDone: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
  reportArrival: fc.boolean(),
});

describe('local rate gate: the arrival bound', () => {
  it('no 1-second window ever holds more arrivals than the limit, whatever the delays between grant, arrival and done (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.array(fc.array(callArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 24 }), async (limit, lanes) => {
        const clock = fakeClock();
        const gate = createLocalRateGate({ limit, clock });
        const arrivals = await simulate(clock, () => gate.acquire('page'), lanes);
        expect(arrivals).toHaveLength(lanes.flat().length);
        expect(maxInWindow(arrivals)).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 150 },
    );
  });

  it('the grant-time limiter it replaces breaks the bound under the same kind of delays (why the gate exists)', async () => {
    // Early calls slow on the way out, later ones fast: granted a second apart, arriving within one.
    const lanes: Call[][] = Array.from({ length: 20 }, (_, lane) =>
      Array.from({ length: 6 }, (__, n) => ({ toArrival: n === 0 ? 150 + lane : 1, toDone: 50, reportArrival: false })),
    );
    const clock = fakeClock();
    const old = createRateLimiter(10, clock);
    const oldArrivals = await simulate(clock, () => old.acquire().then(() => undefined), lanes);
    expect(maxInWindow(oldArrivals)).toBeGreaterThan(10);

    const clock2 = fakeClock();
    const gate = createLocalRateGate({ limit: 10, clock: clock2 });
    const arrivals = await simulate(clock2, () => gate.acquire('page'), lanes);
    expect(maxInWindow(arrivals)).toBeLessThanOrEqual(10);
  });

  it('reaches limit / (1 + latency): 100/s at 0 ms, ~83/s at 200 ms', async () => {
    for (const [latency, expected] of [
      [0, 100],
      [200, 100 / 1.2],
    ] as const) {
      const clock = fakeClock();
      const gate = createLocalRateGate({ limit: 100, clock });
      const lanes: Call[][] = Array.from({ length: 64 }, () => Array.from({ length: 20 }, () => ({ toArrival: 0, toDone: latency, reportArrival: false })));
      const arrivals = await simulate(clock, () => gate.acquire('page'), lanes);
      arrivals.sort((a, b) => a - b);
      // The rate between the 200th and the 1200th arrival: past the start, before the tail.
      const rate = (1000 * 1000) / ((arrivals[1200] as number) - (arrivals[200] as number));
      expect(rate).toBeGreaterThan(expected * 0.97);
      expect(rate).toBeLessThanOrEqual(expected * 1.03);
      expect(maxInWindow(arrivals)).toBeLessThanOrEqual(100);
    }
  });

  it('smooths an idle start: a tenth of the limit at once, then a tenth per 100 ms', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 100, clock });
    const grantedAt: number[] = [];
    const all = Promise.all(Array.from({ length: 100 }, () => gate.acquire('page').then(() => grantedAt.push(clock.now()))));
    await clock.runAll();
    await all;
    expect(grantedAt.filter((t) => t === 0)).toHaveLength(10);
    expect(maxInWindow(grantedAt, 100)).toBe(10);
    expect(Math.max(...grantedAt)).toBe(900);
  });
});

describe('local rate gate: waiting', () => {
  it('serves waiters first come first served, also those that arrive while others wait', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 5, clock });
    const order: string[] = [];
    const grants: Grant[] = [];
    const take = (name: string) =>
      gate.acquire('page').then((g) => {
        order.push(name);
        grants.push(g);
      });
    const first = Array.from({ length: 8 }, (_, i) => take(`a${i}`));
    await clock.advanceTo(50);
    const second = Array.from({ length: 4 }, (_, i) => take(`b${i}`));
    await clock.advanceTo(100);
    for (const g of grants.splice(0)) g.done();
    await clock.runAll();
    await Promise.all([...first, ...second]);
    expect(order).toEqual([...Array.from({ length: 8 }, (_, i) => `a${i}`), ...Array.from({ length: 4 }, (_, i) => `b${i}`)]);
  });

  it('keeps one timer per account however many wait, and none when nobody waits', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 2, clock });
    const waiting = Array.from({ length: 200 }, () => gate.acquire('page').then((g) => g.done()));
    await clock.advanceTo(10);
    expect(clock.pendingTimers()).toBe(1);
    await clock.runAll();
    await Promise.all(waiting);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a grant in flight blocks its slot until done, then for one more second; done() twice changes nothing', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 1, clock });
    const first = await gate.acquire('page');
    let second: Grant | undefined;
    void gate.acquire('page').then((g) => (second = g));
    await clock.advanceTo(5000);
    expect(second).toBeUndefined();
    first.done();
    first.done();
    await clock.advanceTo(5999);
    expect(second).toBeUndefined();
    await clock.advanceTo(6000);
    expect(second).toBeDefined();
  });

  it('done(atMs) counts from that time, never before the grant nor after now', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 1, clock });
    await clock.advanceTo(100);
    const first = await gate.acquire('page');
    let second = false;
    void gate.acquire('page').then(() => (second = true));
    await clock.advanceTo(400);
    first.done(0); // before its grant: counts from the grant, 100
    await clock.advanceTo(1099);
    expect(second).toBe(false);
    await clock.advanceTo(1100);
    expect(second).toBe(true);
  });

  it('a grant never marked done stops counting after the in-flight timeout, with a warning', async () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const gate = createLocalRateGate({ limit: 1, clock, log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
    await gate.acquire('page'); // never done
    let next = false;
    void gate.acquire('page').then(() => (next = true));
    await clock.advanceTo(IN_FLIGHT_TIMEOUT_MS + 999);
    expect(next).toBe(false);
    await clock.advanceTo(IN_FLIGHT_TIMEOUT_MS + 1000);
    expect(next).toBe(true);
    expect(lines.join('\n')).toContain('never marked done');
  });

  it('close() rejects the waiters and later acquires', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 1, clock });
    await gate.acquire('page');
    const waiting = gate.acquire('page');
    await gate.close();
    await expect(waiting).rejects.toBeInstanceOf(RateGateClosedError);
    await expect(gate.acquire('other')).rejects.toBeInstanceOf(RateGateClosedError);
  });
});

describe('local rate gate: accounts and media', () => {
  it('accounts are independent, each with its own limit', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: (account) => (account === 'big' ? 20 : 3), clock });
    const at = { big: [] as number[], small: [] as number[] };
    const run = (account: 'big' | 'small', n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          gate.acquire(account).then((g) => {
            at[account].push(clock.now());
            g.done();
          }),
        ),
      );
    const both = Promise.all([run('small', 12), run('big', 60)]);
    await clock.runAll();
    await both;
    expect(maxInWindow(at.small)).toBe(3);
    expect(maxInWindow(at.big)).toBe(20);
    // The small account's queue (4 s of it) never held up the big one (3 s of it).
    expect(Math.max(...at.big)).toBeLessThan(3000);
    expect(Math.max(...at.small)).toBeGreaterThanOrEqual(3000);
  });

  it('audio and video keep to 10/s and count against the account limit too; other sends are not held up by them', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 30, clock });
    const media: number[] = [];
    const text: number[] = [];
    const send = (isMedia: boolean) =>
      gate.acquire('page', { media: isMedia }).then(async (g) => {
        (isMedia ? media : text).push(clock.now());
        await clock.sleep(20);
        g.done();
      });
    const all = Promise.all([...Array.from({ length: 40 }, () => send(true)), ...Array.from({ length: 60 }, () => send(false))]);
    await clock.runAll();
    await all;
    expect(maxInWindow(media)).toBeLessThanOrEqual(10);
    expect(maxInWindow([...media, ...text])).toBeLessThanOrEqual(30);
    // 60 texts at ~30/s minus the media share: done long before the 40 media calls (4 s at 10/s).
    expect(Math.max(...text)).toBeLessThan(Math.max(...media));
    expect(Math.max(...media)).toBeGreaterThanOrEqual(3000);
  });

  it('an invalid limit for an account is refused with a clear error, other accounts unaffected', async () => {
    const clock = fakeClock();
    const gate: RateGate = createLocalRateGate({ limit: (account) => (account === 'bad' ? 0 : 5), clock });
    await expect(gate.acquire('bad')).rejects.toThrow('rate limit for account bad must be at least 1');
    await expect(gate.acquire('good')).resolves.toBeDefined();
  });
});

describe('local rate gate: windows longer than a second (Instagram private replies)', () => {
  const HOUR = 3_600_000;

  it('a gate can count per hour with the same rule: 750 in any hour, the 751st an hour after the first was done', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 750, windowMs: HOUR, clock });
    const grantedAt: number[] = [];
    const all = Promise.all(
      Array.from({ length: 760 }, () =>
        gate.acquire('ig').then(async (g) => {
          grantedAt.push(clock.now());
          await clock.sleep(200);
          g.done();
        }),
      ),
    );
    await clock.runAll(3 * HOUR);
    await all;
    expect(grantedAt).toHaveLength(760);
    expect(maxInWindow(grantedAt, HOUR)).toBe(750);
    // Smoothing is a share of the window: one grant per 100 ms, so the 750 take 75 s.
    expect(grantedAt[749]).toBe(74_900);
    // The first was done at 200 ms and counts for an hour after.
    expect(grantedAt[750]).toBe(HOUR + 200);
  });

  it('acquire(account, { kind: "private_reply" }) keeps to 750 per hour per account on top of the account\'s per-second limit', async () => {
    const clock = fakeClock();
    const gate = createLocalRateGate({ limit: 100, clock });
    const at: Record<'reply' | 'text' | 'other', number[]> = { reply: [], text: [], other: [] };
    const send = (what: 'reply' | 'text' | 'other') =>
      gate.acquire(what === 'other' ? 'other-ig' : 'ig', what === 'text' ? {} : { kind: 'private_reply' }).then(async (g) => {
        at[what].push(clock.now());
        await clock.sleep(50);
        g.done();
      });
    const all = Promise.all([...Array.from({ length: 800 }, () => send('reply')), ...Array.from({ length: 300 }, () => send('text')), send('other')]);
    await clock.advanceTo(10 * 60_000);
    // Ten minutes in: 750 replies went out and 50 wait for the hour; texts and the other account were not held up.
    expect(at.reply).toHaveLength(750);
    expect(at.text).toHaveLength(300);
    expect(at.other).toEqual([0]);
    expect(maxInWindow([...at.reply, ...at.text], 1000)).toBeLessThanOrEqual(100);
    await clock.runAll(2 * HOUR);
    await all;
    expect(at.reply).toHaveLength(800);
    expect(maxInWindow(at.reply, HOUR)).toBe(750);
    expect(Math.min(...at.reply.slice(750))).toBeGreaterThanOrEqual(HOUR);
  });

  it('the kind\'s limit and window are configurable, and no 1-window of arrivals exceeds them whatever the delays (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 2, max: 6 }), fc.array(fc.array(callArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), async (limit, seconds, lanes) => {
        const clock = fakeClock();
        const gate = createLocalRateGate({ limit: 1000, clock, kinds: { private_reply: { limit, windowMs: seconds * 1000 } } });
        const arrivals = await simulate(clock, () => gate.acquire('ig', { kind: 'private_reply' }), lanes);
        expect(arrivals).toHaveLength(lanes.flat().length);
        expect(maxInWindow(arrivals, seconds * 1000)).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a window shorter than a second, naming the option', () => {
    expect(() => createLocalRateGate({ limit: 1, windowMs: 10 })).toThrow('rate gate windowMs: the window must be a whole number of milliseconds, at least 1000, got 10');
    expect(() => createLocalRateGate({ limit: 1, kinds: { private_reply: { limit: 750, windowMs: 0.5 } } })).toThrow('rate gate kinds.private_reply');
  });
});
