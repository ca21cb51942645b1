// The emulated Graph API, without HTTP: a call comes in as method, path, query, body and token and
// leaves as a status and a JSON body shaped like Meta's. It answers what the bot and the setup
// scripts call for the emulated Pages (each with its own token, users and profile) and the app,
// checks tokens and appsecret_proof like Graph, and refuses anything else with Graph's
// "unsupported request" error.
import type { Config } from '../config.ts';
import { appSecretProof } from '../graph/client.ts';
import type { EmulatedAccount } from './accounts.ts';
import { createAccountNode, noSuchEdge, type AccountNode, type AccountNodeDeps } from './account-node.ts';
import type { GraphApi, GraphCall, GraphReply, Json } from './graph-shared.ts';
import { ParamError, graphError, listParam, ok, paramsOf, sameSecret, stringParam, tokenOf, unsupported } from './graph-shared.ts';

export type { GraphApi, GraphCall, GraphEffects, GraphReply } from './graph-shared.ts';
export { graphError, unsupported } from './graph-shared.ts';

export interface GraphApiDeps extends Omit<AccountNodeDeps, 'appId' | 'appName'> {
  config: Pick<Readonly<Config>, 'APP_ID' | 'APP_SECRET'>;
  /** The emulated Pages (Instagram Login accounts are the Instagram API's). */
  pages: readonly EmulatedAccount[];
  appName: string;
  /** Meta's GET challenge to a new subscription's callback: undefined when it answered correctly. */
  verifyCallback: (callbackUrl: string, verifyToken: string) => Promise<string | undefined>;
}

export function createGraphApi(deps: GraphApiDeps): GraphApi {
  const { config } = deps;
  const appToken = `${config.APP_ID}|${config.APP_SECRET}`;
  const nodes = deps.pages.map((page) => createAccountNode(page, { ...deps, appId: config.APP_ID }));
  const subscriptions = new Map<string, { object: string; callback_url: string; fields: string[]; include_values: boolean }>();

  const pageOfToken = (token: string): AccountNode | undefined => nodes.find((n) => n.account.tokens.some((t) => sameSecret(token, t)));

  return async (call) => {
    const segments = call.path.split('/').filter((s) => s !== '');
    const params = paramsOf(call);
    const node = segments[0] ?? '';
    // debug_token, like the app node, takes the app token (APP_ID|APP_SECRET).
    const appNode = node === config.APP_ID || node === 'debug_token';
    const auth = authenticate(call, params, appNode);
    if ('reply' in auth) return auth.reply;
    const page = auth.page;
    const method = call.method.toUpperCase();
    const edge = segments.slice(1).join('/');
    try {
      if (segments.length > 2) return unsupported(method, call.path);
      if (node === 'debug_token' && method === 'GET' && edge === '') return debugToken(params);
      if (appNode) return edge === 'subscriptions' ? await appSubscriptions(method, params) : unsupported(method, node);
      if (!page) return unsupported(method, node);
      return withAccount(pageCall(page, method, node, edge, params), page);
    } catch (err) {
      if (err instanceof ParamError) return withAccount(graphError(400, `(#100) ${err.message}`, 'OAuthException', 100), page);
      throw err;
    }
  };

  function authenticate(call: GraphCall, params: Json, appNode: boolean): { reply: GraphReply } | { page: AccountNode | undefined } {
    const token = tokenOf(call, params);
    if (token === undefined) return { reply: graphError(400, 'An access token is required to request this resource.', 'OAuthException', 190) };
    const page = pageOfToken(token);
    const isApp = sameSecret(token, appToken);
    if (!page && !isApp) return { reply: graphError(400, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190) };
    const proof = stringParam(params, 'appsecret_proof');
    if (proof === undefined) return { reply: graphError(400, 'API calls from the server require an appsecret_proof argument', 'GraphMethodException', 100) };
    if (!sameSecret(proof, appSecretProof(token, config.APP_SECRET))) {
      return { reply: graphError(400, 'Invalid appsecret_proof provided in the API argument', 'GraphMethodException', 100) };
    }
    if (appNode && !isApp) return { reply: graphError(400, '(#15) This method must be called with an app access_token.', 'OAuthException', 15) };
    if (!appNode && !page) return { reply: graphError(400, 'An active access token must be used to query information about the current user.', 'OAuthException', 2500) };
    return { page };
  }

  /** A call with a Page token: its own node (`me` or its id), one of its users, or one of its comments. */
  function pageCall(page: AccountNode, method: string, node: string, edge: string, params: Json): GraphReply {
    if (node === 'me' || node === page.account.page_id) {
      if (method === 'GET' && edge === '') return ok({ name: page.account.name, id: page.account.page_id });
      return page.edge(method, edge, params) ?? noSuchEdge(method, edge);
    }
    const user = page.user(node);
    if (user && edge === '' && method === 'GET') return page.userProfile(user, params);
    // A public reply under a comment on one of its posts (Facebook) or its linked Instagram account's media.
    return page.commentEdge(method, node, edge, params) ?? unsupported(method, node);
  }

  /** What Meta says about a Page token, so `npm run setup -- doctor` can be tried locally. */
  function debugToken(params: Json): GraphReply {
    const input = stringParam(params, 'input_token');
    const page = input === undefined ? undefined : pageOfToken(input);
    if (!page) return ok({ data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token.' } } });
    return ok({
      data: {
        app_id: config.APP_ID,
        type: 'PAGE',
        application: deps.appName,
        profile_id: page.account.page_id,
        is_valid: true,
        expires_at: 0,
        scopes: ['pages_messaging', 'pages_manage_metadata', 'pages_show_list', 'pages_manage_engagement', 'pages_read_user_content', 'pages_read_engagement', 'instagram_basic', 'instagram_manage_messages', 'instagram_manage_comments'],
      },
    });
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

function withAccount(reply: GraphReply, node: AccountNode | undefined): GraphReply {
  return node ? { ...reply, account: node.account.key } : reply;
}
