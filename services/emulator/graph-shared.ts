// What the emulated Graph API and the emulated Instagram API share: a call and its reply without
// HTTP, Graph's error shapes, and how Graph reads parameters (query, JSON or form body; objects as
// JSON text; lists as arrays, JSON or comma-separated).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountApi } from '../accounts/types.ts';
import type { EmulatedAccount } from './accounts.ts';
import { newTraceId } from './ids.ts';
import type { SimUser } from './types.ts';

export type Json = Record<string, unknown>;

export interface GraphCall {
  method: string;
  version: string;
  /** Path below the version, without leading slash: `me/messages`, `1234/subscriptions`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** Token from `Authorization: Bearer …`, if any. */
  bearer: string | undefined;
}

export interface GraphReply {
  status: number;
  body: unknown;
  /** The simulated user the call was about, so the inspector can show it on that user's page. */
  userId: string | undefined;
  /** The account whose token the call carried, for the inspector. */
  account?: string;
  /** Runs once the answer has been sent (delivery receipts must follow Meta's answer). */
  after?: () => void;
}

/** What a call does to the simulated users' side of the conversation. */
export interface GraphEffects {
  messageSent(user: SimUser, mid: string, message: unknown): void;
  senderAction(user: SimUser, action: string): void;
  threadPassed(user: SimUser, targetAppId: string, metadata: string | undefined): void;
  threadTaken(user: SimUser, metadata: string | undefined): void;
}

export type GraphApi = (call: GraphCall) => Promise<GraphReply>;

/** Comments on the emulator's sample posts (services/emulator/posts.ts), as an account's API sees them. */
export interface CommentsApi {
  /** A Send API body whose recipient is `{ comment_id }`, sent with the account's token. */
  privateReply(account: EmulatedAccount, body: Json): GraphReply;
  /** `POST /{comment-id}/{edge}` with the account's token; undefined when it is none of the account's comments. */
  publicReply(account: EmulatedAccount, commentId: string, edge: string, params: Json): GraphReply | undefined;
}

/** The emulated API of each kind: its calls are recorded with the API that answered. */
export type EmulatedApi = AccountApi;

export const PAGE_INBOX_APP_ID = '263902037430900';

/** Graph's answer for a path or method it does not support. */
export function unsupported(method: string, node: string, userId?: string): GraphReply {
  return graphError(
    400,
    `Unsupported ${method.toLowerCase()} request. Object with ID '${node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    'GraphMethodException',
    100,
    33,
    userId,
  );
}

export function graphError(status: number, message: string, type: string, code: number, subcode?: number, userId?: string): GraphReply {
  const error: Json = { message, type, code, ...(subcode === undefined ? {} : { error_subcode: subcode }), fbtrace_id: newTraceId() };
  return { status, body: { error }, userId };
}

export function ok(body: unknown, userId?: string): GraphReply {
  return { status: 200, body, userId };
}

/** A parameter Graph would refuse: answered as `(#100) …`. */
export class ParamError extends Error {}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Query and body parameters together, as Graph reads them. */
export function paramsOf(call: GraphCall): Json {
  return { ...call.query, ...(isObject(call.body) ? call.body : {}) };
}

export function stringParam(params: Json, name: string): string | undefined {
  const value = params[name];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : undefined;
}

/** Graph takes objects as JSON or, in form-encoded and query parameters, as JSON text. */
export function jsonParam(params: Json, name: string): unknown {
  const value = params[name];
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new ParamError(`param ${name} must be valid JSON`);
  }
}

/** A list given as an array, a JSON array text or a comma-separated string. */
export function listParam(params: Json, name: string): string[] | undefined {
  const value = jsonParam(params, name);
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || !items.every((v): v is string => typeof v === 'string')) throw new ParamError(`param ${name} must be a list of names`);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

export function platformOf(params: Json): string {
  return params.platform === 'instagram' ? 'instagram' : 'messenger';
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a call carries: the Authorization header's, or an access_token parameter. */
export function tokenOf(call: GraphCall, params: Json): string | undefined {
  const token = call.bearer ?? stringParam(params, 'access_token');
  return token === '' ? undefined : token;
}
