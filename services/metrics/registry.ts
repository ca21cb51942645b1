// The Prometheus side of BotMetrics: every metric family the bot exports, registered in one
// prom-client Registry per thread. Both threads register the same families, so a scrape sums
// them (services/metrics/merge.ts): the webhook thread counts requests, the worker thread events
// and sends, and each thread's Node metrics carry a `thread` label.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Backlog } from '../state/store.ts';
import type { BotMetrics, MetricsSnapshot } from './bot-metrics.ts';

/** `main`: the thread that serves HTTP (and, without a worker, everything); `bot`: the worker thread. */
export type ThreadName = 'main' | 'bot';

export interface ThreadMetricsOptions {
  thread: ThreadName;
  /**
   * Also collect Node's metrics for this thread (event-loop lag, heap, GC, handles; on `main` also
   * the process's CPU, memory and file descriptors, which a worker thread shares).
   */
  processMetrics: boolean;
}

/** Where the gauges read their values at each scrape. */
export interface GaugeSources {
  backlog?: () => Promise<Backlog>;
  /** Whether each account's token is usable (false after Graph rejected it with code 190). */
  tokens?: () => readonly { account: string; valid: boolean }[];
}

export interface ThreadMetrics extends BotMetrics {
  /** Sets (or replaces) the sources of the backlog and token gauges. */
  readFrom(sources: GaugeSources): void;
  /** Every family of this thread's registry, values read now. */
  snapshot(): Promise<MetricsSnapshot>;
}

// Buckets (seconds) sized for what each measures: the webhook answers in about a millisecond, a
// handler in milliseconds (tens with a profile lookup), a reply in a few hundred ms (minutes when
// sends are retried).
const WEBHOOK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const HANDLING_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const REPLY_LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const BACKLOG_QUEUES = ['received', 'inbox', 'outbox', 'failed'] as const satisfies readonly (keyof Backlog)[];

export function createThreadMetrics(options: ThreadMetricsOptions): ThreadMetrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: GaugeSources = {};

  const webhookRequests = new Counter({ name: 'bot_webhook_requests_total', help: 'Requests to /webhook, by the status answered.', labelNames: ['status'], registers });
  const webhookDuration = new Histogram({ name: 'bot_webhook_duration_seconds', help: 'Time from a /webhook request to its answer.', buckets: WEBHOOK_BUCKETS, registers });
  const events = new Counter({ name: 'bot_events_total', help: 'Events handled, by kind and channel.', labelNames: ['kind', 'channel'], registers });
  const duplicates = new Counter({ name: 'bot_events_duplicate_total', help: 'Events dropped as redeliveries of events already stored.', registers });
  const unreadable = new Counter({ name: 'bot_events_unreadable_total', help: 'Stored notifications that could not be expanded into events (set aside).', registers });
  const handling = new Histogram({ name: 'bot_event_handling_seconds', help: 'Time to handle one event and store its replies.', buckets: HANDLING_BUCKETS, registers });
  const replyLatency = new Histogram({
    name: 'bot_reply_latency_seconds',
    help: 'Time from the webhook receiving a notification to the Send API accepting a reply to it.',
    buckets: REPLY_LATENCY_BUCKETS,
    registers,
  });
  const sends = new Counter({ name: 'bot_send_requests_total', help: 'Send API requests, by outcome (sent, retried, failed) and Graph error code (none when there was none).', labelNames: ['outcome', 'code'], registers });
  const rateLimited = new Counter({ name: 'bot_send_rate_limited_seconds_total', help: 'Time sends waited for the per-Page rate limit (SEND_RATE_LIMIT).', registers });
  const restarts = new Counter({ name: 'bot_worker_restarts_total', help: 'Times the bot worker thread died and was restarted.', registers });
  const subscription = new Gauge({ name: 'bot_subscription_ok', help: "1 when the watchdog found the account's webhook subscription complete, 0 when something is missing.", labelNames: ['account'], registers });
  new Gauge({
    name: 'bot_backlog',
    help: 'Work waiting: received (notifications not yet expanded), inbox (events), outbox (replies), failed (replies given up).',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      const backlog = await sources.backlog?.().catch(() => undefined);
      // An unreachable store leaves the gauge empty rather than showing stale numbers.
      if (backlog) for (const queue of BACKLOG_QUEUES) this.set({ queue }, backlog[queue]);
    },
  });
  new Gauge({
    name: 'bot_token_valid',
    help: "1 while the account's access token works, 0 after Graph rejected it (code 190).",
    labelNames: ['account'],
    registers,
    collect() {
      this.reset();
      for (const { account, valid } of sources.tokens?.() ?? []) this.set({ account }, valid ? 1 : 0);
    },
  });

  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry, labels: { thread: options.thread } });
    // A worker thread shares the process's CPU, memory and descriptors: the main thread reports those once.
    if (options.thread === 'bot') for (const name of processWideMetrics(registry)) registry.removeSingleMetric(name);
  }

  return {
    webhookAnswered: (status, seconds) => {
      webhookRequests.inc({ status: String(status) });
      webhookDuration.observe(seconds);
    },
    eventHandled: (kind, channel, seconds) => {
      events.inc({ kind, channel });
      handling.observe(seconds);
    },
    eventDuplicates: (n) => {
      if (n > 0) duplicates.inc(n);
    },
    eventsUnreadable: (n) => {
      if (n > 0) unreadable.inc(n);
    },
    replyAccepted: (seconds) => replyLatency.observe(Math.max(0, seconds)),
    sendResult: (outcome, code) => sends.inc({ outcome, code: code === undefined ? 'none' : String(code) }),
    rateLimited: (seconds) => {
      if (seconds > 0) rateLimited.inc(seconds);
    },
    workerRestarted: () => restarts.inc(),
    subscriptionChecked: (account, ok) => subscription.set({ account }, ok ? 1 : 0),
    readFrom(next) {
      sources = { ...sources, ...next };
    },
    snapshot: async () => toSnapshot(await registry.getMetricsAsJSON()),
  };
}

function processWideMetrics(registry: Registry): string[] {
  return registry.getMetricsAsArray().map((m) => m.name).filter((name) => name.startsWith('process_'));
}

/** prom-client's JSON without exemplars, as plain data (it crosses threads by structured clone). */
function toSnapshot(json: Awaited<ReturnType<Registry['getMetricsAsJSON']>>): MetricsSnapshot {
  return json.map((family) => ({
    name: family.name,
    help: family.help,
    type: String(family.type),
    aggregator: family.aggregator,
    values: family.values.map((v) => {
      const named = v as { metricName?: string };
      return { value: v.value, labels: { ...v.labels } as Record<string, string | number>, ...(named.metricName === undefined ? {} : { metricName: named.metricName }) };
    }),
  }));
}
