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

/** Calls per second after the first second (which the first burst may fill): the sustained rate. */
export function sustainedRate(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined || last - first <= 1000) return Number.NaN;
  const after = sorted.filter((t) => t > first + 1000).length;
  return (after * 1000) / (last - first - 1000);
}
