// Preloaded into the app's process by the bench (`node --import ./scripts/bench/app-probe.ts`):
// every 250 ms it writes one line to stderr with the event loop's delay, its utilisation and the
// heap, so the bench can tell a busy event loop from a blocked one, and heap growth from RSS.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const EVERY_MS = 250;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let lastElu = performance.eventLoopUtilization();
const timer = setInterval(() => {
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const mem = process.memoryUsage();
  const sample = {
    at: Date.now(),
    elu: Number(elu.utilization.toFixed(3)),
    p99: Number((delay.percentile(99) / 1e6).toFixed(1)),
    max: Number((delay.max / 1e6).toFixed(1)),
    heapMb: Number((mem.heapUsed / 1048576).toFixed(1)),
    rssMb: Number((mem.rss / 1048576).toFixed(1)),
  };
  delay.reset();
  process.stderr.write(`BENCH_PROBE ${JSON.stringify(sample)}\n`);
}, EVERY_MS);
timer.unref();
