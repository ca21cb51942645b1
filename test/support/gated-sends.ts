// A test-only sender: lanes of Send API calls through the real Graph client to the mock Graph
// server, each call let through by a rate gate (or by the old grant-time limiter), so tests can
// compare what was granted with what arrived. It marks a grant done when the response arrived, or
// (to measure the alternative) when the request had been fully written to the socket.
import { AsyncLocalStorage } from 'node:async_hooks';
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { createGraphClient, createGraphHttp } from '../../services/graph/client.ts';
import { createSendApi } from '../../services/graph/send-api.ts';
import type { Grant } from '../../services/outbox/rate-gate.ts';
import type { MockGraph } from './mock-graph-server.ts';

/** When a call counts as over: its response (or failure) arrived, or its request left for the wire. */
export type DoneAt = 'response' | 'written';

export interface GatedSendsOptions {
  mock: MockGraph;
  lanes: number;
  perLane: number;
  /** A grant for one call; undefined for a limiter that has nothing to mark. */
  acquire(media: boolean): Promise<Grant | undefined>;
  doneAt?: DoneAt;
  /** Which calls carry a video attachment (by lane and index). */
  isMedia?: (lane: number, n: number) => boolean;
}

export interface GatedSendsResult {
  /** performance.now() when each call was granted. */
  granted: number[];
  /** performance.now() when each call's request was fully written. */
  written: number[];
  /** How long each grant was held before done (grant to response, or to written). */
  heldMs: number[];
  elapsedMs: number;
  failures: number;
}

interface CallMarks {
  onWritten(at: number): void;
}

/**
 * Axios's Node adapter takes a `transport` (anything with `request(options, onResponse)`): this one
 * is node:http with a listener on the request's 'finish', which fires once the last byte has been
 * handed to the operating system. The call it belongs to is found through AsyncLocalStorage, since
 * the Graph client builds the request config itself.
 */
function writtenHook(marks: AsyncLocalStorage<CallMarks>) {
  return {
    request(options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
      const req = http.request(options, onResponse);
      const call = marks.getStore();
      if (call) req.once('finish', () => call.onWritten(performance.now()));
      return req;
    },
  };
}

/** The rate a gate at `limit` can reach when each grant is held this long on average: limit / (1 + held s). */
export function attainableRate(limit: number, heldMs: readonly number[]): number {
  const mean = heldMs.reduce((sum, ms) => sum + ms, 0) / Math.max(1, heldMs.length);
  return (limit * 1000) / (1000 + mean);
}

export async function runGatedSends(options: GatedSendsOptions): Promise<GatedSendsResult> {
  const marks = new AsyncLocalStorage<CallMarks>();
  const httpClient = createGraphHttp({ baseUrl: options.mock.url, version: options.mock.version, timeoutMs: 10_000 });
  const transport = writtenHook(marks);
  httpClient.interceptors.request.use((config) => {
    config.transport = transport;
    return config;
  });
  const sendApi = createSendApi(createGraphClient({ baseUrl: options.mock.url, version: options.mock.version, accessToken: 'EAAtesttoken0000000000000', appSecret: 'test-secret', http: httpClient }));
  const result: GatedSendsResult = { granted: [], written: [], heldMs: [], elapsedMs: 0, failures: 0 };
  const doneAt = options.doneAt ?? 'response';
  const started = performance.now();

  const send = async (lane: number, n: number): Promise<void> => {
    const media = options.isMedia?.(lane, n) ?? false;
    const grant = await options.acquire(media);
    const grantedAt = performance.now();
    result.granted.push(grantedAt);
    let held = false;
    const hold = (at: number): void => {
      if (held) return;
      held = true;
      result.heldMs.push(at - grantedAt);
    };
    const recipient = { id: String(7_000_000_000_000 + lane) };
    const message = media ? { attachment: { type: 'video' as const, payload: { url: 'https://example.com/clip.mp4' } } } : { text: `lane ${lane} message ${n}` };
    const onWritten = (at: number): void => {
      result.written.push(at);
      if (doneAt !== 'written') return;
      hold(at);
      grant?.done(at);
    };
    try {
      await marks.run({ onWritten }, () => sendApi.perform({ type: 'message', recipient, message }));
    } catch {
      result.failures += 1;
    } finally {
      // After 'written' this is a no-op (done is idempotent); it also covers a call that failed before writing.
      hold(performance.now());
      grant?.done();
    }
  };

  await Promise.all(
    Array.from({ length: options.lanes }, async (_, lane) => {
      for (let n = 0; n < options.perLane; n += 1) await send(lane, n);
    }),
  );
  result.elapsedMs = performance.now() - started;
  return result;
}
