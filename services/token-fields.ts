// The fields that carry a credential (tokens, proofs, secrets, auth headers), and copies of
// queries, headers and request bodies without them, for whatever records calls (the live
// dashboard, the emulator's inspector). A record says which call was made, never with what token.
// Values are left as they are: scrubbing secret values anywhere is services/redact.ts's job.
import { REDACTED, TOO_DEEP } from './redact.ts';

/** Dropped wherever they appear (compared case-insensitively). */
const TOKEN_FIELDS = new Set([
  'access_token',
  'input_token',
  'appsecret_proof',
  'fb_exchange_token',
  'client_secret',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-hub-signature',
  'x-hub-signature-256',
]);
/** Kept as [REDACTED], so a subscription call still shows that a verify token was given. */
const MASKED_FIELDS = new Set(['verify_token', 'hub.verify_token']);
const MAX_DEPTH = 64;

export function isTokenField(name: string): boolean {
  return TOKEN_FIELDS.has(name.toLowerCase());
}

/** A copy of a query, headers or a parsed body, at any depth, without token fields. */
export function withoutTokens<T>(value: T): T {
  return strip(value, 0) as T;
}

function strip(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => strip(item, depth + 1));
  if (value instanceof URLSearchParams) return formWithoutTokens(value);
  // What JSON.stringify would show of it (a Date's text, an axios header object's fields).
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return strip((toJSON as () => unknown).call(value), depth + 1);
  const kept = Object.entries(value)
    .filter(([key]) => !isTokenField(key))
    .map(([key, v]) => [key, MASKED_FIELDS.has(key.toLowerCase()) ? REDACTED : strip(v, depth + 1)]);
  return Object.fromEntries(kept);
}

/**
 * A request body as recorded: an object without token fields; JSON text parsed, then the same;
 * form-encoded text (by its content type, or its shape when there is none) re-encoded without
 * them. Any other text is kept as it is.
 */
export function bodyWithoutTokens(body: unknown, contentType?: string): unknown {
  if (body instanceof URLSearchParams) return formWithoutTokens(body);
  if (typeof body !== 'string') return withoutTokens(body);
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const parsed = type === 'application/x-www-form-urlencoded' ? undefined : parseJson(body);
  if (parsed !== undefined) return withoutTokens(parsed);
  if (type === 'application/x-www-form-urlencoded' || (type === undefined && /^[^=&\s]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*$/.test(body))) {
    return formWithoutTokens(new URLSearchParams(body));
  }
  return body;
}

/** A path below the version as recorded: a query string inside it loses its token fields too. */
export function pathWithoutTokens(path: string): { path: string; query: Record<string, string> } {
  const at = path.indexOf('?');
  if (at < 0) return { path, query: {} };
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(path.slice(at + 1))) {
    if (!isTokenField(key)) query[key] = MASKED_FIELDS.has(key.toLowerCase()) ? REDACTED : value;
  }
  return { path: path.slice(0, at), query };
}

function formWithoutTokens(form: URLSearchParams): string {
  const kept = new URLSearchParams();
  for (const [key, value] of form) if (!isTokenField(key)) kept.append(key, MASKED_FIELDS.has(key.toLowerCase()) ? REDACTED : value);
  return kept.toString();
}

function parseJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
