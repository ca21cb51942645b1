// The emulated Instagram API (graph.instagram.com, the Instagram API with Instagram Login), without
// HTTP, for the emulated Instagram Login accounts. Calls carry the account's Instagram User token
// (bearer, or access_token) and an appsecret_proof keyed by the Instagram app secret; the refresh
// endpoint takes the token in its query string, as Meta documents it, and hands out a new token
// that works from then on (the old one keeps working until it expires, as Meta's do).
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { appSecretProof } from '../graph/client.ts';
import type { EmulatedAccount } from './accounts.ts';
import { createAccountNode, noSuchEdge, type AccountNode, type AccountNodeDeps } from './account-node.ts';
import type { GraphApi, GraphCall, GraphReply, Json } from './graph-shared.ts';
import { ParamError, graphError, listParam, ok, paramsOf, sameSecret, stringParam, tokenOf, unsupported } from './graph-shared.ts';

const DAY_S = 24 * 60 * 60;
/** Long-lived Instagram User tokens last 60 days from their issue or last refresh. */
export const TOKEN_LIFETIME_S = 60 * DAY_S;

export interface InstagramApiDeps extends Omit<AccountNodeDeps, 'appId' | 'appName'> {
  config: Pick<Readonly<Config>, 'APP_ID' | 'INSTAGRAM_APP_SECRET'>;
  /** The emulated Instagram Login accounts. */
  accounts: readonly EmulatedAccount[];
  appName: string;
  now: () => number;
  /** Told each token a refresh hands out, before the answer leaves (it becomes a secret to scrub). */
  issued?: (token: string) => void;
}

interface IssuedToken {
  node: AccountNode;
  issuedAt: number;
}

export function createInstagramApi(deps: InstagramApiDeps): GraphApi {
  const { config } = deps;
  const nodes = deps.accounts.map((account) => createAccountNode(account, { ...deps, appId: config.APP_ID }));
  // Every token handed out, with when: the configured ones count as issued at start-up.
  const issued: { token: string; info: IssuedToken }[] = nodes.flatMap((node) => node.account.tokens.map((token) => ({ token, info: { node, issuedAt: deps.now() } })));
  const find = (token: string): IssuedToken | undefined => {
    const hit = issued.find((t) => sameSecret(token, t.token));
    return hit && deps.now() < hit.info.issuedAt + TOKEN_LIFETIME_S * 1000 ? hit.info : undefined;
  };

  return (call) => {
    const segments = call.path.split('/').filter((s) => s !== '');
    const params = paramsOf(call);
    const method = call.method.toUpperCase();
    const node = segments[0] ?? '';
    const edge = segments.slice(1).join('/');
    try {
      if (node === 'refresh_access_token' && edge === '' && method === 'GET') return Promise.resolve(refresh(params));
      const auth = authenticate(call, params);
      if ('reply' in auth) return Promise.resolve(auth.reply);
      const account = auth.account;
      if (segments.length > 2) return Promise.resolve(withAccount(unsupported(method, call.path), account));
      if (node === 'debug_token' && method === 'GET' && edge === '') return Promise.resolve(withAccount(debugToken(params), account));
      return Promise.resolve(withAccount(accountCall(account, method, node, edge, params), account));
    } catch (err) {
      if (err instanceof ParamError) return Promise.resolve(graphError(400, `(#100) ${err.message}`, 'OAuthException', 100));
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };

  function authenticate(call: GraphCall, params: Json): { reply: GraphReply } | { account: AccountNode } {
    const token = tokenOf(call, params);
    if (token === undefined) return { reply: graphError(400, 'An access token is required to request this resource.', 'OAuthException', 190) };
    const found = find(token);
    if (!found) return { reply: graphError(400, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190) };
    const proof = stringParam(params, 'appsecret_proof');
    if (proof === undefined) return { reply: graphError(400, 'API calls from the server require an appsecret_proof argument', 'GraphMethodException', 100) };
    if (!sameSecret(proof, appSecretProof(token, config.INSTAGRAM_APP_SECRET))) {
      return { reply: graphError(400, 'Invalid appsecret_proof provided in the API argument', 'GraphMethodException', 100) };
    }
    return { account: found.node };
  }

  function accountCall(node: AccountNode, method: string, id: string, edge: string, params: Json): GraphReply {
    if (id === 'me' || id === node.account.instagram_account_id) {
      if (method === 'GET' && edge === '') return self(node, params);
      return node.edge(method, edge, params) ?? noSuchEdge(method, edge);
    }
    const user = node.user(id);
    if (user && edge === '' && method === 'GET') return node.userProfile(user, params);
    // A public reply under a comment on the account's media: `POST /{ig-comment-id}/replies`.
    return node.commentEdge(method, id, edge, params) ?? unsupported(method, id);
  }

  /** `GET /me`: the account itself, in the fields asked for. */
  function self(node: AccountNode, params: Json): GraphReply {
    const { account } = node;
    const values: Json = {
      id: `2${(account.instagram_account_id ?? '').slice(-15)}`,
      user_id: account.instagram_account_id,
      username: account.username,
      name: account.name,
      account_type: 'BUSINESS',
      profile_picture_url: 'https://localhost/emulator/avatar.svg',
    };
    const fields = listParam(params, 'fields') ?? ['id'];
    const unknown = fields.find((f) => !(f in values));
    if (unknown) return graphError(400, `(#100) Tried accessing nonexisting field (${unknown}) on node type (User)`, 'OAuthException', 100);
    return ok(Object.fromEntries(fields.map((f) => [f, values[f]])));
  }

  /** Meta's refresh: a valid long-lived token in, a new one out (valid 60 days from now). */
  function refresh(params: Json): GraphReply {
    if (stringParam(params, 'grant_type') !== 'ig_refresh_token') throw new ParamError('grant_type must be ig_refresh_token');
    const token = stringParam(params, 'access_token');
    const found = token === undefined ? undefined : find(token);
    if (!found) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190);
    // Meta refreshes only tokens at least 24 hours old; the emulator does not make a demo wait a day.
    const next = `EMULATOR-IG-${randomBytes(16).toString('hex')}`;
    deps.issued?.(next);
    found.node.account.tokens.push(next);
    issued.push({ token: next, info: { node: found.node, issuedAt: deps.now() } });
    return { ...ok({ access_token: next, token_type: 'bearer', expires_in: TOKEN_LIFETIME_S }), account: found.node.account.key };
  }

  function debugToken(params: Json): GraphReply {
    const input = stringParam(params, 'input_token');
    const found = input === undefined ? undefined : find(input);
    if (!found) return ok({ data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token.' } } });
    const issuedAt = Math.floor(found.issuedAt / 1000);
    return ok({
      data: {
        app_id: config.APP_ID,
        type: 'USER',
        application: deps.appName,
        user_id: found.node.account.instagram_account_id,
        is_valid: true,
        issued_at: issuedAt,
        expires_at: issuedAt + TOKEN_LIFETIME_S,
        scopes: ['instagram_business_basic', 'instagram_business_manage_messages', 'instagram_business_manage_comments'],
      },
    });
  }
}

function withAccount(reply: GraphReply, node: AccountNode): GraphReply {
  return { ...reply, account: node.account.key };
}
