// Keeps the Instagram Login accounts' long-lived tokens alive. Meta's tokens last 60 days from
// their last refresh and can be refreshed once they are 24 hours old; a token that expires can
// only be replaced by a person. So each check (the bot runs one hourly) takes up a token another
// instance refreshed (from the TokenStore), and refreshes a token that is due: a week old, or with
// fewer than 10 days left. A configured token seen for the first time is recorded (its expiry
// unknown) and refreshed once it has been known for 24 hours: a token generated a minute ago cannot
// be refreshed yet, and Meta tells the expiry only with a refresh. The new token is stored, then
// used for every call from then on. Tokens are never logged: the log says which account, when the
// token expires and how many days are left.
import { GraphApiError } from '../errors.ts';
import type { RefreshCall } from '../graph/instagram-token.ts';
import type { Logger } from '../logger.ts';
import type { AccountTokens, StoredToken, TokenStore } from './tokens.ts';
import { tokenOrigin } from './tokens.ts';
import type { Account } from './types.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface RefreshPolicy {
  /** Meta refuses to refresh a token younger than this. */
  minAgeMs: number;
  /** A token refreshed this long ago is refreshed again. */
  refreshEveryMs: number;
  /** A token with less than this left is refreshed as soon as Meta allows it. */
  urgentBelowMs: number;
  /** After a failed refresh, the next attempt waits this long. */
  retryAfterFailureMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { minAgeMs: DAY, refreshEveryMs: 7 * DAY, urgentBelowMs: 10 * DAY, retryAfterFailureMs: HOUR };

/** How often the bot should call `check()`. */
export const REFRESH_CHECK_EVERY_MS = HOUR;

export interface TokenRefresherDeps {
  accounts: readonly Account[];
  tokens: AccountTokens;
  store: TokenStore;
  refresh: RefreshCall;
  now: () => number;
  log: Logger;
  policy?: RefreshPolicy;
}

/** `expires_at` of a token whose expiry is not known yet (recorded, never refreshed). */
export const UNKNOWN_EXPIRY = 0;

export interface TokenStatus {
  account: string;
  /** Undefined until the token was refreshed once (Meta tells the expiry only then). */
  expires_at: number | undefined;
  refreshed_at: number | undefined;
  days_left: number | undefined;
}

export interface TokenRefresher {
  /** One pass over every Instagram Login account; never rejects (failures are logged and retried later). */
  check(): Promise<void>;
  status(): TokenStatus[];
}

export function createTokenRefresher(deps: TokenRefresherDeps): TokenRefresher {
  const policy = deps.policy ?? DEFAULT_REFRESH_POLICY;
  const accounts = deps.accounts.filter((a) => a.type === 'instagram');
  const failedAt = new Map<string, number>();
  const expiredLogged = new Set<string>();
  let running: Promise<void> | undefined;

  const checkOne = async (account: Account): Promise<void> => {
    const key = account.key;
    const log = deps.log.child({ account: key });
    const origin = tokenOrigin(deps.tokens.configured(key));
    const stored = await deps.store.getToken(key);
    let state: StoredToken | undefined;
    if (stored !== undefined && stored.origin === origin) {
      state = stored;
      if (deps.tokens.adopted(key)?.token !== stored.token) deps.tokens.adopt(key, stored);
    } else if (stored !== undefined) {
      log.info('the configured Instagram token changed: the one refreshed from the previous token is no longer used');
    }
    const now = deps.now();
    if (state === undefined) {
      // First sight of this token: it may be minutes old. Recorded, so the day counts across restarts.
      const seen: StoredToken = { token: deps.tokens.configured(key), refreshed_at: now, expires_at: UNKNOWN_EXPIRY, origin };
      await deps.store.putToken(key, seen);
      deps.tokens.adopt(key, seen);
      log.info('Instagram token recorded; it is refreshed once it is known for 24 hours, and then every week', { refresh_after: iso(now + policy.minAgeMs) });
      return;
    }
    if (state.expires_at !== UNKNOWN_EXPIRY && state.expires_at <= now) {
      if (!expiredLogged.has(key)) log.error('INSTAGRAM_TOKEN_EXPIRED: the Instagram token expired and cannot be refreshed; generate a new one and put it in ACCOUNTS_FILE', { expired_at: iso(state.expires_at) });
      expiredLogged.add(key);
      return;
    }
    const failed = failedAt.get(key);
    if (failed !== undefined && now - failed < policy.retryAfterFailureMs) return;
    if (!isDue(state, now, policy)) return;
    const refreshed = await deps.refresh(deps.tokens.current(key)).then(
      (value) => value,
      (err: unknown) => {
        failedAt.set(key, now);
        log.warn('Instagram token not refreshed; trying again later', { err: err instanceof GraphApiError ? err : describe(err), retry_in_ms: policy.retryAfterFailureMs });
        return undefined;
      },
    );
    if (refreshed === undefined) return;
    const next: StoredToken = { token: refreshed.access_token, expires_at: now + refreshed.expires_in * 1000, refreshed_at: now, origin };
    // Stored before it is used: a restart (or another instance) must never fall back to a token
    // that Meta may already consider replaced.
    await deps.store.putToken(key, next);
    deps.tokens.adopt(key, next);
    failedAt.delete(key);
    log.info('Instagram token refreshed', { expires_at: iso(next.expires_at), days_left: daysLeft(next.expires_at, now) });
  };

  const pass = async (): Promise<void> => {
    for (const account of accounts) {
      try {
        await checkOne(account);
      } catch (err) {
        // A store failure for one account: the others are still checked.
        deps.log.error('checking an Instagram token failed; trying again at the next check', { account: account.key, err });
      }
    }
  };

  return {
    check() {
      // Overlapping checks would refresh twice: a second caller waits for the running pass.
      running ??= pass().finally(() => {
        running = undefined;
      });
      return running;
    },
    status: () =>
      accounts.map((account) => {
        const stored = deps.tokens.adopted(account.key);
        const known = stored !== undefined && stored.expires_at !== UNKNOWN_EXPIRY;
        return {
          account: account.key,
          expires_at: known ? stored.expires_at : undefined,
          refreshed_at: known ? stored.refreshed_at : undefined,
          days_left: known ? daysLeft(stored.expires_at, deps.now()) : undefined,
        };
      }),
  };
}

/** Runs `check()` now and then every `everyMs` (hourly by default); returns the stop function. */
export function startTokenRefresher(refresher: TokenRefresher, everyMs: number = REFRESH_CHECK_EVERY_MS): () => void {
  void refresher.check();
  const timer = setInterval(() => void refresher.check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function isDue(state: StoredToken, now: number, policy: RefreshPolicy): boolean {
  const age = now - state.refreshed_at;
  if (age < policy.minAgeMs) return false;
  return state.expires_at === UNKNOWN_EXPIRY || age >= policy.refreshEveryMs || state.expires_at - now < policy.urgentBelowMs;
}

export function daysLeft(expiresAt: number, now: number): number {
  return Math.floor((expiresAt - now) / DAY);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describe(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}
