// GET /metrics in the Prometheus text format, on node:http ahead of express like /webhook. Only
// mounted when METRICS_TOKEN is set, and then only for `Authorization: Bearer <METRICS_TOKEN>`
// (compared in constant time): the numbers say how busy the shop is and which accounts it runs.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../services/logger.ts';
import { METRICS_CONTENT_TYPE } from '../services/metrics/merge.ts';

export interface MetricsRouteDeps {
  token: string;
  /** The whole scrape as text (every thread's metrics merged). */
  scrape: () => Promise<string>;
  log: Logger;
}

/** Serves /metrics; returns false for any other request, which the caller passes on. */
export type MetricsRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export function metricsRoute({ token, scrape, log }: MetricsRouteDeps): MetricsRoute {
  const expected = digest(token);
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!/^\/metrics\/?$/i.test(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', { Allow: 'GET, HEAD' });
      return true;
    }
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      log.warn('metrics scrape refused', { presented: given !== undefined });
      answer(res, 401, 'text/plain; charset=utf-8', 'Present the METRICS_TOKEN as a bearer token', { 'WWW-Authenticate': 'Bearer realm="metrics"' });
      return true;
    }
    scrape().then(
      (text) => answer(res, 200, METRICS_CONTENT_TYPE, req.method === 'HEAD' ? '' : text),
      (err: unknown) => {
        log.error('metrics scrape failed', { err });
        answer(res, 500, 'text/plain; charset=utf-8', 'Internal error');
      },
    );
    return true;
  };
}

/** Hashing first makes both sides the same length, so the comparison is constant-time for any input. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function answer(res: ServerResponse, status: number, type: string, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(text);
}
