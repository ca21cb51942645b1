// Webhook signatures, fail-closed. Meta signs the exact bytes it sends (JSON with non-ASCII
// escaped as \uXXXX) with HMAC-SHA256 keyed by the app secret, in `X-Hub-Signature-256`. An app
// with Instagram Login accounts has a second secret (the Instagram app secret) that signs their
// notifications: a body is authentic when the signature matches any configured secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureError } from './errors.ts';

export const SIGNATURE_HEADER = 'x-hub-signature-256';
const HEADER_FORMAT = /^sha256=([0-9a-f]{64})$/i;

export interface VerifyInput {
  /** The app secret, or every configured one (APP_SECRET, INSTAGRAM_APP_SECRET). */
  appSecret: string | readonly string[];
  rawBody: Buffer;
  /** The `X-Hub-Signature-256` header value, if any. A SHA-1 `X-Hub-Signature` is never accepted. */
  header: string | undefined;
}

/** Throws SignatureError unless the header is a valid HMAC-SHA256 of the raw body with one of the secrets. */
export function verifySignature({ appSecret, rawBody, header }: VerifyInput): void {
  if (header === undefined || header === '') throw new SignatureError('missing');
  const match = HEADER_FORMAT.exec(header.trim());
  if (!match?.[1]) throw new SignatureError('malformed');
  const given = Buffer.from(match[1].toLowerCase(), 'hex');
  const secrets = typeof appSecret === 'string' ? [appSecret] : appSecret;
  // Every secret is compared (no early exit), so the time taken does not say which one matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = hmac(secret, rawBody);
    // Both are 32 bytes here (the regex fixes the length); the check keeps timingSafeEqual safe anyway.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new SignatureError('mismatch');
}

/** The header value Meta would send for these bytes: `sha256=<hex>`. */
export function signatureFor(appSecret: string, rawBody: Buffer | string): string {
  return `sha256=${hmac(appSecret, Buffer.from(rawBody)).toString('hex')}`;
}

/** JSON the way Meta sends it: every non-ASCII UTF-16 unit escaped as \uXXXX. */
export function toMetaJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function hmac(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}
