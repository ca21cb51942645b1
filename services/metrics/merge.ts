// One scrape from several snapshots (the webhook thread's, the worker's, and what earlier workers
// counted before they died). Families of the same name are summed sample by sample, which is exact
// for counters and histograms; gauges are only ever set on one thread (or carry a `thread` label),
// so summing leaves them as they are. prom-client's AggregatorRegistry does the summing and writes
// the text format.
import { AggregatorRegistry, Registry } from 'prom-client';
import type { MetricFamily, MetricSample, MetricsSnapshot } from './bot-metrics.ts';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** The Prometheus text exposition of the snapshots, summed. */
export function metricsText(parts: readonly MetricsSnapshot[]): Promise<string> {
  return aggregate(parts).metrics();
}

/** The snapshots summed into one (what the live charts read). */
export async function mergeSnapshots(parts: readonly MetricsSnapshot[]): Promise<MetricsSnapshot> {
  const json = await aggregate(parts).getMetricsAsJSON();
  return json.map((family) => ({
    name: family.name,
    help: family.help,
    type: String(family.type),
    aggregator: family.aggregator,
    values: family.values.map((v) => ({ ...(v as MetricSample) })),
  }));
}

function aggregate(parts: readonly MetricsSnapshot[]): Registry {
  // prom-client's defaults for cluster workers (e.g. `omit` for the start time, `first` for the
  // version) assume identical workers; here every sample is either one thread's or a count to add.
  return AggregatorRegistry.aggregate(parts.map((snapshot) => snapshot.map((family): MetricFamily => ({ ...family, aggregator: 'sum' }))));
}

/** Only what accumulates (counters, histograms): what a dead worker's successor carries on from. */
export function accumulating(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.filter((family) => family.type === 'counter' || family.type === 'histogram');
}

/** Sample-by-sample sum of counters and histograms, synchronously (for the carried-over counts). */
export function addCounts(a: MetricsSnapshot, b: MetricsSnapshot): MetricsSnapshot {
  const families = new Map<string, MetricFamily>();
  for (const family of [...accumulating(a), ...accumulating(b)]) {
    const into = families.get(family.name);
    if (!into) {
      families.set(family.name, { ...family, values: family.values.map((v) => ({ ...v, labels: { ...v.labels } })) });
      continue;
    }
    const index = new Map(into.values.map((v, i) => [sampleKey(v), i]));
    for (const v of family.values) {
      const at = index.get(sampleKey(v));
      const existing = at === undefined ? undefined : into.values[at];
      if (existing) existing.value += v.value;
      else into.values.push({ ...v, labels: { ...v.labels } });
    }
  }
  return [...families.values()];
}

function sampleKey(sample: MetricSample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${String(sample.labels[k])}`);
  return `${sample.metricName ?? ''}{${labels.join(',')}}`;
}
