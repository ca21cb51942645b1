// Percentiles of reply latencies, with replies that never came counted as infinitely late: a
// lost reply is never hidden by leaving it out.

export interface LatencyStats {
  events: number;
  /** Events whose reply message never reached the mock Graph API within the settle time. */
  missing: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of ascending `sorted` (Infinity past the measured values). */
export function percentile(sorted: readonly number[], total: number, p: number): number {
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  return rank <= sorted.length ? (sorted[rank - 1] as number) : Number.POSITIVE_INFINITY;
}

export function latencyStats(latencies: readonly number[], missing: number): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const total = sorted.length + missing;
  return {
    events: total,
    missing,
    p50: percentile(sorted, total, 50),
    p90: percentile(sorted, total, 90),
    p99: percentile(sorted, total, 99),
    max: missing > 0 ? Number.POSITIVE_INFINITY : (sorted.at(-1) ?? Number.NaN),
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** Milliseconds with two significant decimals below 10, as the tables show them. */
export function msText(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? '?' : '∞';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : String(Math.round(n));
}

export function ratioText(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(1)}×` : '∞';
}
