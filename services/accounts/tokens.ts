// The token each account's calls carry right now. Pages use the token from the config; an
// Instagram Login account starts with its configured token and moves to each refreshed one
// (services/accounts/token-refresher.ts), which the TokenStore keeps across restarts and shares
// between instances. Tokens live in memory and in the store only: never in a log line (an adopted
// token joins the thread's SecretSet, which the logger and the observers scrub).
import { createHash } from 'node:crypto';
import type { SecretSet } from '../redact.ts';
import type { Account } from './types.ts';

/** A refreshed Instagram User token as the store keeps it. Times are epoch milliseconds. */
export interface StoredToken {
  token: string;
  /** 0 while unknown: a configured token recorded at first sight, not refreshed yet. */
  expires_at: number;
  /** When it was refreshed (or, for a configured token, first seen). */
  refreshed_at: number;
  /**
   * `tokenOrigin()` of the configured token this one was refreshed from. When the accounts file
   * gets a new token (someone generated one by hand), the stored chain no longer applies.
   */
  origin: string;
}

/** Where refreshed tokens are kept: the bot's durable store (SQLite, PostgreSQL) or memory in tests. */
export interface TokenStore {
  getToken(account: string): Promise<StoredToken | undefined>;
  putToken(account: string, token: StoredToken): Promise<void>;
}

export function createMemoryTokenStore(): TokenStore & { readonly size: number } {
  const tokens = new Map<string, StoredToken>();
  return {
    getToken: (account) => Promise.resolve(tokens.has(account) ? { ...(tokens.get(account) as StoredToken) } : undefined),
    putToken(account, token) {
      tokens.set(account, { ...token });
      return Promise.resolve();
    },
    get size() {
      return tokens.size;
    },
  };
}

/** A fingerprint of a configured token (not reversible; not a secret): which chain a stored token belongs to. */
export function tokenOrigin(configuredToken: string): string {
  return createHash('sha256').update(`token origin\0${configuredToken}`).digest('hex').slice(0, 32);
}

/** An action or call names an account that is not configured (removed from the accounts file?). */
export class UnknownAccountError extends Error {
  override name = 'UnknownAccountError';
  readonly account: string;
  constructor(account: string) {
    super(`account ${account} is not configured (not in ACCOUNTS_FILE or PAGE_ID): nothing was sent for it`);
    this.account = account;
  }
}

export interface AccountTokens {
  /** The token to use for this account now. Throws UnknownAccountError for an account not configured. */
  current(account: string): string;
  /** The token the config gave this account. */
  configured(account: string): string;
  /** Use this refreshed token from now on (it must descend from the configured one). */
  adopt(account: string, stored: StoredToken): void;
  /** The stored token in use for this account, when it is a refreshed one. */
  adopted(account: string): StoredToken | undefined;
}

export interface AccountTokensOptions {
  /**
   * The thread's secret values (the logger's, the observers'): every adopted token joins them
   * before it is used, so it is scrubbed from logs, records and messages like a configured one.
   */
  secrets?: SecretSet;
}

export function createAccountTokens(accounts: readonly Account[], options: AccountTokensOptions = {}): AccountTokens {
  const configured = new Map(accounts.map((a) => [a.key, a.access_token]));
  const adopted = new Map<string, StoredToken>();
  const configuredOf = (account: string): string => {
    const token = configured.get(account);
    if (token === undefined) throw new UnknownAccountError(account);
    return token;
  };
  return {
    current: (account) => adopted.get(account)?.token ?? configuredOf(account),
    configured: configuredOf,
    adopt(account, stored) {
      if (stored.origin !== tokenOrigin(configuredOf(account))) throw new Error(`a stored token for account ${account} descends from another configured token`);
      options.secrets?.add(stored.token);
      adopted.set(account, { ...stored });
    },
    adopted: (account) => {
      const stored = adopted.get(account);
      return stored === undefined ? undefined : { ...stored };
    },
  };
}
