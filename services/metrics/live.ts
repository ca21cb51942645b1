// The live charts' numbers, computed from the same merged scrape as GET /metrics: once a second,
// while anyone watches, the bot's counters are read and turned into a point (events/s and
// replies/s since the previous reading, reply latency p50/p99 over the last 10 s from the
// histogram's buckets the way Prometheus's histogram_quantile does it, and the backlog). Nothing
// is sampled while nobody watches; a few minutes of points are kept for a page that opens late.
import type { Logger } from '../logger.ts';
import type { Backlog } from '../state/store.ts';

/** The queues the charts show (the set-aside counts are not a queue that drains). */
type ChartedBacklog = Pick<Backlog, 'received' | 'inbox' | 'outbox' | 'failed'>;
import type { MetricsSnapshot } from './bot-metrics.ts';
import { BACKLOG_QUEUES } from './registry.ts';

export interface LivePoint {
  /** When the reading was taken (epoch ms). */
  t: number;
  events_per_s: number;
  replies_per_s: number;
  /** Over the last `windowMs`; null when no reply was accepted in it. */
  latency_p50_s: number | null;
  latency_p99_s: number | null;
  /** Null when the store did not answer. */
  backlog: ChartedBacklog | null;
}

export interface LiveMetrics {
  /** The points kept, oldest first. */
  history(): LivePoint[];
  /** Each new point, until the returned function is called; sampling runs while anyone listens. */
  subscribe(listener: (point: LivePoint) => void): () => void;
  /** Stops sampling and drops the listeners (shutdown). */
  stop(): void;
}

export interface LiveClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface LiveMetricsOptions {
  /** The merged scrape (services/metrics/scrape.ts). */
  read: () => Promise<MetricsSnapshot>;
  log: Logger;
  intervalMs?: number;
  /** The latency percentiles' window. */
  windowMs?: number;
  /** Points kept for a page that opens later. */
  keep?: number;
  clock?: LiveClock;
}

/** What one reading keeps of a scrape: the counters the points are differences of. */
export interface Reading {
  t: number;
  events: number;
  replies: number;
  /** Cumulative reply-latency bucket counts, by upper bound (the last one +Infinity). */
  buckets: { le: number; count: number }[];
  backlog: ChartedBacklog | null;
}

const realClock: LiveClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return timer;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export function createLiveMetrics(options: LiveMetricsOptions): LiveMetrics {
  const intervalMs = options.intervalMs ?? 1000;
  const windowMs = options.windowMs ?? 10_000;
  const keep = options.keep ?? 300;
  const clock = options.clock ?? realClock;
  const listeners = new Set<(point: LivePoint) => void>();
  const points: LivePoint[] = [];
  let readings: Reading[] = [];
  let timer: unknown;
  let sampling = false;
  let warned = false;
  let run = 0; // a reading finished after its watchers left belongs to no one

  const sample = async (): Promise<void> => {
    if (sampling) return; // a slow scrape never piles up behind itself
    sampling = true;
    const mine = run;
    try {
      const reading = readingOf(await options.read(), clock.now());
      if (mine !== run) return;
      const previous = readings.at(-1);
      readings = [...readings.filter((r) => r.t >= reading.t - windowMs), reading];
      if (!previous) return;
      const point = pointOf(previous, reading, readings[0] ?? previous);
      points.push(point);
      if (points.length > keep) points.splice(0, points.length - keep);
      for (const listener of listeners) listener(point);
      warned = false;
    } catch (err) {
      if (!warned) options.log.warn('live charts: reading the metrics failed', { err });
      warned = true;
    } finally {
      sampling = false;
    }
  };

  const stopSampling = (): void => {
    if (timer !== undefined) clock.clearInterval(timer);
    timer = undefined;
    run += 1;
    // A gap while nobody watched is not one long interval: the next watcher starts afresh.
    readings = [];
  };

  return {
    history: () => [...points],
    subscribe(listener) {
      listeners.add(listener);
      if (timer === undefined) {
        timer = clock.setInterval(() => void sample(), intervalMs);
        void sample();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stopSampling();
      };
    },
    stop() {
      listeners.clear();
      stopSampling();
    },
  };
}

/** The counters a point is computed from, out of a merged scrape. */
export function readingOf(snapshot: MetricsSnapshot, t: number): Reading {
  const family = (name: string) => snapshot.find((f) => f.name === name)?.values ?? [];
  const events = family('bot_events_total').reduce((sum, v) => sum + v.value, 0);
  const latency = family('bot_reply_latency_seconds');
  const replies = latency.find((v) => v.metricName === 'bot_reply_latency_seconds_count')?.value ?? 0;
  const buckets = latency
    .filter((v) => v.metricName === 'bot_reply_latency_seconds_bucket')
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  const queues = new Map(family('bot_backlog').map((v) => [String(v.labels.queue), v.value]));
  const queue = (name: keyof ChartedBacklog) => queues.get(name) ?? 0;
  const complete = BACKLOG_QUEUES.every((q) => queues.has(q));
  const backlog = complete ? { received: queue('received'), inbox: queue('inbox'), outbox: queue('outbox'), failed: queue('failed') } : null;
  return { t, events, replies, buckets, backlog };
}

/** Rates since `previous`, percentiles since `windowStart` (a reading at most a window old). */
export function pointOf(previous: Reading, current: Reading, windowStart: Reading): LivePoint {
  const seconds = Math.max(0.001, (current.t - previous.t) / 1000);
  const inWindow = current.buckets.map((b) => ({ le: b.le, count: increase(windowStart.buckets.find((s) => s.le === b.le)?.count ?? 0, b.count) }));
  return {
    t: current.t,
    events_per_s: round(increase(previous.events, current.events) / seconds),
    replies_per_s: round(increase(previous.replies, current.replies) / seconds),
    latency_p50_s: histogramQuantile(0.5, inWindow),
    latency_p99_s: histogramQuantile(0.99, inWindow),
    backlog: current.backlog,
  };
}

/** A counter's increase; a counter that went down was reset (a new process), and counts from zero. */
function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/**
 * The q-quantile of cumulative bucket counts, interpolating linearly inside the bucket it falls in,
 * as Prometheus's histogram_quantile does; past the last finite bound, that bound. Null without samples.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < buckets.length; i += 1) {
    const bucket = buckets[i] as { le: number; count: number };
    if (bucket.count < rank) continue;
    const below = i === 0 ? { le: 0, count: 0 } : (buckets[i - 1] as { le: number; count: number });
    if (bucket.le === Infinity) return below.le;
    if (bucket.count === below.count) return bucket.le;
    return round(below.le + ((bucket.le - below.le) * (rank - below.count)) / (bucket.count - below.count), 4);
  }
  return null;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
