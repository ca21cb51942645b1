// Meta's refresh endpoint for long-lived Instagram User tokens (Instagram API with Instagram
// Login): GET INSTAGRAM_API_URL/{version}/refresh_access_token?grant_type=ig_refresh_token&access_token=…
// It is the one call that takes the token in its query string, so it has its own HTTP instance:
// no observer (the dashboard, the inspector) ever sees it, its errors carry the path without the
// query and with every token scrubbed, and the answer (the new token) is returned, never logged.
import axios, { type AxiosInstance } from 'axios';
import { GraphApiError } from '../errors.ts';
import { graphError, networkError } from './client.ts';

export interface RefreshedToken {
  access_token: string;
  /** Seconds until the new token expires (about 60 days). */
  expires_in: number;
}

/** Refreshes one long-lived token; rejects with GraphApiError (without any token in it). */
export type RefreshCall = (token: string) => Promise<RefreshedToken>;

export interface RefreshCallOptions {
  /** INSTAGRAM_API_URL. */
  baseUrl: string;
  version: string;
  timeoutMs?: number;
  /** Injected for tests; a fresh instance without interceptors otherwise. */
  http?: AxiosInstance;
}

export function createRefreshCall(options: RefreshCallOptions): RefreshCall {
  const http = options.http ?? axios.create({ baseURL: `${options.baseUrl}/${options.version}/`, timeout: options.timeoutMs ?? 10_000, validateStatus: () => true });
  const endpoint = `GET /${options.version}/refresh_access_token`;
  return async (token) => {
    let response;
    try {
      response = await http.request({ method: 'GET', url: 'refresh_access_token', params: { grant_type: 'ig_refresh_token', access_token: token } });
    } catch (err) {
      throw networkError(err, endpoint);
    }
    if (response.status < 200 || response.status >= 300) throw graphError(response.status, response.data, endpoint, [token]);
    const body = response.data as { access_token?: unknown; expires_in?: unknown } | undefined;
    const expiresIn = typeof body?.expires_in === 'string' && /^\d+$/.test(body.expires_in) ? Number(body.expires_in) : body?.expires_in;
    if (typeof body?.access_token !== 'string' || body.access_token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new GraphApiError({ status: response.status, code: undefined, error_subcode: undefined, type: 'invalid_response', fbtrace_id: undefined, endpoint, graphMessage: 'the answer has no access_token and expires_in' });
    }
    return { access_token: body.access_token, expires_in: expiresIn };
  };
}
