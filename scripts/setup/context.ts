// What every setup command gets injected, the exit codes they return, the one guard that stops
// them early when the config cannot reach a real app, and the accounts a command works on
// (every configured one, or the one of --account), each with its own Graph client.
import type { AxiosInstance } from 'axios';
import type { AccountTokens } from '../../services/accounts/tokens.ts';
import type { Account, AccountApi } from '../../services/accounts/types.ts';
import { apiOf, idsOf } from '../../services/accounts/types.ts';
import type { CommentTriggers } from '../../services/comments/triggers.ts';
import type { Config } from '../../services/config.ts';
import { createGraphClient, type GraphClient } from '../../services/graph/client.ts';
import type { Translations } from '../../services/i18n.ts';
import type { Output } from './output.ts';

export const EXIT = {
  /** Done, or every check passed. */
  OK: 0,
  /** A Graph call or a check failed. */
  FAILED: 1,
  /** Bad command line or configuration: nothing was sent. */
  USAGE: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface SetupDeps {
  config: Readonly<Config>;
  /** The Graph client for the app's calls (GRAPH_API_URL, APP_SECRET); each call passes the app token. */
  graph: GraphClient;
  /** An account's client (its token, its API, its app secret); made from the config when absent. */
  clientFor?: (account: Account) => GraphClient;
  /** The accounts' current tokens (a refreshed Instagram token from the bot's store); the configured ones when absent. */
  tokens?: AccountTokens;
  /**
   * The comment triggers the bot answers from (data/comment-replies.json, `loadCatalog().commentReplies`):
   * for the platforms they cover, `subscribe` adds the comment fields and `doctor` the permissions comments need.
   */
  comments: CommentTriggers;
  out: Output;
  /** For the webhook verification request in `doctor`; global fetch otherwise. */
  fetchImpl?: typeof fetch;
  /** Locale strings for the Messenger Profile; loaded from locales/ otherwise. */
  translations?: Translations;
  /** The hub.challenge to send; random otherwise. */
  challenge?: () => string;
  /** Milliseconds since the epoch, for token expiry. */
  now?: () => number;
}

/** The values every live command needs, checked present. */
export interface LiveTarget {
  appId: string;
  /** `APP_ID|APP_SECRET`: sent only in the Authorization header, never printed. */
  appToken: string;
}

export interface MissingSetting {
  variable: string;
  fix: string;
}

/** Settings the setup commands cannot work without, each with where to find it. */
export function missingSettings(config: Readonly<Config>): MissingSetting[] {
  const missing: MissingSetting[] = [];
  if (config.mode !== 'live' && !config.emulatorPinned) {
    missing.push({
      variable: 'PAGE_ACCESS_TOKEN',
      fix:
        'set it in .env to a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token), or set ACCOUNTS_FILE to a file of accounts (see "Several accounts" in the README); ' +
        'or, to try the commands against the emulator, set APP_SECRET and VERIFY_TOKEN in .env and restart npm start',
    });
  }
  if (config.APP_ID === undefined) {
    missing.push({ variable: 'APP_ID', fix: 'copy the numeric App ID from App Dashboard > App settings > Basic into .env' });
  }
  return missing;
}

/** The app the calls are about, once APP_ID is known. */
export function appTarget(config: Pick<Config, 'APP_ID' | 'APP_SECRET'>): LiveTarget | undefined {
  return config.APP_ID === undefined ? undefined : { appId: config.APP_ID, appToken: `${config.APP_ID}|${config.APP_SECRET}` };
}

/** The live target, or undefined after printing which variable is missing and how to fix it. */
export function requireLive(deps: Pick<SetupDeps, 'config' | 'out'>): LiveTarget | undefined {
  const { config, out } = deps;
  const missing = missingSettings(config);
  const target = appTarget(config);
  if (missing.length > 0 || target === undefined) {
    out.line('The setup commands need a real Meta app and Page, and .env is missing:');
    for (const m of missing) out.line(`  ${m.variable}: ${m.fix}.`);
    out.line('Nothing was sent. See "Connect your Page" in the README.');
    return undefined;
  }
  return target;
}

/** One account a command works on. */
export interface SetupAccount {
  account: Account;
  api: AccountApi;
  /** Its client: its token, GRAPH_API_URL or INSTAGRAM_API_URL, APP_SECRET or INSTAGRAM_APP_SECRET. */
  client: GraphClient;
  /** The node its install and profile are on: the page_id, or the Instagram Login account's id. */
  nodeId: string;
  /** Its section heading: `Page 111 (Tidewater) · Messenger, Instagram 1784…`. */
  title: string;
}

/**
 * The accounts a command works on: the one `--account` names (by any of its ids), or all of them.
 * An id no account has is refused with the list of configured ones.
 */
export function selectAccounts(deps: Pick<SetupDeps, 'config' | 'clientFor' | 'tokens'>, only: string | undefined): { ok: true; value: SetupAccount[] } | { ok: false; error: string } {
  const { config } = deps;
  const chosen = only === undefined ? config.accounts : config.accounts.filter((a) => idsOf(a).includes(only));
  if (chosen.length === 0) {
    return { ok: false, error: `--account ${only ?? ''} is none of the configured accounts (${config.accounts.map((a) => a.key).join(', ')}): give a Page id or an Instagram account id from ${config.ACCOUNTS_FILE === undefined ? 'PAGE_ID or IG_ACCOUNT_ID' : 'ACCOUNTS_FILE'}` };
  }
  const clientFor = deps.clientFor ?? ((account: Account) => accountClient(config, account, deps.tokens));
  return {
    ok: true,
    value: chosen.map((account) => ({
      account,
      api: apiOf(account),
      client: clientFor(account),
      nodeId: account.type === 'page' ? account.page_id : account.instagram_account_id,
      title: titleOf(account),
    })),
  };
}

/**
 * The client an account's calls use, as the bot makes it (services/graph/account-send-api.ts).
 * `http` is an instance for the account's API (e.g. one the live dashboard observes); made otherwise.
 */
export function accountClient(config: Readonly<Config>, account: Account, tokens?: AccountTokens, http?: AxiosInstance): GraphClient {
  const page = account.type === 'page';
  return createGraphClient({
    baseUrl: page ? config.GRAPH_API_URL : config.INSTAGRAM_API_URL,
    version: config.GRAPH_API_VERSION,
    accessToken: () => tokens?.current(account.key) ?? account.access_token,
    appSecret: page ? config.APP_SECRET : config.INSTAGRAM_APP_SECRET,
    ...(http === undefined ? {} : { http }),
  });
}

export function titleOf(account: Account): string {
  const name = account.name === undefined ? '' : ` (${account.name})`;
  if (account.type === 'instagram') return `Instagram ${account.instagram_account_id}${name} · Instagram Login`;
  const ig = account.instagram_account_id === undefined ? '' : `, Instagram ${account.instagram_account_id}`;
  return `Page ${account.page_id}${name} · Messenger${ig}`;
}

/** Meta only calls (and Messenger only allow-lists) https URLs that it can reach; the emulator calls localhost. */
export function publicHttpsProblem(appUrl: string, mode: Config['mode'] = 'live'): string | undefined {
  if (mode === 'emulator') return undefined;
  const url = new URL(appUrl);
  if (url.protocol !== 'https:') return `APP_URL is ${url.protocol.replace(':', '')}, and Meta only calls https URLs`;
  if (['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return 'APP_URL points at this machine, which Meta cannot reach';
  return undefined;
}

export const APP_URL_FIX = 'start a tunnel (ngrok http 3000, or cloudflared tunnel --url http://localhost:3000) and set APP_URL in .env to its https URL';
