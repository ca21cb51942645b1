// A scrape: this thread's registry and whatever the bot reports (its worker's registry, or its own
// in-process one), merged. Shared by GET /metrics and the live charts, so both show the same numbers.
import type { MetricsSnapshot } from './bot-metrics.ts';
import { mergeSnapshots, metricsText } from './merge.ts';
import type { ThreadMetrics } from './registry.ts';

export interface Scraper {
  /** The Prometheus text format. */
  text: () => Promise<string>;
  /** Everything merged into one snapshot. */
  merged: () => Promise<MetricsSnapshot>;
}

export function createScraper(own: Pick<ThreadMetrics, 'snapshot'>, bot: { metrics(): Promise<MetricsSnapshot[]> }): Scraper {
  const parts = async (): Promise<MetricsSnapshot[]> => {
    const [mine, theirs] = await Promise.all([own.snapshot(), bot.metrics()]);
    return [mine, ...theirs];
  };
  return {
    text: async () => metricsText(await parts()),
    merged: async () => mergeSnapshots(await parts()),
  };
}
