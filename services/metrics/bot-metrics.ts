// What the bot reports about itself, as one small interface the inbox, the outbox sender, the
// webhook and the worker supervisor call (a line each). The Prometheus side (names, buckets,
// registries, threads) is services/metrics/registry.ts; this file knows nothing of prom-client.

/** How one Send API request ended: accepted, failed but to be retried, or given up. */
export type SendOutcome = 'sent' | 'retried' | 'failed';

export interface BotMetrics {
  /** A request to /webhook was answered with `status`, `seconds` after it arrived. */
  webhookAnswered(status: number, seconds: number): void;
  /** One inbox event was handled (replies stored with it) in `seconds`. */
  eventHandled(kind: string, channel: string, seconds: number): void;
  /** Events dropped at expansion because their dedup key was seen before (Meta's redeliveries). */
  eventDuplicates(n: number): void;
  /** Stored notifications that could not be expanded and were set aside. */
  eventsUnreadable(n: number): void;
  /** A reply message was accepted by the Send API, `seconds` after its notification reached the webhook. */
  replyAccepted(secondsSinceWebhook: number): void;
  /** One Send API request ended; `code` is Graph's error code (undefined: none, or no response). */
  sendResult(outcome: SendOutcome, code: number | undefined): void;
  /** Time a send waited for the per-Page rate limit (SEND_RATE_LIMIT). */
  rateLimited(seconds: number): void;
  /** The bot worker thread died and is being restarted. */
  workerRestarted(): void;
  /** The watchdog's verdict on an account's webhook subscription (app subscription and Page install). */
  subscriptionChecked(account: string, ok: boolean): void;
}

/** Records nothing: for code built without metrics (unit tests, scripts). */
export const noopMetrics: BotMetrics = Object.freeze({
  webhookAnswered: () => undefined,
  eventHandled: () => undefined,
  eventDuplicates: () => undefined,
  eventsUnreadable: () => undefined,
  replyAccepted: () => undefined,
  sendResult: () => undefined,
  rateLimited: () => undefined,
  workerRestarted: () => undefined,
  subscriptionChecked: () => undefined,
});

/** One sample of a metric family, as prom-client's `getMetricsAsJSON` gives it (structured-clonable). */
export interface MetricSample {
  value: number;
  labels: Record<string, string | number>;
  /** Histograms: `<name>_bucket`, `<name>_sum` or `<name>_count`. */
  metricName?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  /** `counter`, `gauge`, `histogram` or `summary`. */
  type: string;
  aggregator: string;
  values: MetricSample[];
}

/** A thread's metrics at one instant: what the worker sends the webhook thread for a scrape. */
export type MetricsSnapshot = MetricFamily[];
