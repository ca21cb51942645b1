// The live charts' stream in emulator mode (GET /emulator/metrics/stream): the points kept so far,
// then one `metrics` event per second while the page is open. The live dashboard sends the same
// points on its own authenticated stream (routes/dashboard.ts).
import type { RequestHandler } from 'express';
import type { StreamHub } from '../services/emulator/sse.ts';
import type { LiveMetrics } from '../services/metrics/live.ts';

export function liveMetricsStream(live: LiveMetrics, streams: StreamHub): RequestHandler {
  return (req, res) => {
    const stream = streams.open(req, res);
    stream.send('ready', { points: live.history() });
    stream.onClose(live.subscribe((point) => stream.send('metrics', point)));
  };
}
