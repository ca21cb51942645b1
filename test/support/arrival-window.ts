// Counting calls the way Meta's per-second limit does: the most calls in any window [t, t + ms),
// whatever t. Used on grant times, on the mock Graph server's arrival times, anywhere.

/** The most of `times` within any half-open window of `windowMs`, for every possible start. */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  // The busiest window can always be slid right until it starts at one of the times.
  for (let i = 0, j = 0; j < sorted.length; j += 1) {
    while ((sorted[j] as number) - (sorted[i] as number) >= windowMs) i += 1;
    max = Math.max(max, j - i + 1);
  }
  return max;
}

/**
 * Calls per second once the first `limit` calls (the first second's worth, which an idle start
 * may give at once) are out: from the arrival after them to the last one.
 */
export function sustainedRate(times: readonly number[], limit: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const from = sorted[limit];
  const last = sorted[sorted.length - 1];
  if (from === undefined || last === undefined || last <= from) return Number.NaN;
  return ((sorted.length - 1 - limit) * 1000) / (last - from);
}
