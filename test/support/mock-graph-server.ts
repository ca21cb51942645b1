// A real Graph API stand-in on 127.0.0.1 for tests that run the bot for real (a spawned app, or
// the harness pointed at it): answers the Send API, the User Profile API, thread control and
// public comment replies like Meta does, records every call with its arrival and answer times, and can be scripted to fail
// (HTTP 5xx, Graph error codes, dropped connections, calls that hang past the client's timeout).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GraphCall {
  /** Arrival order, from 1. */
  seq: number;
  method: string;
  /** Path without the query string, e.g. `/v24.0/me/messages` (without a `/via/NAME` prefix). */
  path: string;
  /** The NAME of a `/via/NAME` prefix: which client made the call (see MockGraph.urlFor). */
  via: string | undefined;
  query: Record<string, string>;
  body: unknown;
  /** The Authorization header as sent (which account's token the call carried). */
  authorization?: string;
  /** performance.now() when the request had fully arrived. */
  at: number;
  /** performance.now() when it was answered or dropped; undefined while pending or hung. */
  answeredAt: number | undefined;
  /** The status answered; undefined for a dropped or hung call. */
  status: number | undefined;
  /** The body answered. */
  response: unknown;
}

/** What to do with one call instead of answering it normally. */
export type Fault =
  | { kind: 'status'; status: number; body?: unknown }
  /** A Graph error body `{ error: { code, error_subcode, ... } }` (HTTP 400 unless given). */
  | { kind: 'graph'; code: number; subcode?: number; status?: number }
  /** Destroys the connection without an answer: the client sees a network error. */
  | { kind: 'drop' }
  /** Never answers (until close): the client sees its own timeout. */
  | { kind: 'hang' }
  /** Waits until MockGraph.release() lets it through (answered normally), or the client goes away. */
  | { kind: 'hold' };

export type FaultScript = (call: GraphCall) => Fault | undefined;

export interface MockGraphOptions {
  version?: string;
  /** Delay before each answer (ms), fixed or per call. */
  latencyMs?: number | ((call: GraphCall) => number);
  fault?: FaultScript;
  /** The profile answered for a user id (default: a first name from the id, locale en_US). */
  profile?: (id: string) => Record<string, unknown> | undefined;
}

export interface MockGraph {
  /** Base URL to use as GRAPH_API_URL, e.g. `http://127.0.0.1:54321`. */
  url: string;
  /**
   * A base URL that tags every call made through it with `via: name` (`…/via/NAME`), so that calls
   * from several app instances sharing this mock can be told apart.
   */
  urlFor(name: string): string;
  version: string;
  /** Every call in arrival order. */
  readonly calls: readonly GraphCall[];
  /** Calls to `me/messages`, in arrival order. */
  sends(): GraphCall[];
  /** Replaces the fault script (undefined: answer everything normally). */
  setFault(fault: FaultScript | undefined): void;
  setLatency(latency: MockGraphOptions['latencyMs']): void;
  /** Calls held by a `hold` fault whose client is still waiting, in arrival order. */
  held(): GraphCall[];
  /** Answers the held calls that match (all by default) normally; returns how many. */
  release(which?: (call: GraphCall) => boolean): number;
  /** The most calls that were being answered at the same time, by kind, since the last reset. */
  maxInFlight(kind: 'send' | 'profile' | 'all'): number;
  resetStats(): void;
  close(): Promise<void>;
}

/** The text of a Send API message body, if it is one. */
export function messageText(call: GraphCall): string | undefined {
  const text = (call.body as { message?: { text?: unknown } } | undefined)?.message?.text;
  return typeof text === 'string' ? text : undefined;
}

/** The recipient PSID of a Send API body. */
export function recipientOf(call: GraphCall): string | undefined {
  const id = (call.body as { recipient?: { id?: unknown } } | undefined)?.recipient?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The most calls whose arrival falls in one window [t, t + windowMs), over every window start t,
 * and the first such window (`from`: its start; undefined without calls). Meta counts its per-Page
 * rate on arrival, so this is what SEND_RATE_LIMIT must bound.
 */
export function busiestWindow(calls: readonly GraphCall[], windowMs = 1000): { count: number; from: number | undefined } {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let best = { count: 0, from: undefined as number | undefined };
  // The busiest window can always be slid right until it starts at an arrival.
  for (let i = 0, j = 0; i < times.length; i += 1) {
    const from = times[i] as number;
    while (j < times.length && (times[j] as number) < from + windowMs) j += 1;
    if (j - i > best.count) best = { count: j - i, from };
  }
  return best;
}

/** Calls per window of `windowMs` from the first arrival on (for a report). */
export function arrivalsPerWindow(calls: readonly GraphCall[], windowMs = 1000): number[] {
  const first = Math.min(...calls.map((c) => c.at));
  const counts: number[] = [];
  for (const call of calls) {
    const slot = Math.floor((call.at - first) / windowMs);
    while (counts.length <= slot) counts.push(0);
    counts[slot] = (counts[slot] as number) + 1;
  }
  return counts;
}

export function graphErrorBody(code: number, subcode?: number): unknown {
  return {
    error: {
      message: `(#${code}) simulated Graph error`,
      type: code === 190 ? 'OAuthException' : 'GraphMethodException',
      code,
      ...(subcode === undefined ? {} : { error_subcode: subcode }),
      fbtrace_id: `Atrace${code}`,
    },
  };
}

export async function startMockGraph(options: MockGraphOptions = {}): Promise<MockGraph> {
  const version = options.version ?? 'v24.0';
  const calls: GraphCall[] = [];
  let fault = options.fault;
  let latency = options.latencyMs;
  let mids = 0;
  const active = { send: 0, profile: 0, all: 0 };
  const peak = { send: 0, profile: 0, all: 0 };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const holding = new Map<GraphCall, () => void>();

  const kindOf = (call: GraphCall): 'send' | 'profile' | undefined =>
    call.path === `/${version}/me/messages` ? 'send' : call.method === 'GET' ? 'profile' : undefined;

  const track = (call: GraphCall, delta: 1 | -1): void => {
    const kind = kindOf(call);
    active.all += delta;
    peak.all = Math.max(peak.all, active.all);
    if (kind) {
      active[kind] += delta;
      peak[kind] = Math.max(peak[kind], active[kind]);
    }
  };

  const normalAnswer = (call: GraphCall): [number, unknown] => {
    if (call.method === 'POST' && call.path === `/${version}/me/messages`) {
      const recipient_id = recipientOf(call);
      const isMessage = typeof call.body === 'object' && call.body !== null && 'message' in call.body;
      if (!isMessage) return [200, { recipient_id }];
      mids += 1;
      return [200, { recipient_id, message_id: `m_mock_${mids}` }];
    }
    if (call.method === 'POST' && /^\/v[\d.]+\/me\/(pass|take)_thread_control$/.test(call.path)) return [200, { success: true }];
    // A public reply under a comment (Facebook's comments edge, Instagram's replies edge): the new comment's id.
    if (call.method === 'POST' && /^\/v[\d.]+\/\d+(?:_\d+)?\/(comments|replies)$/.test(call.path)) {
      mids += 1;
      return [200, { id: `1790000000${String(mids).padStart(7, '0')}` }];
    }
    const profileMatch = /^\/v[\d.]+\/(\d+)$/.exec(call.path);
    if (call.method === 'GET' && profileMatch?.[1]) {
      const id = profileMatch[1];
      const profile = options.profile ? options.profile(id) : { first_name: `User${id.slice(-4)}`, locale: 'en_US' };
      return profile ? [200, { id, ...profile }] : [404, graphErrorBody(100, 33)];
    }
    return [404, graphErrorBody(100)];
  };

  const answer = (call: GraphCall, res: ServerResponse, status: number, body: unknown): void => {
    call.status = status;
    call.response = body;
    call.answeredAt = performance.now();
    track(call, -1);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const respond = (call: GraphCall, req: IncomingMessage, res: ServerResponse): void => {
    const chosen = fault?.(call);
    if (chosen?.kind === 'hold') {
      const go = () => {
        holding.delete(call);
        const [status, body] = normalAnswer(call);
        answer(call, res, status, body);
      };
      holding.set(call, go);
      res.once('close', () => {
        if (holding.delete(call)) track(call, -1);
      });
      return;
    }
    if (chosen?.kind === 'hang') {
      // Answered by nobody: the client gives up (or close() ends the connection).
      res.once('close', () => track(call, -1));
      return;
    }
    if (chosen?.kind === 'drop') {
      call.answeredAt = performance.now();
      track(call, -1);
      req.socket.destroy();
      return;
    }
    if (chosen?.kind === 'status') return answer(call, res, chosen.status, chosen.body ?? { error: { message: 'simulated', code: 1 } });
    if (chosen?.kind === 'graph') return answer(call, res, chosen.status ?? 400, graphErrorBody(chosen.code, chosen.subcode));
    const [status, body] = normalAnswer(call);
    answer(call, res, status, body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const via = /^\/via\/([^/]+)(\/.*)$/.exec(url.pathname);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        body = text;
      }
      const call: GraphCall = {
        seq: calls.length + 1,
        method: req.method ?? 'GET',
        path: via?.[2] ?? url.pathname,
        via: via?.[1],
        query: Object.fromEntries(url.searchParams),
        body,
        ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
        at: performance.now(),
        answeredAt: undefined,
        status: undefined,
        response: undefined,
      };
      calls.push(call);
      track(call, 1);
      const delay = typeof latency === 'function' ? latency(call) : (latency ?? 0);
      if (delay <= 0) return respond(call, req, res);
      const timer = setTimeout(() => {
        timers.delete(timer);
        respond(call, req, res);
      }, delay);
      timers.add(timer);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    urlFor: (name) => `http://127.0.0.1:${port}/via/${encodeURIComponent(name)}`,
    version,
    calls,
    sends: () => calls.filter((c) => c.method === 'POST' && c.path === `/${version}/me/messages`),
    setFault(next) {
      fault = next;
    },
    setLatency(next) {
      latency = next;
    },
    held: () => [...holding.keys()],
    release(which = () => true) {
      const chosen = [...holding].filter(([call]) => which(call));
      for (const [, go] of chosen) go();
      return chosen.length;
    },
    maxInFlight: (kind) => peak[kind],
    resetStats() {
      peak.send = active.send;
      peak.profile = active.profile;
      peak.all = active.all;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
