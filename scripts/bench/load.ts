// The load generator: autocannon, in the bench process, posting a freshly built and signed body
// on every request. autocannon ships no types; the little of it used here is typed below.
import { createRequire } from 'node:module';
import type { SignedRequest } from './payloads.ts';

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}

interface AutocannonOptions {
  /** Several: connections go to them in turn (round robin). */
  url: string | string[];
  connections: number;
  duration?: number;
  amount?: number;
  timeout?: number;
  requests: AutocannonRequest[];
}

interface Histogram {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
  total?: number;
}

export interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: Histogram;
  requests: Histogram;
  throughput: Histogram;
}

type Autocannon = ((opts: AutocannonOptions) => Promise<AutocannonResult>) & { track?: unknown };

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

export interface LoadOptions {
  /** Several (app instances): the connections are shared out among them in turn. */
  url: string | string[];
  connections: number;
  /** Seconds; or give `amount` (total requests) instead. */
  duration?: number;
  amount?: number;
  next: () => SignedRequest;
}

export interface LoadResult {
  /** Completed 2xx requests per second over the run. */
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  statusCodes: Record<string, number>;
  /** Bytes/s of request+response traffic as autocannon measured it (responses only). */
  raw: AutocannonResult;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const request: AutocannonRequest = {
    method: 'POST',
    path: '/webhook',
    setupRequest: (req) => {
      const signed = o.next();
      return { ...req, body: signed.body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signed.signature } };
    },
  };
  const raw = await autocannon({
    url: o.url,
    connections: o.connections,
    timeout: 10,
    requests: [request],
    ...(o.amount !== undefined ? { amount: o.amount } : { duration: o.duration ?? 10 }),
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(raw.statusCodeStats)) statusCodes[code] = count;
  return {
    rps: raw['2xx'] / Math.max(raw.duration, 0.001),
    p50: raw.latency.p50,
    p90: raw.latency.p90,
    p99: raw.latency.p99,
    max: raw.latency.max,
    ok: raw['2xx'],
    non2xx: raw.non2xx,
    errors: raw.errors,
    timeouts: raw.timeouts,
    seconds: raw.duration,
    statusCodes,
    raw,
  };
}
