// The webhook route, kept thin: answer Meta's verification GET, and for POST check the signature
// over the exact raw bytes, check that the body is a notification, hand it off to be stored, and
// answer 200. It is served on node:http directly, ahead of express: this is the one hot path
// (Meta retries whatever is not answered in time), and express's per-request machinery alone
// would cost more than everything the route does (see docs/benchmark.md).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadError, SignatureError } from '../services/errors.ts';
import { readEnvelope } from '../services/events/normalize.ts';
import type { Logger } from '../services/logger.ts';
import { SIGNATURE_HEADER, verifySignature } from '../services/signature.ts';

export interface WebhookDeps {
  /** Every secret Meta may sign with: APP_SECRET, and INSTAGRAM_APP_SECRET when it differs. */
  appSecret: string | readonly string[];
  verifyToken: string;
  log: Logger;
  /** Takes the raw bytes of one authentic notification; the 200 is sent once this resolves. */
  accept: (body: Buffer) => Promise<void>;
  /** Largest accepted body in bytes (10 MB by default). Meta batches up to 1000 events per request. */
  bodyLimit?: number;
  /** Told about each POST (the live dashboard); never given headers or the signature. */
  observe?: WebhookObserver;
}

export interface ObservedWebhook {
  status: number;
  ms: number;
  bytes: number;
  /** The parsed notification, only when its signature verified. */
  body: unknown;
}

export type WebhookObserver = (notification: ObservedWebhook) => void;

/** Serves GET and POST /webhook; returns false for any other request, which the caller passes on. */
export type WebhookRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

export function webhookRoute(deps: WebhookDeps): WebhookRoute {
  const limit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Like express's default routing: case-insensitive, one trailing slash allowed.
    if (!/^\/webhook\/?$/i.test(url.pathname)) return false;
    if (req.method === 'GET') {
      verifySubscription(deps, url.searchParams, res);
      return true;
    }
    if (req.method !== 'POST') return false;
    receiveNotification(deps, limit, req, res).catch((err: unknown) => {
      deps.log.error('request failed', { err });
      answer(res, 500, 'Internal error');
    });
    return true;
  };
}

function verifySubscription(deps: WebhookDeps, query: URLSearchParams, res: ServerResponse): void {
  const [mode, token, challenge] = ['hub.mode', 'hub.verify_token', 'hub.challenge'].map((name) => {
    const values = query.getAll(name);
    return values.length === 1 ? values[0] : undefined;
  });
  if (mode === undefined || token === undefined || challenge === undefined) {
    answer(res, 400, 'Missing hub.mode, hub.verify_token or hub.challenge');
    return;
  }
  if (mode !== 'subscribe' || !sameSecret(token, deps.verifyToken)) {
    deps.log.warn('webhook verification refused', { mode });
    answer(res, 403, 'Forbidden');
    return;
  }
  deps.log.info('WEBHOOK_VERIFIED');
  // Plain text and nosniff: the challenge is echoed as data, never rendered as HTML.
  answer(res, 200, challenge);
}

async function receiveNotification(deps: WebhookDeps, limit: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, limit);
  if (typeof body === 'number') {
    deps.log.warn('request rejected', { status: body });
    answer(res, body, body === 413 ? 'Payload too large' : 'Unsupported content encoding', { close: true });
    return;
  }
  if (body === undefined) return; // the client went away mid-body: nobody to answer
  if (deps.observe) observeAnswer(deps.observe, res, body);
  try {
    verifySignature({ appSecret: deps.appSecret, rawBody: body, header: req.headers[SIGNATURE_HEADER] as string | undefined });
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    deps.log.warn('webhook signature rejected', { reason: err.reason, sha1_only: req.headers['x-hub-signature'] !== undefined });
    answer(res, 403, 'Invalid signature');
    return;
  }
  try {
    readEnvelope(parseJson(body));
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    deps.log.warn('signed webhook body rejected', { problem: err.message, bytes: body.length });
    answer(res, 400, `Bad request: ${err.message}`);
    return;
  }
  await deps.accept(body);
  answer(res, 200, 'EVENT_RECEIVED');
}

/**
 * The body's exact bytes; 413 past `limit`, 415 for a compressed body (Meta never compresses),
 * undefined when the client aborted. Whatever is refused is read and discarded, not buffered.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 413 | 415 | undefined> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return discard(req, 415);
  if (Number(req.headers['content-length'] ?? 0) > limit) return discard(req, 413);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        req.off('data', onData);
        chunks.length = 0;
        resolve(discard(req, 413));
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve(size <= limit ? (chunks.length === 1 ? (chunks[0]) : Buffer.concat(chunks, size)) : 413));
    req.once('error', () => resolve(undefined));
    // After 'end' this changes nothing (a promise settles once); before it, the client went away.
    req.once('close', () => resolve(undefined));
  });
}

function discard<T>(req: IncomingMessage, result: T): Promise<T> {
  req.resume();
  return Promise.resolve(result);
}

function answer(res: ServerResponse, status: number, text: string, options: { close?: boolean } = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
    ...(options.close ? { Connection: 'close' } : {}),
  });
  res.end(text);
}

/** Reports the answer once it is sent; the body only if the signature verified (status 200/400). */
function observeAnswer(observe: WebhookObserver, res: ServerResponse, rawBody: Buffer): void {
  const started = performance.now();
  res.once('finish', () => {
    let body: unknown;
    // 200 and 400 are only ever answered after the signature verified.
    if (res.statusCode === 200 || res.statusCode === 400) {
      try {
        body = JSON.parse(rawBody.toString('utf8')) as unknown;
      } catch {
        body = undefined;
      }
    }
    try {
      observe({ status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10, bytes: rawBody.length, body });
    } catch {
      // An observer never breaks the webhook.
    }
  });
}

function parseJson(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8')) as unknown;
  } catch {
    throw new PayloadError('body is not valid JSON');
  }
}

/** Constant-time comparison of two strings of any length (hashing first equalises the lengths). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
