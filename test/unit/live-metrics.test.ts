// The live charts' numbers: rates between readings, reply latency percentiles from histogram
// buckets (as Prometheus's histogram_quantile computes them), sampling only while watched.
import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../support/silent-logger.ts';
import { createLiveMetrics, histogramQuantile, type LiveClock, type LivePoint } from '../../services/metrics/live.ts';
import { mergeSnapshots } from '../../services/metrics/merge.ts';
import { createThreadMetrics } from '../../services/metrics/registry.ts';

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 0 },
    { le: 0.25, count: 5 },
    { le: 0.5, count: 10 },
    { le: Infinity, count: 10 },
  ];
  it('interpolates inside the bucket the rank falls in', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.25, 6);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.495, 6);
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.13, 6);
  });
  it('answers the highest finite bound past it, and null without samples', () => {
    expect(histogramQuantile(0.99, [{ le: 0.1, count: 1 }, { le: 1, count: 1 }, { le: Infinity, count: 5 }])).toBe(1);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 0 }])).toBeNull();
  });
});

function fakeClock() {
  let now = 1_000_000;
  let tick: (() => void) | undefined;
  const clock: LiveClock = {
    now: () => now,
    setInterval: (fn) => {
      tick = fn;
      return 1;
    },
    clearInterval: () => {
      tick = undefined;
    },
  };
  return {
    clock,
    running: () => tick !== undefined,
    advance: async (ms: number) => {
      now += ms;
      tick?.();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('createLiveMetrics', () => {
  it('turns readings into events/s, replies/s, p50/p99 over the window and the backlog, while someone watches', async () => {
    const metrics = createThreadMetrics({ thread: 'main', processMetrics: false });
    metrics.readFrom({ backlog: () => Promise.resolve({ received: 0, inbox: 7, outbox: 2, failed: 0, unreadable: 0, failed_events: 0 }) });
    const { clock, advance, running } = fakeClock();
    let reads = 0;
    const live = createLiveMetrics({ read: async () => (reads++, mergeSnapshots([await metrics.snapshot()])), log: silentLogger, clock, windowMs: 10_000 });
    expect(reads).toBe(0); // nothing is read while nobody watches

    const points: LivePoint[] = [];
    const stop = live.subscribe((p) => points.push(p));
    await new Promise((resolve) => setImmediate(resolve)); // the first reading: nothing to compare with yet
    expect(points).toEqual([]);

    for (let i = 0; i < 30; i += 1) metrics.eventHandled('message', 'messenger', 0.01);
    for (let i = 0; i < 10; i += 1) metrics.replyAccepted(i < 5 ? 0.2 : 0.4); // buckets 0.25 and 0.5
    await advance(2000);
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ events_per_s: 15, replies_per_s: 5, backlog: { inbox: 7, outbox: 2 } });
    expect(points[0]?.latency_p50_s).toBeCloseTo(0.25, 4);
    expect(points[0]?.latency_p99_s).toBeCloseTo(0.495, 4);

    await advance(1000); // no new replies: rates drop to 0, the window still holds the ten
    expect(points[1]).toMatchObject({ events_per_s: 0, replies_per_s: 0 });
    expect(points[1]?.latency_p50_s).toBeCloseTo(0.25, 4);
    await advance(11_000); // past the window: no latency to show
    expect(points[2]).toMatchObject({ latency_p50_s: null, latency_p99_s: null });
    expect(live.history()).toHaveLength(3);

    stop();
    expect(running()).toBe(false);
    const before = reads;
    await advance(5000);
    expect(reads).toBe(before);
  });
});
