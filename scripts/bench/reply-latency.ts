// Reply latency as the app measures it: its `bot_reply_latency_seconds` histogram (from the
// webhook's arrival to the Send API accepting the reply), read from each instance's /metrics and
// summed, so two readings give the latency of the replies sent between them.
import { histogramQuantile } from '../../services/metrics/live.ts';

export type Buckets = Map<number, number>;

export async function readReplyBuckets(urls: readonly string[], metricsToken: string): Promise<Buckets> {
  const sum: Buckets = new Map();
  for (const url of urls) {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`);
    for (const line of (await res.text()).split('\n')) {
      const m = /^bot_reply_latency_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/.exec(line);
      if (!m) continue;
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      sum.set(le, (sum.get(le) ?? 0) + Number(m[2]));
    }
  }
  return sum;
}

/** p50 and p99 in ms of the replies counted between two readings (undefined: none). */
export function replyLatencyBetween(before: Buckets, after: Buckets): { p50: number; p99: number; count: number } | undefined {
  const buckets = [...after].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count: count - (before.get(le) ?? 0) }));
  const count = buckets.at(-1)?.count ?? 0;
  if (count === 0) return undefined;
  const p50 = histogramQuantile(0.5, buckets);
  const p99 = histogramQuantile(0.99, buckets);
  if (p50 === null || p99 === null) return undefined;
  return { p50: p50 * 1000, p99: p99 * 1000, count };
}
