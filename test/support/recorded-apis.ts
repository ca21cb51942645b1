// Fakes the Graph API and the Instagram API at the HTTP boundary (nock), recording every request
// exactly: host, method, path, query, body and Authorization header. Sends answer like Meta
// (recipient_id, message_id); a user profile answers with a name; anything else is a 404 Graph error.
import nock from 'nock';
import { GRAPH, INSTAGRAM } from './accounts.ts';

export interface RecordedRequest {
  host: 'graph' | 'instagram';
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

export interface RecordedApis {
  requests: RecordedRequest[];
  /** The Send API requests (POST …/me/messages), in order. */
  sends(): RecordedRequest[];
  /** Requests that were neither a send nor a profile lookup. */
  others(): RecordedRequest[];
}

export function recordApis(options: { failSend?: (request: RecordedRequest) => { status: number; body: unknown } | undefined } = {}): RecordedApis {
  const requests: RecordedRequest[] = [];
  let counter = 0;
  for (const [host, base] of [['graph', GRAPH], ['instagram', INSTAGRAM]] as const) {
    const answer = (method: string) =>
      function (this: nock.ReplyFnContext, uri: string, body: unknown): nock.ReplyFnResult {
        const url = new URL(uri, base);
        const auth: unknown = this.req.headers.authorization;
        const request: RecordedRequest = { host, method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: body === '' ? undefined : body, authorization: typeof auth === 'string' ? auth : undefined };
        requests.push(request);
        if (method === 'POST' && url.pathname.endsWith('/me/messages')) {
          const failure = options.failSend?.(request);
          if (failure) return [failure.status, failure.body as nock.ReplyBody];
          const recipient = (body as { recipient?: { id?: string } }).recipient?.id;
          counter += 1;
          return [200, typeof body === 'object' && body !== null && 'message' in body ? { recipient_id: recipient, message_id: `m_${host}_${counter}` } : { recipient_id: recipient }];
        }
        const id = /^\/v\d+\.\d+\/(\d+)$/.exec(url.pathname)?.[1];
        if (method === 'GET' && id !== undefined) return [200, { id, name: `User ${id.slice(-4)}`, first_name: `User${id.slice(-4)}` }];
        return [404, { error: { message: 'Unsupported request', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'Trace' } }];
      };
    nock(base).persist().get(/.*/).reply(answer('GET')).post(/.*/).reply(answer('POST')).delete(/.*/).reply(answer('DELETE'));
  }
  return {
    requests,
    sends: () => requests.filter((r) => r.method === 'POST' && r.path.endsWith('/me/messages')),
    others: () => requests.filter((r) => !(r.method === 'POST' && r.path.endsWith('/me/messages')) && !(r.method === 'GET' && /^\/v\d+\.\d+\/\d+$/.test(r.path))),
  };
}
