// The webhook route, kept thin: answer Meta's verification GET, and for POST check the signature
// over the exact raw bytes, parse, normalise, hand the events off, and answer 200.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { PayloadError, SignatureError } from '../services/errors.ts';
import { normalizeNotification } from '../services/events/normalize.ts';
import type { NormalizedNotification } from '../services/events/types.ts';
import type { Logger } from '../services/logger.ts';
import { SIGNATURE_HEADER, verifySignature } from '../services/signature.ts';

export interface WebhookDeps {
  appSecret: string;
  verifyToken: string;
  log: Logger;
  /** Takes the events of one authentic notification; the 200 is sent once this resolves. */
  accept: (notification: NormalizedNotification) => Promise<void> | void;
  /** Largest accepted body. Meta batches up to 1000 events per request. */
  bodyLimit?: string;
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

export function webhookRouter(deps: WebhookDeps): Router {
  const router = express.Router();
  router.get('/webhook', (req, res) => verifySubscription(deps, req, res));
  // Raw bytes for every content type: the signature must be checked before anything is parsed.
  router.post('/webhook', express.raw({ type: () => true, limit: deps.bodyLimit ?? '10mb' }), async (req, res) => {
    await receiveNotification(deps, req, res);
  });
  return router;
}

function verifySubscription(deps: WebhookDeps, req: Request, res: Response): void {
  const mode = req.query['hub.mode'];
  const token = req.query['hub.verify_token'];
  const challenge = req.query['hub.challenge'];
  if (typeof mode !== 'string' || typeof token !== 'string' || typeof challenge !== 'string') {
    res.status(400).type('text/plain').send('Missing hub.mode, hub.verify_token or hub.challenge');
    return;
  }
  if (mode !== 'subscribe' || !sameSecret(token, deps.verifyToken)) {
    deps.log.warn('webhook verification refused', { mode });
    res.status(403).type('text/plain').send('Forbidden');
    return;
  }
  deps.log.info('WEBHOOK_VERIFIED');
  // Plain text and nosniff: the challenge is echoed as data, never rendered as HTML.
  res.status(200).set('X-Content-Type-Options', 'nosniff').type('text/plain').send(challenge);
}

async function receiveNotification(deps: WebhookDeps, req: Request, res: Response): Promise<void> {
  const rawBody: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (deps.observe) observeAnswer(deps.observe, res, rawBody);
  try {
    verifySignature({ appSecret: deps.appSecret, rawBody, header: req.get(SIGNATURE_HEADER) });
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    deps.log.warn('webhook signature rejected', { reason: err.reason, sha1_only: req.get('x-hub-signature') !== undefined });
    res.status(403).type('text/plain').send('Invalid signature');
    return;
  }
  let notification: NormalizedNotification;
  try {
    notification = normalizeNotification(parseJson(rawBody));
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    deps.log.warn('signed webhook body rejected', { problem: err.message, bytes: rawBody.length });
    res.status(400).type('text/plain').send(`Bad request: ${err.message}`);
    return;
  }
  await deps.accept(notification);
  deps.log.debug('webhook accepted', { object: notification.object, events: notification.events.length });
  res.status(200).type('text/plain').send('EVENT_RECEIVED');
}

/** Reports the answer once it is sent; the body only if the signature verified (status 200/400). */
function observeAnswer(observe: WebhookObserver, res: Response, rawBody: Buffer): void {
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
