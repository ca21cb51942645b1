// The Send API of a deployment with several accounts: one Graph client per account, each with
// that account's token, base URL and app secret (a Page and its linked Instagram account through
// GRAPH_API_URL with the Page token and APP_SECRET; an Instagram Login account through
// INSTAGRAM_API_URL with its own, refreshable token and INSTAGRAM_APP_SECRET). An action goes out
// through the client of the account it carries; rows stored before actions carried one belong to
// the default account.
import type { AxiosInstance } from 'axios';
import type { Account } from '../accounts/types.ts';
import { apiOf, type AccountApi } from '../accounts/types.ts';
import type { AccountTokens } from '../accounts/tokens.ts';
import { UnknownAccountError } from '../accounts/tokens.ts';
import type { Config } from '../config.ts';
import { createGraphClient, createGraphHttp, type GraphClient, type GraphObserver } from './client.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import { createSendApi, type SendApi } from './send-api.ts';

export interface AccountClient {
  account: Account;
  api: AccountApi;
  graph: GraphClient;
}

export type ClientsConfig = Pick<Readonly<Config>, 'accounts' | 'GRAPH_API_URL' | 'GRAPH_API_VERSION' | 'APP_SECRET' | 'INSTAGRAM_API_URL' | 'INSTAGRAM_APP_SECRET'>;

export interface AccountClientsOptions {
  config: ClientsConfig;
  tokens: AccountTokens;
  /** One HTTP instance per API, shared by its accounts; injected for tests. */
  http?: { graph?: AxiosInstance; instagram?: AxiosInstance };
  /** Told about every call (the live dashboard), with which API it used. */
  observe?: (api: AccountApi) => GraphObserver;
  timeoutMs?: number;
}

/** A Graph client per account key. */
export function createAccountClients(options: AccountClientsOptions): ReadonlyMap<string, AccountClient> {
  const { config, tokens } = options;
  const http = {
    graph: options.http?.graph ?? createGraphHttp({ baseUrl: config.GRAPH_API_URL, version: config.GRAPH_API_VERSION, ...observed(options, 'graph') }),
    instagram: options.http?.instagram ?? createGraphHttp({ baseUrl: config.INSTAGRAM_API_URL, version: config.GRAPH_API_VERSION, ...observed(options, 'instagram') }),
  };
  return new Map(
    config.accounts.map((account) => {
      const api = apiOf(account);
      const graph = createGraphClient({
        baseUrl: api === 'graph' ? config.GRAPH_API_URL : config.INSTAGRAM_API_URL,
        version: config.GRAPH_API_VERSION,
        // Asked before every call: a refreshed Instagram token is used from the next call on.
        accessToken: () => tokens.current(account.key),
        appSecret: api === 'graph' ? config.APP_SECRET : config.INSTAGRAM_APP_SECRET,
        http: http[api],
      });
      return [account.key, { account, api, graph }];
    }),
  );
}

function observed(options: AccountClientsOptions, api: AccountApi): { observe?: GraphObserver; timeoutMs?: number } {
  return { ...(options.observe ? { observe: options.observe(api) } : {}), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
}

/** The account an action belongs to: the one it carries, or the default one for rows from an older release. */
export function accountOf(action: Pick<OutgoingAction, 'account'>, defaultKey: string): string {
  return action.account ?? defaultKey;
}

/**
 * The Send API over every account's client. An action or profile lookup for an account that is
 * not configured rejects with UnknownAccountError (a permanent failure: never sent with another
 * account's token).
 */
export function createAccountsSendApi(clients: ReadonlyMap<string, AccountClient>, defaultKey: string): SendApi {
  const apis = new Map([...clients].map(([key, client]) => [key, createSendApi(client.graph)]));
  const apiFor = (account: string): SendApi => {
    const api = apis.get(account);
    if (api === undefined) throw new UnknownAccountError(account);
    return api;
  };
  return {
    perform: async (action) => await apiFor(accountOf(action, defaultKey)).perform(action),
    getUserProfile: async (userId, channel, account) => await apiFor(account ?? defaultKey).getUserProfile(userId, channel),
  };
}
