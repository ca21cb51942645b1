// The subscription watchdog (live mode). Meta turns a webhook off after an hour of failed
// deliveries and removes the app from the Page, and nothing tells the shop. So every
// WATCHDOG_INTERVAL this checks, for every configured account, what `npm run setup -- status`
// checks, with the setup module's own functions (scripts/setup/): the app subscription for each
// object the account needs (`page`; `instagram` for a linked or Instagram Login account: active,
// callback APP_URL/webhook, the fields the bot needs, comment fields included when triggers exist)
// and the account's install (a Page's `/{page-id}/subscribed_apps` with its Page token; an
// Instagram Login account's `/{ig-id}/subscribed_apps` under INSTAGRAM_API_URL with its token).
// Each drifted account gets one error line naming what is missing and bot_subscription_ok 0; with
// WATCHDOG_RESUBSCRIBE=true the watchdog makes the calls `npm run setup -- subscribe --account`
// makes for the drifted accounts, then checks them once more. It also warns while
// GRAPH_API_VERSION is within 90 days of expiring. Runs on the main thread, one check at a time;
// it never throws. An Instagram Login account's calls carry the newest token the bot refreshed
// (read from the bot's store before every check): the one in ACCOUNTS_FILE expires after 60 days,
// and checking with it would report drift that is not there.
import { accountClient, appTarget, selectAccounts, type LiveTarget, type SetupAccount } from '../../scripts/setup/context.ts';
import { installFieldsOf, neededObjects, webhookFields, type CommentCoverage, type WebhookFields } from '../../scripts/setup/fields.ts';
import { callbackUrl, checkAppSubscription, checkInstall, postAppSubscription, postInstall, readAppSubscriptions, readInstall, type AppSubscription } from '../../scripts/setup/subscriptions.ts';
import { createAccountTokens, tokenOrigin, type AccountTokens, type TokenStore } from '../accounts/tokens.ts';
import type { Account } from '../accounts/types.ts';
import type { Config } from '../config.ts';
import type { GraphClient } from '../graph/client.ts';
import type { Logger } from '../logger.ts';
import type { BotMetrics } from '../metrics/bot-metrics.ts';
import type { SecretSet } from '../redact.ts';
import { newestVersion, versionStatus } from './graph-versions.ts';

export interface WatchdogClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WatchdogDeps {
  config: Readonly<Config>;
  /** The app's client (GRAPH_API_URL, APP_SECRET): its calls pass the app token. */
  graph: GraphClient;
  /** Each account's client (its API and app secret) with its token from `tokens`; `accountClient` from the setup module when absent. */
  clientFor?: (account: Account, tokens: AccountTokens) => GraphClient;
  /** Where the bot keeps the Instagram Login accounts' refreshed tokens; only the configured tokens are used when absent. */
  storedTokens?: StoredTokens;
  /** Which channels have comment triggers: their comment fields are expected too. */
  comments: CommentCoverage;
  log: Logger;
  metrics: Pick<BotMetrics, 'subscriptionChecked'>;
  clock?: WatchdogClock;
}

/** The bot's store, read only, and the thread's secrets, which a token taken from it joins before it is used. */
export interface StoredTokens {
  store: Pick<TokenStore, 'getToken'>;
  secrets: SecretSet;
}

/** One account's verdict: the app subscription for the objects it needs, and its install. */
export interface AccountCheck {
  /** The account's key (its page_id, or an Instagram Login account's id), as in bot_subscription_ok{account}. */
  account: string;
  ok: boolean;
  problems: string[];
}

export interface WatchdogReport {
  accounts: AccountCheck[];
  /** True when drift was found and WATCHDOG_RESUBSCRIBE made every subscribe call successfully. */
  resubscribed: boolean;
}

export interface Watchdog {
  /** Checks now, then every WATCHDOG_INTERVAL (only now when it is 0). */
  start(): void;
  /** One check now (or the one already running). Never rejects. */
  check(): Promise<WatchdogReport>;
  /** No more checks; waits for one in progress. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
const DRIFT = 'WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this account';

const realClock: WatchdogClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function createSubscriptionWatchdog(deps: WatchdogDeps): Watchdog {
  const { config, log } = deps;
  const clock = deps.clock ?? realClock;
  const versions = createVersionWarnings(config.GRAPH_API_VERSION, log);
  const target = appTarget(config);
  const fields = webhookFields(deps.comments);
  const tokens = createAccountTokens(config.accounts, deps.storedTokens ? { secrets: deps.storedTokens.secrets } : {});
  const clientFor = deps.clientFor ?? ((account: Account, current: AccountTokens) => accountClient(config, account, current));
  const selected = selectAccounts({ config, clientFor: (account) => clientFor(account, tokens) }, undefined);
  const accounts = selected.ok ? selected.value : [];
  const several = accounts.length > 1;
  let running: Promise<WatchdogReport> | undefined;
  let timer: unknown;
  let stopped = false;
  /** Accounts found drifted by the previous check, to say when one is complete again. */
  let driftedBefore = new Set<string>();

  const fixFor = (account: string): string =>
    config.WATCHDOG_RESUBSCRIBE ? 'subscribing again (WATCHDOG_RESUBSCRIBE=true)' : `run \`npm run setup -- subscribe${several ? ` --account ${account}` : ''}\`, or set WATCHDOG_RESUBSCRIBE=true`;

  const runOnce = async (): Promise<WatchdogReport> => {
    versions.check(clock.now());
    if (!target || accounts.length === 0) return { accounts: [], resubscribed: false };
    if (deps.storedTokens) await takeUpStoredTokens(accounts, tokens, deps.storedTokens.store, log);
    const first = await inspect(deps, target, accounts, fields);
    const drifted = first.filter((c) => !c.ok);
    for (const c of drifted) log.error(DRIFT, { account: c.account, problems: c.problems, fix: fixFor(c.account) });
    let verdicts = first;
    let resubscribed = false;
    if (drifted.length > 0 && config.WATCHDOG_RESUBSCRIBE) {
      const again = accounts.filter((a) => drifted.some((c) => c.account === a.account.key));
      resubscribed = await resubscribe(deps, target, again, fields);
      const second = await inspect(deps, target, again, fields);
      verdicts = first.map((c) => second.find((s) => s.account === c.account) ?? c);
      const restored = second.filter((c) => c.ok).map((c) => c.account);
      if (restored.length > 0) log.info('webhook subscription restored', { accounts: restored });
      for (const c of second.filter((s) => !s.ok)) log.error('webhook subscription still incomplete after subscribing again', { account: c.account, problems: c.problems, fix: 'run `npm run setup -- doctor` to see why' });
    }
    const complete = first.filter((c) => c.ok && driftedBefore.has(c.account)).map((c) => c.account);
    if (complete.length > 0) log.info('webhook subscription complete again', { accounts: complete });
    if (drifted.length === 0) log.debug('webhook subscription checked', { accounts: first.map((c) => c.account) });
    for (const c of verdicts) deps.metrics.subscriptionChecked(c.account, c.ok);
    driftedBefore = new Set(verdicts.filter((c) => !c.ok).map((c) => c.account));
    return { accounts: verdicts, resubscribed };
  };

  const check = (): Promise<WatchdogReport> => {
    running ??= runOnce()
      .catch((err: unknown) => {
        // Only a bug gets here (Graph failures are problems in the report): log it, carry on.
        log.error('subscription watchdog failed', { err });
        return { accounts: [], resubscribed: false };
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const loop = (): void => {
    if (stopped) return;
    void check().then(() => {
      if (!stopped && config.WATCHDOG_INTERVAL_MS > 0) timer = clock.setTimeout(loop, config.WATCHDOG_INTERVAL_MS);
    });
  };

  return {
    start() {
      if (!target) log.warn('the subscription watchdog needs APP_ID to read the webhook subscription; only the Graph API version is checked', { fix: 'set APP_ID in .env' });
      if (!selected.ok) log.warn('the subscription watchdog has no account to check', { reason: selected.error });
      loop();
    },
    check,
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await running;
    },
  };
}

/**
 * Each Instagram Login account's newest token from the store (one read each), when it was
 * refreshed from the configured one. A read that fails leaves the token in use, and says so.
 */
async function takeUpStoredTokens(accounts: readonly SetupAccount[], tokens: AccountTokens, store: StoredTokens['store'], log: Logger): Promise<void> {
  const logins = accounts.filter((a) => a.account.type === 'instagram').map((a) => a.account.key);
  await Promise.all(
    logins.map(async (key) => {
      try {
        const stored = await store.getToken(key);
        if (stored === undefined || stored.origin !== tokenOrigin(tokens.configured(key)) || tokens.adopted(key)?.token === stored.token) return;
        tokens.adopt(key, stored);
      } catch (err) {
        log.warn('could not read the refreshed Instagram token from the store; checking with the token in use', { account: key, err });
      }
    }),
  );
}

type Read<T> = { value: T } | { error: string };

/** A read that failed becomes a problem of its own, naming what could not be read. */
function settle<T>(promise: Promise<T>, what: string): Promise<Read<T>> {
  return promise.then(
    (value) => ({ value }),
    (err: unknown) => ({ error: `could not read ${what}: ${err instanceof Error ? err.message : String(err)}` }),
  );
}

/** Reads the app subscription once and each account's install (all at once), and gives a verdict per account. */
async function inspect(deps: WatchdogDeps, target: LiveTarget, accounts: readonly SetupAccount[], fields: WebhookFields): Promise<AccountCheck[]> {
  const { config, graph } = deps;
  const [subscriptions, installs] = await Promise.all([
    settle(readAppSubscriptions(graph, target), 'the app subscription'),
    Promise.all(accounts.map((a) => settle(readInstall(target, a), a.api === 'graph' ? "the Page's install" : "the Instagram account's install (INSTAGRAM_API_URL)"))),
  ]);
  return accounts.map((a, i) => {
    const app = appProblems(subscriptions, a.account, fields, config.APP_URL);
    const install = installs[i] ?? { error: 'could not read the install' };
    const own = 'error' in install ? [install.error] : labelled(checkInstall(install.value, installFieldsOf(a.account, fields), a.api));
    const problems = [...app, ...own];
    return { account: a.account.key, ok: problems.length === 0, problems };
  });
}

/** The app subscription for the objects this account needs (`page`, and `instagram` when it has Instagram). */
function appProblems(subscriptions: Read<AppSubscription[]>, account: Account, fields: WebhookFields, appUrl: string): string[] {
  if ('error' in subscriptions) return [subscriptions.error];
  return neededObjects([account], fields).flatMap((needed) => labelled(checkAppSubscription(needed, subscriptions.value, appUrl), `app subscription object=${needed.object}`));
}

function labelled(check: { object: string; problems: string[] }, what = check.object): string[] {
  return check.problems.map((p) => `${what}: ${p}`);
}

/**
 * The calls `npm run setup -- subscribe --account` makes for these accounts, in its order: the app
 * subscription for each object they need (once, however many need it), then each one's install.
 * An app subscription that fails stops there, as `subscribe` does; an install that fails does not
 * keep the others from being tried. True when every call succeeded.
 */
async function resubscribe(deps: WatchdogDeps, target: LiveTarget, accounts: readonly SetupAccount[], fields: WebhookFields): Promise<boolean> {
  const { config, graph, log } = deps;
  for (const needed of neededObjects(accounts.map((a) => a.account), fields)) {
    try {
      await postAppSubscription(graph, target, needed, config.APP_URL, config.VERIFY_TOKEN);
    } catch (err) {
      log.error('subscribing the webhooks again failed', { object: needed.object, err, fix: 'run `npm run setup -- doctor` to see why' });
      return false;
    }
  }
  let ok = true;
  for (const a of accounts) {
    try {
      await postInstall(a, installFieldsOf(a.account, fields));
    } catch (err) {
      ok = false;
      log.error('installing the app on the account again failed', { account: a.account.key, err, fix: 'run `npm run setup -- doctor` to see why' });
    }
  }
  if (ok) log.info('subscribed the webhooks again', { accounts: accounts.map((a) => a.account.key), callback: callbackUrl(config.APP_URL) });
  return ok;
}

/** Warns about GRAPH_API_VERSION: expiring (at most daily), expired (at most daily), unknown (once). */
function createVersionWarnings(version: string, log: Logger): { check(now: number): void } {
  let lastWarned: number | undefined;
  let saidUnknown = false;
  const source = 'https://developers.facebook.com/docs/graph-api/changelog/versions/';
  return {
    check(now) {
      const status = versionStatus(version, now);
      if (status.kind === 'unknown') {
        if (!saidUnknown) log.warn('GRAPH_API_VERSION is not in the version schedule this bot knows; its expiry date is unknown', { version, schedule: source });
        saidUnknown = true;
        return;
      }
      if (status.kind === 'ok' || status.kind === 'unannounced') return;
      if (lastWarned !== undefined && now - lastWarned < DAY_MS) return;
      lastWarned = now;
      const fix = `set GRAPH_API_VERSION to a current version (newest known: ${newestVersion()}) after checking its changelog`;
      if (status.kind === 'expired') log.error('GRAPH_API_VERSION has expired: Graph answers these calls as another version', { version, expired_on: status.expires, fix });
      else log.warn('GRAPH_API_VERSION expires soon', { version, expires_on: status.expires, days_left: status.days, fix });
    },
  };
}
