// The emulated Graph API, without HTTP: a call comes in as method, path, query, body and token and
// leaves as a status and a JSON body shaped like Meta's. It answers what the bot and the setup
// scripts call, checks tokens and appsecret_proof like Graph, and refuses anything else with
// Graph's "unsupported request" error.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { appSecretProof } from '../graph/client.ts';
import { newMid, newTraceId } from './ids.ts';
import type { AccountIds } from './notifications.ts';
import { accountOf } from './notifications.ts';
import type { UserRegistry } from './users.ts';
import { fullName } from './users.ts';
import type { Posts } from './posts.ts';
import type { SimUser } from './types.ts';
import { sendBodyProblem } from './validate-send.ts';

type Json = Record<string, unknown>;

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
  /** Runs once the answer has been sent (delivery receipts must follow Meta's answer). */
  after?: () => void;
}

/** What a Graph call does to the simulated users' side of the conversation. */
export interface GraphEffects {
  messageSent(user: SimUser, mid: string, message: unknown): void;
  senderAction(user: SimUser, action: string): void;
  threadPassed(user: SimUser, targetAppId: string, metadata: string | undefined): void;
  threadTaken(user: SimUser, metadata: string | undefined): void;
}

export interface GraphApiDeps {
  config: Pick<Readonly<Config>, 'APP_ID' | 'APP_SECRET' | 'PAGE_ACCESS_TOKEN' | 'PAGE_ID'>;
  ids: AccountIds;
  users: UserRegistry;
  effects: GraphEffects;
  /** Comments on the sample posts: private replies to them and public replies under them. */
  comments?: Pick<Posts, 'privateReply' | 'publicReply'>;
  pageName: string;
  /** Absolute URL of a picture for the User Profile API's `profile_pic`. */
  profilePic: (user: SimUser) => string;
  /** Meta's GET challenge to a new subscription's callback: undefined when it answered correctly. */
  verifyCallback: (callbackUrl: string, verifyToken: string) => Promise<string | undefined>;
}

export type GraphApi = (call: GraphCall) => Promise<GraphReply>;

const PAGE_INBOX_APP_ID = '263902037430900';

const MESSENGER_PROFILE_FIELDS = [
  'get_started',
  'greeting',
  'ice_breakers',
  'persistent_menu',
  'whitelisted_domains',
  'account_linking_url',
  'commands',
  'title',
  'description',
];

const PAGE_FIELDS = new Set([
  'messages',
  'message_echoes',
  'message_edits',
  'messaging_postbacks',
  'message_reads',
  'message_deliveries',
  'message_reactions',
  'messaging_referrals',
  'messaging_optins',
  'messaging_handovers',
  'messaging_policy_enforcement',
  'messaging_account_linking',
  'messaging_game_plays',
  'messaging_feedback',
  'messaging_customer_information',
  'messaging_seen',
  'standby',
  'feed',
]);

const USER_FIELDS = {
  messenger: ['id', 'first_name', 'last_name', 'name', 'profile_pic', 'locale'],
  instagram: ['id', 'name', 'username', 'profile_pic', 'follower_count', 'is_user_follow_business', 'is_business_follow_user', 'is_verified_user'],
} as const;

export function createGraphApi(deps: GraphApiDeps): GraphApi {
  const { config, users } = deps;
  const appToken = `${config.APP_ID}|${config.APP_SECRET}`;
  const profiles = new Map<string, Json>();
  const subscriptions = new Map<string, { object: string; callback_url: string; fields: string[]; include_values: boolean }>();
  let subscribedFields: string[] | undefined;

  return async (call) => {
    const segments = call.path.split('/').filter((s) => s !== '');
    const params: Json = { ...call.query, ...(isObject(call.body) ? call.body : {}) };
    const node = segments[0] ?? '';
    // debug_token, like the app node, takes the app token (APP_ID|APP_SECRET).
    const appNode = node === config.APP_ID || node === 'debug_token';
    const auth = authenticate(call, params, appNode);
    if (auth) return auth;
    const method = call.method.toUpperCase();
    const edge = segments.slice(1).join('/');
    const pageNode = node === 'me' || node === config.PAGE_ID;
    try {
      if (segments.length > 2) return unsupported(method, call.path);
      if (node === 'debug_token' && method === 'GET' && edge === '') return debugToken(params);
      if (appNode) return edge === 'subscriptions' ? await appSubscriptions(method, params) : unsupported(method, node);
      if (pageNode) return pageEdge(method, edge, params);
      const commentReply = method === 'POST' && segments.length === 2 ? deps.comments?.publicReply(node, edge, params) : undefined;
      if (commentReply) return commentReply;
      const user = users.get(node);
      if (user && edge === '' && method === 'GET') return userProfile(user, params);
      return unsupported(method, node);
    } catch (err) {
      if (err instanceof ParamError) return graphError(400, `(#100) ${err.message}`, 'OAuthException', 100);
      throw err;
    }
  };

  function authenticate(call: GraphCall, params: Json, appNode: boolean): GraphReply | undefined {
    const token = call.bearer ?? stringParam(params, 'access_token');
    if (token === undefined || token === '') {
      return graphError(400, 'An access token is required to request this resource.', 'OAuthException', 190);
    }
    const isPage = sameSecret(token, config.PAGE_ACCESS_TOKEN);
    const isApp = sameSecret(token, appToken);
    if (!isPage && !isApp) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190);
    const proof = stringParam(params, 'appsecret_proof');
    if (proof === undefined) return graphError(400, 'API calls from the server require an appsecret_proof argument', 'GraphMethodException', 100);
    if (!sameSecret(proof, appSecretProof(token, config.APP_SECRET))) {
      return graphError(400, 'Invalid appsecret_proof provided in the API argument', 'GraphMethodException', 100);
    }
    if (appNode && !isApp) return graphError(400, '(#15) This method must be called with an app access_token.', 'OAuthException', 15);
    if (!appNode && !isPage) {
      return graphError(400, 'An active access token must be used to query information about the current user.', 'OAuthException', 2500);
    }
    return undefined;
  }

  function pageEdge(method: string, edge: string, params: Json): GraphReply {
    switch (`${method} ${edge}`) {
      case 'GET ':
        return ok({ name: deps.pageName, id: config.PAGE_ID });
      case 'POST messages':
        return sendMessage(params);
      case 'GET messenger_profile':
        return getMessengerProfile(params);
      case 'POST messenger_profile':
        return setMessengerProfile(params);
      case 'DELETE messenger_profile':
        return deleteMessengerProfile(params);
      case 'POST pass_thread_control':
        return passThread(params);
      case 'POST take_thread_control':
        return takeThread(params);
      case 'POST request_thread_control':
        return withRecipient(params, (user) => ok({ success: true }, user.id));
      case 'GET thread_owner':
        return threadOwner(params);
      case 'GET subscribed_apps':
        return ok({ data: subscribedFields ? [{ category: 'Business', name: `${deps.pageName} bot`, id: config.APP_ID, subscribed_fields: subscribedFields }] : [] });
      case 'POST subscribed_apps':
        return subscribePage(params);
      case 'DELETE subscribed_apps':
        subscribedFields = undefined;
        return ok({ success: true });
      default:
        return unsupported(method, edge === '' ? 'me' : `me/${edge}`);
    }
  }

  /** What Meta says about the emulator's Page token, so `npm run setup -- doctor` can be tried locally. */
  function debugToken(params: Json): GraphReply {
    const input = stringParam(params, 'input_token');
    if (input === undefined || !sameSecret(input, config.PAGE_ACCESS_TOKEN)) {
      return ok({ data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token.' } } });
    }
    return ok({
      data: {
        app_id: config.APP_ID,
        type: 'PAGE',
        application: `${deps.pageName} bot`,
        profile_id: config.PAGE_ID,
        is_valid: true,
        expires_at: 0,
        scopes: ['pages_messaging', 'pages_manage_metadata', 'pages_show_list', 'pages_manage_engagement', 'pages_read_user_content', 'pages_read_engagement', 'instagram_basic', 'instagram_manage_messages', 'instagram_manage_comments'],
      },
    });
  }

  function sendMessage(params: Json): GraphReply {
    const body: Json = { ...params, recipient: jsonParam(params, 'recipient'), message: jsonParam(params, 'message') };
    if (isObject(body.recipient) && body.recipient.comment_id !== undefined && deps.comments) return deps.comments.privateReply(body);
    const recipientId = isObject(body.recipient) && typeof body.recipient.id === 'string' ? body.recipient.id : undefined;
    const user = recipientId === undefined ? undefined : users.get(recipientId);
    if (recipientId !== undefined && !user) return graphError(400, '(#100) No matching user found', 'OAuthException', 100, 2018001);
    const problem = sendBodyProblem(body, user?.channel ?? 'messenger');
    if (problem || !user) return graphError(400, problem ?? '(#100) The parameter recipient is required', 'OAuthException', 100, undefined, user?.id);
    users.touch(user);
    if (typeof body.sender_action === 'string') {
      const action = body.sender_action;
      return { ...ok({ recipient_id: user.id }, user.id), after: () => deps.effects.senderAction(user, action) };
    }
    const mid = newMid(user.channel, accountOf(user, deps.ids));
    const message = body.message;
    return { ...ok({ recipient_id: user.id, message_id: mid }, user.id), after: () => deps.effects.messageSent(user, mid, message) };
  }

  function userProfile(user: SimUser, params: Json): GraphReply {
    const requested = listParam(params, 'fields') ?? (user.channel === 'messenger' ? ['first_name', 'last_name', 'profile_pic'] : ['name', 'username', 'profile_pic']);
    const available: readonly string[] = USER_FIELDS[user.channel];
    const unknown = requested.find((f) => !available.includes(f));
    if (unknown) {
      return graphError(400, `(#100) Tried accessing nonexisting field (${unknown}) on node type (${user.channel === 'messenger' ? 'User' : 'IGUser'})`, 'OAuthException', 100, undefined, user.id);
    }
    const values: Json = {
      first_name: user.first_name,
      last_name: user.last_name,
      name: fullName(user),
      username: user.username,
      profile_pic: deps.profilePic(user),
      locale: user.locale,
      follower_count: 0,
      is_user_follow_business: false,
      is_business_follow_user: false,
      is_verified_user: false,
    };
    const profile: Json = {};
    for (const field of requested) if (field !== 'id') profile[field] = values[field];
    profile.id = user.id;
    return ok(profile, user.id);
  }

  function getMessengerProfile(params: Json): GraphReply {
    const fields = listParam(params, 'fields');
    if (!fields) throw new ParamError('The parameter fields is required');
    const stored = profiles.get(platformOf(params)) ?? {};
    const picked = Object.fromEntries(fields.filter((f) => f in stored).map((f) => [f, stored[f]]));
    return ok({ data: Object.keys(picked).length > 0 ? [picked] : [] });
  }

  function setMessengerProfile(params: Json): GraphReply {
    const given = MESSENGER_PROFILE_FIELDS.filter((f) => params[f] !== undefined);
    if (given.length === 0) throw new ParamError(`Requires one of the params: ${MESSENGER_PROFILE_FIELDS.join(', ')}`);
    const platform = platformOf(params);
    const stored = profiles.get(platform) ?? {};
    for (const field of given) stored[field] = jsonParam(params, field);
    profiles.set(platform, stored);
    return ok({ result: 'success' });
  }

  function deleteMessengerProfile(params: Json): GraphReply {
    const fields = listParam(params, 'fields');
    if (!fields) throw new ParamError('The parameter fields is required');
    const stored = profiles.get(platformOf(params)) ?? {};
    for (const field of fields) delete stored[field];
    return ok({ result: 'success' });
  }

  function passThread(params: Json): GraphReply {
    const target = stringParam(params, 'target_app_id');
    if (target === undefined) throw new ParamError('The parameter target_app_id is required');
    if (target !== PAGE_INBOX_APP_ID && target !== config.APP_ID) throw new ParamError('Invalid target_app_id: the app is not a receiver of this Page');
    const metadata = stringParam(params, 'metadata');
    return withRecipient(params, (user) => ({ ...ok({ success: true }, user.id), after: () => deps.effects.threadPassed(user, target, metadata) }));
  }

  function takeThread(params: Json): GraphReply {
    const metadata = stringParam(params, 'metadata');
    return withRecipient(params, (user) => ({ ...ok({ success: true }, user.id), after: () => deps.effects.threadTaken(user, metadata) }));
  }

  function threadOwner(params: Json): GraphReply {
    const id = stringParam(params, 'recipient');
    const user = id === undefined ? undefined : users.get(id);
    if (!user) throw new ParamError('The parameter recipient is required and must be a user of this Page');
    return ok({ data: [{ thread_owner: { app_id: user.thread_owner === 'app' ? config.APP_ID : PAGE_INBOX_APP_ID } }] }, user.id);
  }

  function withRecipient(params: Json, then: (user: SimUser) => GraphReply): GraphReply {
    const recipient = jsonParam(params, 'recipient');
    const id = isObject(recipient) && typeof recipient.id === 'string' ? recipient.id : undefined;
    if (id === undefined) throw new ParamError('The parameter recipient is required');
    const user = users.get(id);
    if (!user) return graphError(400, '(#100) No matching user found', 'OAuthException', 100, 2018001);
    return then(user);
  }

  function subscribePage(params: Json): GraphReply {
    const fields = listParam(params, 'subscribed_fields');
    if (!fields || fields.length === 0) throw new ParamError('The parameter subscribed_fields is required');
    const bad = fields.find((f) => !PAGE_FIELDS.has(f));
    if (bad) throw new ParamError(`Param subscribed_fields must be one of {${[...PAGE_FIELDS].join(', ')}} - got "${bad}"`);
    subscribedFields = fields;
    return ok({ success: true });
  }

  async function appSubscriptions(method: string, params: Json): Promise<GraphReply> {
    if (method === 'GET') {
      const data = [...subscriptions.values()].map((s) => ({ object: s.object, callback_url: s.callback_url, active: true, fields: s.fields.map((name) => ({ name, version: 'v24.0' })) }));
      return ok({ data });
    }
    if (method === 'DELETE') {
      const object = stringParam(params, 'object');
      if (object === undefined) subscriptions.clear();
      else subscriptions.delete(object);
      return ok({ success: true });
    }
    if (method !== 'POST') return unsupported(method, `${config.APP_ID}/subscriptions`);
    const object = stringParam(params, 'object');
    const callback = stringParam(params, 'callback_url');
    const verifyToken = stringParam(params, 'verify_token');
    const fields = listParam(params, 'fields') ?? [];
    if (object === undefined) throw new ParamError('The parameter object is required');
    if (callback === undefined) throw new ParamError('The parameter callback_url is required');
    if (verifyToken === undefined) throw new ParamError('The parameter verify_token is required');
    const problem = await deps.verifyCallback(callback, verifyToken);
    if (problem) return graphError(400, `(#2200) Callback verification failed: ${problem}`, 'OAuthException', 2200);
    subscriptions.set(object, { object, callback_url: callback, fields, include_values: params.include_values === true || params.include_values === 'true' });
    return ok({ success: true });
  }
}

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

function ok(body: unknown, userId?: string): GraphReply {
  return { status: 200, body, userId };
}

class ParamError extends Error {}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringParam(params: Json, name: string): string | undefined {
  const value = params[name];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : undefined;
}

/** Graph takes objects as JSON or, in form-encoded and query parameters, as JSON text. */
function jsonParam(params: Json, name: string): unknown {
  const value = params[name];
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new ParamError(`param ${name} must be valid JSON`);
  }
}

/** A list given as an array, a JSON array text or a comma-separated string. */
function listParam(params: Json, name: string): string[] | undefined {
  const value = jsonParam(params, name);
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || !items.every((v): v is string => typeof v === 'string')) throw new ParamError(`param ${name} must be a list of names`);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function platformOf(params: Json): string {
  return params.platform === 'instagram' ? 'instagram' : 'messenger';
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
