// The subscription watchdog (live mode). Meta turns a webhook off after an hour of failed
// deliveries and removes the app from the Page, and nothing tells the shop. So every
// WATCHDOG_INTERVAL this checks what `npm run setup -- status` checks, with the same functions:
// the app subscription per object (active, callback APP_URL/webhook, the fields the bot needs) and
// the app's install on the Page (its subscribed_fields). Drift is logged as an error naming what is
// missing and sets bot_subscription_ok to 0; with WATCHDOG_RESUBSCRIBE=true it makes the calls
// `npm run setup -- subscribe` makes, then checks once more. It also warns while GRAPH_API_VERSION
// is within 90 days of expiring. Runs on the main thread, one check at a time; it never throws.
import { MESSENGER_FIELDS, neededObjects, type NeededObject } from '../../scripts/setup/fields.ts';
import {
  checkAppSubscription,
  checkPageInstall,
  postAppSubscription,
  postPageInstall,
  readAppSubscriptions,
  readPageInstall,
  type ObjectCheck,
} from '../../scripts/setup/subscriptions.ts';
import type { LiveTarget } from '../../scripts/setup/context.ts';
import type { Config } from '../config.ts';
import type { GraphClient } from '../graph/client.ts';
import type { Logger } from '../logger.ts';
import type { BotMetrics } from '../metrics/bot-metrics.ts';
import { newestVersion, versionStatus } from './graph-versions.ts';

export type WatchdogConfig = Pick<
  Config,
  'APP_ID' | 'APP_SECRET' | 'PAGE_ID' | 'IG_ACCOUNT_ID' | 'APP_URL' | 'VERIFY_TOKEN' | 'GRAPH_API_VERSION' | 'WATCHDOG_INTERVAL_MS' | 'WATCHDOG_RESUBSCRIBE'
>;

export interface WatchdogClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WatchdogDeps {
  config: WatchdogConfig;
  /** Its default token is the Page token; app calls pass the app token. */
  graph: GraphClient;
  log: Logger;
  metrics: Pick<BotMetrics, 'subscriptionChecked'>;
  clock?: WatchdogClock;
}

/** One account's verdict: its app subscription object and the Page install. */
export interface AccountCheck {
  account: string;
  ok: boolean;
  problems: string[];
}

export interface WatchdogReport {
  accounts: AccountCheck[];
  /** True when drift was found and WATCHDOG_RESUBSCRIBE made the subscribe calls. */
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

const realClock: WatchdogClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function createSubscriptionWatchdog(deps: WatchdogDeps): Watchdog {
  const { config, log } = deps;
  const clock = deps.clock ?? realClock;
  const versions = createVersionWarnings(config.GRAPH_API_VERSION, log);
  let running: Promise<WatchdogReport> | undefined;
  let timer: unknown;
  let stopped = false;
  let driftBefore = false;

  const target: LiveTarget | undefined =
    config.APP_ID === undefined ? undefined : { appId: config.APP_ID, pageId: config.PAGE_ID, appToken: `${config.APP_ID}|${config.APP_SECRET}` };

  const runOnce = async (): Promise<WatchdogReport> => {
    versions.check(clock.now());
    if (!target) return { accounts: [], resubscribed: false };
    let accounts = await inspect(deps, target);
    let resubscribed = false;
    const drifted = accounts.filter((a) => !a.ok);
    if (drifted.length > 0) {
      log.error('WEBHOOK_SUBSCRIPTION_DRIFT: Meta will not deliver some events to this bot', {
        problems: drifted.flatMap((a) => a.problems.map((p) => `${a.account}: ${p}`)),
        fix: config.WATCHDOG_RESUBSCRIBE ? 'subscribing again (WATCHDOG_RESUBSCRIBE=true)' : 'run `npm run setup -- subscribe`, or set WATCHDOG_RESUBSCRIBE=true',
      });
      if (config.WATCHDOG_RESUBSCRIBE) {
        resubscribed = await resubscribe(deps, target);
        accounts = await inspect(deps, target);
        const still = accounts.filter((a) => !a.ok);
        if (still.length === 0) log.info('webhook subscription restored', { accounts: accounts.map((a) => a.account) });
        else log.error('webhook subscription still incomplete after subscribing again', { problems: still.flatMap((a) => a.problems.map((p) => `${a.account}: ${p}`)) });
      }
    } else if (driftBefore) {
      log.info('webhook subscription complete again', { accounts: accounts.map((a) => a.account) });
    } else {
      log.debug('webhook subscription checked', { accounts: accounts.map((a) => a.account) });
    }
    for (const a of accounts) deps.metrics.subscriptionChecked(a.account, a.ok);
    driftBefore = accounts.some((a) => !a.ok);
    return { accounts, resubscribed };
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

/** Reads both levels (each failure is a problem of its own) and gives a verdict per account. */
async function inspect(deps: WatchdogDeps, target: LiveTarget): Promise<AccountCheck[]> {
  const { config, graph } = deps;
  const needed = neededObjects(config.IG_ACCOUNT_ID);
  const [subscriptions, install] = await Promise.all([
    readAppSubscriptions(graph, target).then(
      (value) => ({ value }),
      (err: unknown) => ({ error: `could not read the app subscription (GET /${target.appId}/subscriptions): ${describe(err)}` }),
    ),
    readPageInstall(graph, target).then(
      (value) => ({ value }),
      (err: unknown) => ({ error: `could not read the Page's subscribed apps (GET /${target.pageId}/subscribed_apps): ${describe(err)}` }),
    ),
  ]);
  const installProblems = 'error' in install ? [install.error] : problemsOf('page install', checkPageInstall(install.value, MESSENGER_FIELDS));
  return needed.map((object) => {
    const app = 'error' in subscriptions ? [subscriptions.error] : problemsOf(`app subscription object=${object.object}`, checkAppSubscription(object, subscriptions.value, config.APP_URL));
    const problems = [...app, ...installProblems];
    return { account: accountOf(object, config), ok: problems.length === 0, problems };
  });
}

/** The calls `npm run setup -- subscribe` makes (scripts/setup/subscribe.ts), in its order. */
async function resubscribe(deps: WatchdogDeps, target: LiveTarget): Promise<boolean> {
  const { config, graph, log } = deps;
  try {
    for (const needed of neededObjects(config.IG_ACCOUNT_ID)) await postAppSubscription(graph, target, needed, config.APP_URL, config.VERIFY_TOKEN);
    await postPageInstall(graph, target, MESSENGER_FIELDS);
    log.info('subscribed the webhooks again', { callback: `${config.APP_URL}/webhook` });
    return true;
  } catch (err) {
    log.error('subscribing the webhooks again failed', { err, fix: 'run `npm run setup -- doctor` to see why' });
    return false;
  }
}

function problemsOf(what: string, check: ObjectCheck): string[] {
  return check.problems.map((p) => `${what}: ${p}`);
}

/** The Page for Messenger's `page` object, the Instagram account for `instagram`. */
function accountOf(object: NeededObject, config: WatchdogConfig): string {
  return object.object === 'instagram' && config.IG_ACCOUNT_ID !== undefined ? config.IG_ACCOUNT_ID : config.PAGE_ID;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
