// The one Graph API client. Every call goes under a base URL and version (GRAPH_API_URL for Pages,
// INSTAGRAM_API_URL for Instagram Login accounts), carries the token in the Authorization header
// (never in a URL that could be logged) with `appsecret_proof` keyed by the app secret of that API,
// and every failure becomes a GraphApiError that holds no token and no request config.
import { createHmac } from 'node:crypto';
import axios, { type AxiosInstance, type InternalAxiosRequestConfig, type Method } from 'axios';
import { GraphApiError } from '../errors.ts';
import { redactText } from '../redact.ts';
import { bodyWithoutTokens, pathWithoutTokens, withoutTokens } from '../token-fields.ts';

export interface GraphClientOptions {
  baseUrl: string;
  version: string;
  /**
   * Default token (an account's token); a call may pass another one, e.g. the app token for setup.
   * A function is asked before every call, so a refreshed token is used from the next call on.
   */
  accessToken: string | (() => string);
  appSecret: string;
  timeoutMs?: number;
  /** Injected for tests; created from baseUrl otherwise. */
  http?: AxiosInstance;
}

/**
 * What an observer (the live dashboard) learns of one call: never a header, and no token-carrying
 * field (services/token-fields.ts). The response is as Graph sent it: the observer scrubs it.
 */
export interface ObservedGraphCall {
  method: string;
  /** Path below the version, as the caller gave it (a query string in it moves to `query`). */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** Undefined when no response arrived (network error, timeout). */
  status: number | undefined;
  response: unknown;
  ms: number;
  /** Which API answered, when the caller knows (several accounts: Graph API or Instagram API). */
  api?: 'graph' | 'instagram';
}

export type GraphObserver = (call: ObservedGraphCall) => void;

export interface GraphRequest {
  method: Method;
  /** Path below the version, e.g. `me/messages` or `1234/subscriptions`. */
  path: string;
  params?: Record<string, string | number | boolean | undefined>;
  data?: unknown;
  accessToken?: string;
}

export interface GraphClient {
  request<T>(req: GraphRequest): Promise<T>;
}

/** The HTTP instance the client uses by default; with `observe`, each call is also reported. */
export function createGraphHttp(options: { baseUrl: string; version: string; timeoutMs?: number; observe?: GraphObserver }): AxiosInstance {
  const http = axios.create({
    baseURL: `${options.baseUrl}/${options.version}/`,
    timeout: options.timeoutMs ?? 10_000,
    // Graph errors come back as JSON with a 4xx/5xx status: read them ourselves.
    validateStatus: () => true,
    // Graph answers API calls itself, never with a redirect; without following them axios calls
    // node:http directly instead of through follow-redirects (less work per call). A 3xx comes
    // back as an error like any other status that is not 2xx.
    maxRedirects: 0,
  });
  if (options.observe) observeCalls(http, options.observe);
  return http;
}

function observeCalls(http: AxiosInstance, observe: GraphObserver): void {
  const started = new WeakMap<object, number>();
  const report = (config: InternalAxiosRequestConfig, status: number | undefined, response: unknown) => {
    // No token-carrying field (access_token, input_token, appsecret_proof, …) leaves here, from the
    // params, a query string inside the path, or a JSON or form body; headers are never reported.
    const { path, query: inPath } = pathWithoutTokens(config.url ?? '');
    const query = { ...inPath, ...stringValues(withoutTokens((config.params ?? {}) as Record<string, unknown>)) };
    const type = config.headers.getContentType();
    const body = bodyWithoutTokens(config.data, typeof type === 'string' ? type : undefined);
    const ms = Math.round((performance.now() - (started.get(config) ?? performance.now())) * 10) / 10;
    try {
      observe({ method: (config.method ?? 'get').toUpperCase(), path, query, body, status, response, ms });
    } catch {
      // An observer never breaks a call.
    }
  };
  http.interceptors.request.use((config) => {
    started.set(config, performance.now());
    return config;
  });
  http.interceptors.response.use(
    (response) => {
      report(response.config, response.status, response.data);
      return response;
    },
    (err: unknown) => {
      if (axios.isAxiosError(err) && err.config) report(err.config, undefined, undefined);
      // Rethrown unchanged: the client turns it into a GraphApiError.
      throw err;
    },
  );
}

function stringValues(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return out;
}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const http = options.http ?? createGraphHttp(options);
  const proofOf = memoProofs(options.appSecret);
  return {
    async request<T>(req: GraphRequest): Promise<T> {
      const token = req.accessToken ?? (typeof options.accessToken === 'function' ? options.accessToken() : options.accessToken);
      const endpoint = `${req.method.toUpperCase()} /${options.version}/${req.path}`;
      let response;
      try {
        response = await http.request({
          method: req.method,
          url: req.path,
          params: { ...req.params, appsecret_proof: proofOf(token) },
          data: req.data,
          headers: { Authorization: `Bearer ${token}` },
        });
      } catch (err) {
        throw networkError(err, endpoint);
      }
      if (response.status >= 200 && response.status < 300) return response.data as T;
      throw graphError(response.status, response.data, endpoint, [token, options.appSecret]);
    },
  };
}

/** The Graph client a config describes: its base URL, version, Page token and app secret. */
export function graphClientFor(
  config: { GRAPH_API_URL: string; GRAPH_API_VERSION: string; PAGE_ACCESS_TOKEN: string; APP_SECRET: string },
  http?: AxiosInstance,
): GraphClient {
  return createGraphClient({
    baseUrl: config.GRAPH_API_URL,
    version: config.GRAPH_API_VERSION,
    accessToken: config.PAGE_ACCESS_TOKEN,
    appSecret: config.APP_SECRET,
    ...(http ? { http } : {}),
  });
}

/** Most tokens whose proofs one client keeps (one per account it sends for; more only recompute). */
const PROOFS_KEPT = 64;

/** appSecretProof for the app secret, remembered per token: every call carries one, and a token serves many calls. */
function memoProofs(appSecret: string): (token: string) => string {
  const proofs = new Map<string, string>();
  return (token) => {
    let proof = proofs.get(token);
    if (proof === undefined) {
      if (proofs.size >= PROOFS_KEPT) proofs.clear();
      proof = appSecretProof(token, appSecret);
      proofs.set(token, proof);
    }
    return proof;
  };
}

/** HMAC-SHA256 of the access token keyed by the app secret, as Graph expects. */
export function appSecretProof(accessToken: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

interface GraphErrorBody {
  error?: { message?: unknown; type?: unknown; code?: unknown; error_subcode?: unknown; fbtrace_id?: unknown };
}

export function graphError(status: number, body: unknown, endpoint: string, secrets: readonly string[]): GraphApiError {
  const error = (typeof body === 'object' && body !== null ? (body as GraphErrorBody).error : undefined) ?? {};
  return new GraphApiError({
    status,
    code: asNumber(error.code),
    error_subcode: asNumber(error.error_subcode),
    type: typeof error.type === 'string' ? error.type : undefined,
    fbtrace_id: typeof error.fbtrace_id === 'string' ? error.fbtrace_id : undefined,
    endpoint,
    graphMessage: typeof error.message === 'string' ? scrub(error.message, secrets) : `HTTP ${status} without a Graph error body`,
  });
}

/**
 * Graph echoes a malformed token back in some messages (code 190), escaped or not: never keep it.
 * Facebook tokens start with EA, Instagram User tokens with IG (IGAA…, IGQV…).
 */
export function scrub(message: string, secrets: readonly string[]): string {
  return redactText(message, secrets).replace(/\b(?:EA|IG)[A-Za-z0-9_-]{20,}/g, '[REDACTED]');
}

export function networkError(err: unknown, endpoint: string): GraphApiError {
  // Only the code and a fixed text: axios errors hold the request config, headers included.
  const code = axios.isAxiosError(err) ? (err.code ?? 'ERR_NETWORK') : 'ERR_UNKNOWN';
  const text = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'request timed out' : `network error ${code}`;
  return new GraphApiError({
    status: undefined,
    code: undefined,
    error_subcode: undefined,
    type: code,
    fbtrace_id: undefined,
    endpoint,
    graphMessage: text,
  });
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
