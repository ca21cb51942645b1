// The Graph API and the Instagram API faked at the HTTP boundary (nock), for tests that run the
// real app in this process. Every request is recorded exactly (which API, method, path, query,
// body, Authorization header) and answered as Meta does: the Send API with recipient_id (and a
// message_id for a message), a user profile from `profiles` (a Graph error 404 for anyone else),
// thread control with success, a public reply under a comment with the new comment's id. Anything
// else is a Graph error 404 too, and listed by `unexpected()`.
// The bot over real HTTP (a spawned app, several instances, faults, latency): mock-graph-server.ts.
import nock from 'nock';
import type { SendRequest } from '../../services/graph/messages.ts';

export const GRAPH = 'https://graph.test';
export const INSTAGRAM = 'https://instagram.test';

export type Api = 'graph' | 'instagram';

/** A Send API body that carries a message (not a sender action). */
export type MessageBody = Extract<SendRequest, { message: unknown }>;

export interface FakeGraphCall {
  api: Api;
  method: string;
  /** Without the query string, e.g. `/v24.0/me/messages`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
  /** How many Send API calls came before this one (a private reply goes before its public reply). */
  sendsBefore: number;
}

export type Profile = Record<string, unknown>;

export interface FakeGraphOptions {
  /** The User Profile API's answer per user id; anyone else gets Graph's 404. */
  profiles?: Record<string, Profile> | ((id: string) => Profile | undefined);
  /** Makes the Send API refuse a body: the status and Graph's error body to answer with. */
  failSend?: (body: SendRequest, call: FakeGraphCall) => { status: number; body: unknown } | undefined;
}

export interface FakeGraph {
  /** Every request, in order. */
  readonly calls: readonly FakeGraphCall[];
  /** The Send API requests (POST me/messages, either API), in order. */
  sendCalls(): FakeGraphCall[];
  /** Their bodies: messages and sender actions (typing indicators). */
  sends(): SendRequest[];
  /** The messages, to everyone or to one recipient id (no sender actions). */
  messages(to?: string): MessageBody[];
  /** The texts of those messages. */
  texts(to?: string): string[];
  /** User profile lookups (GET /{user-id}). */
  profileLookups(): FakeGraphCall[];
  /** Thread control (POST me/pass_thread_control, me/take_thread_control). */
  threadControl(): FakeGraphCall[];
  /** Public replies under comments (POST /{comment-id}/comments on Facebook, /replies on Instagram). */
  commentReplies(): FakeGraphCall[];
  /** Requests that are none of the above (answered with a 404). */
  unexpected(): FakeGraphCall[];
}

type Route = 'send' | 'profile' | 'thread' | 'comment' | 'unexpected';

const VERSIONED = String.raw`^/v\d+\.\d+/`;
const ROUTES: [Route, string, RegExp][] = [
  ['send', 'POST', new RegExp(`${VERSIONED}me/messages$`)],
  ['thread', 'POST', new RegExp(`${VERSIONED}me/(pass|take)_thread_control$`)],
  ['comment', 'POST', new RegExp(`${VERSIONED}\\d+(_\\d+)?/(comments|replies)$`)],
  ['profile', 'GET', new RegExp(`${VERSIONED}(\\d+)$`)],
];

const notFound = { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'AbCdEf' } };

function routeOf(call: FakeGraphCall): Route {
  return ROUTES.find(([, method, path]) => call.method === method && path.test(call.path))?.[0] ?? 'unexpected';
}

/** Starts faking both APIs for the current test (test/setup.ts cleans nock up after each one). */
export function fakeGraph(options: FakeGraphOptions = {}): FakeGraph {
  const calls: FakeGraphCall[] = [];
  const routes = new Map<FakeGraphCall, Route>();
  let sends = 0;
  let ids = 0;
  const profileOf = (id: string): Profile | undefined => (typeof options.profiles === 'function' ? options.profiles(id) : options.profiles?.[id]);

  const answer = (call: FakeGraphCall, route: Route): nock.ReplyFnResult => {
    switch (route) {
      case 'send': {
        const body = call.body as SendRequest;
        const failure = options.failSend?.(body, call);
        if (failure) return [failure.status, failure.body as nock.ReplyBody];
        const recipient_id = body.recipient.id;
        if (!('message' in body)) return [200, { recipient_id }];
        ids += 1;
        return [200, { recipient_id, message_id: `m_bot_${ids}` }];
      }
      case 'thread':
        return [200, { success: true }];
      case 'comment':
        ids += 1;
        return [200, { id: `1790000000${String(ids).padStart(7, '0')}` }];
      case 'profile': {
        const id = call.path.split('/').pop() ?? '';
        const profile = profileOf(id);
        return profile ? [200, { id, ...profile }] : [404, notFound];
      }
      case 'unexpected':
        return [404, notFound];
    }
  };

  for (const [api, base] of [['graph', GRAPH], ['instagram', INSTAGRAM]] as const) {
    const reply = (method: string) =>
      function (this: nock.ReplyFnContext, uri: string, body: unknown): nock.ReplyFnResult {
        const url = new URL(uri, base);
        const auth: unknown = this.req.headers.authorization;
        const call: FakeGraphCall = {
          api,
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          body: body === '' ? undefined : body,
          authorization: typeof auth === 'string' ? auth : undefined,
          sendsBefore: sends,
        };
        const route = routeOf(call);
        calls.push(call);
        routes.set(call, route);
        if (route === 'send') sends += 1;
        return answer(call, route);
      };
    nock(base)
      .persist()
      .get(() => true)
      .query(true)
      .reply(reply('GET'))
      .post(() => true)
      .query(true)
      .reply(reply('POST'))
      .delete(() => true)
      .query(true)
      .reply(reply('DELETE'));
  }

  const on = (route: Route): FakeGraphCall[] => calls.filter((call) => routes.get(call) === route);
  const messages = (to?: string): MessageBody[] =>
    on('send')
      .map((call) => call.body as SendRequest)
      .filter((body): body is MessageBody => 'message' in body && (to === undefined || body.recipient.id === to));
  return {
    calls,
    sendCalls: () => on('send'),
    sends: () => on('send').map((call) => call.body as SendRequest),
    messages,
    texts: (to) => messages(to).flatMap((body) => ('text' in body.message ? [body.message.text] : [])),
    profileLookups: () => on('profile'),
    threadControl: () => on('thread'),
    commentReplies: () => on('comment'),
    unexpected: () => on('unexpected'),
  };
}
