// `doctor [--account ID]`: every check the connected accounts depend on, each ✔ or ✖ with the
// fix for a ✖ (and ! for a warning that does not fail). Exit 0 when all pass, 1 when any fails, 2
// when .env lacks what the checks need. Each account gets its own section: a Page's token is
// inspected through debug_token with the app token (it only takes the inspected token as a query
// parameter); an Instagram Login token through /me and debug_token under INSTAGRAM_API_URL.
// The permissions asked for are the account's messaging ones, plus the comment ones for the
// platforms data/comment-replies.json has triggers on (scripts/setup/permissions.ts).
// No token is ever printed.
import { randomInt } from 'node:crypto';
import { daysLeft } from '../../services/accounts/token-refresher.ts';
import type { Account } from '../../services/accounts/types.ts';
import type { Config } from '../../services/config.ts';
import { GraphApiError } from '../../services/errors.ts';
import { createTranslations } from '../../services/i18n.ts';
import { APP_URL_FIX, EXIT, appTarget, missingSettings, publicHttpsProblem, selectAccounts, type ExitCode, type LiveTarget, type SetupAccount, type SetupDeps } from './context.ts';
import { installFieldsOf, neededObjects, webhookFields } from './fields.ts';
import { errorContext, hintsFor, safeMessage, type TokenKind } from './graph-errors.ts';
import { FAIL, heading, mark, paint, table, type Output } from './output.ts';
import { requiredPermissions, type Permission } from './permissions.ts';
import { pendingChanges, planProfile } from './profile.ts';
import { checkAppSubscription, checkInstall, isRecord, readAppSubscriptions, readInstall } from './subscriptions.ts';
import { checkWebhook } from './webhook-check.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a ✖ (or a warning), one line each. */
  fix?: string[];
  /** Passed, but worth acting on soon (shown with !, not counted as a failure). */
  warn?: boolean;
}

const DAY = 24 * 60 * 60 * 1000;
/** An Instagram token with fewer days left is worth a warning: the bot refreshes it, unless it cannot. */
const WARN_DAYS = 10;

export interface DoctorOptions {
  /** Only this account (any of its ids); every configured account when absent. */
  account?: string;
}

export async function doctor(deps: SetupDeps, options: DoctorOptions = {}): Promise<ExitCode> {
  const { config, out } = deps;
  const results: Check[] = [];
  const report = (title: string, checks: Check[]) => {
    printGroup(out, title, checks);
    results.push(...checks);
  };

  const missing = missingSettings(config);
  report('Config', [...missing.map((m) => ({ name: m.variable, ok: false, detail: 'not set', fix: [m.fix] })), ...configChecks(config)]);
  const target = appTarget(config);
  if (missing.length > 0 || target === undefined) {
    out.line('The other checks need these settings: fix them and run `npm run setup -- doctor` again.');
    return EXIT.USAGE;
  }
  const selected = selectAccounts(deps, options.account);
  if (!selected.ok) {
    out.line(`${selected.error}.`);
    return EXIT.USAGE;
  }
  const titled = selected.value.length > 1 || config.ACCOUNTS_FILE !== undefined;

  for (const account of selected.value) {
    const checks = account.api === 'graph' ? await pageTokenChecks(deps, target, account.account) : await instagramTokenChecks(deps, account);
    checks.push(await installCheck(deps, target, account), ...(await profileChecks(deps, account)));
    report(titled ? account.title : 'Tokens', checks);
  }
  report('Webhook subscriptions', await appSubscriptionChecks(deps, target, selected.value.map((a) => a.account)));
  report('Webhook', [await webhookCheck(deps)]);

  const failed = results.filter((c) => !c.ok).length;
  const warned = results.filter((c) => c.ok && c.warn === true).length;
  const warnings = warned === 0 ? '' : ` (${warned} warning${warned === 1 ? '' : 's'}: see the ! lines)`;
  if (failed === 0) {
    out.line(`${mark(out, true)} All ${results.length} checks passed${warnings}. Message the Page or the Instagram account to talk to the bot.`);
    return EXIT.OK;
  }
  out.line(`${paint(out, 'red', FAIL)} ${failed} of ${results.length} checks failed: see the fix under each ${FAIL}.`);
  return EXIT.FAILED;
}

function configChecks(config: Readonly<Config>): Check[] {
  const https = publicHttpsProblem(config.APP_URL, config.mode);
  const checks: Check[] = [
    https === undefined
      ? { name: 'APP_URL', ok: true, detail: `${config.APP_URL} (${config.mode === 'emulator' ? 'the emulator calls it locally' : 'public https'})` }
      : { name: 'APP_URL', ok: false, detail: `${config.APP_URL}: ${https}`, fix: [APP_URL_FIX] },
  ];
  // In emulator mode the IDs and secrets are the emulator's own: nothing to report.
  if (config.mode !== 'live') return checks;
  if (config.ACCOUNTS_FILE === undefined) {
    // loadConfig has already refused a non-numeric ID, so these rows are informative.
    const ids = [['APP_ID', config.APP_ID], ['PAGE_ID', config.PAGE_ID], ['IG_ACCOUNT_ID', config.IG_ACCOUNT_ID]].filter((pair): pair is [string, string] => pair[1] !== undefined);
    const noIg = config.IG_ACCOUNT_ID === undefined ? '; no IG_ACCOUNT_ID, Instagram skipped' : '';
    checks.push({ name: 'IDs', ok: true, detail: `${ids.map(([name, value]) => `${name} ${value}`).join(', ')} (numeric)${noIg}` });
    checks.push({ name: 'Secrets', ok: true, detail: 'APP_SECRET, VERIFY_TOKEN and PAGE_ACCESS_TOKEN set (not shown)' });
  } else {
    const pages = config.accounts.filter((a) => a.type === 'page').length;
    const logins = config.accounts.length - pages;
    checks.push({ name: 'ACCOUNTS_FILE', ok: true, detail: `${config.ACCOUNTS_FILE}: ${plural(pages, 'Page')}, ${plural(logins, 'Instagram Login account')}, ids unique` });
    checks.push({ name: 'Secrets', ok: true, detail: "APP_SECRET, VERIFY_TOKEN and every account's access_token set (not shown)" });
  }
  for (const warning of config.warnings) checks.push({ name: 'Warning', ok: true, warn: true, detail: warning });
  if (config.accounts.some((a) => a.type === 'instagram') && config.INSTAGRAM_APP_SECRET === config.APP_SECRET) {
    checks.push({
      name: 'INSTAGRAM_APP_SECRET',
      ok: true,
      warn: true,
      detail: 'not set: Instagram Login notifications are checked and signed with APP_SECRET',
      fix: ['if the Instagram app secret differs (App Dashboard > Instagram > API setup with Instagram login > Business login settings), set INSTAGRAM_APP_SECRET in .env'],
    });
  }
  return checks;
}

/** debug_token of a Page token, asked with the app token: its type, Page, app, scopes and expiry. */
async function pageTokenChecks(deps: SetupDeps, target: LiveTarget, account: Account): Promise<Check[]> {
  const { config, graph } = deps;
  if (account.type !== 'page') return [];
  const idName = config.ACCOUNTS_FILE === undefined && account.page_id === config.PAGE_ID ? 'PAGE_ID' : 'page_id';
  const fix = config.ACCOUNTS_FILE === undefined ? PAGE_TOKEN_FIX : `${PAGE_TOKEN_FIX_FILE} (page ${account.page_id})`;
  let body: unknown;
  try {
    // Meta documents input_token only as a parameter; the client never prints the URL and the
    // error it throws carries the path without the query.
    body = await graph.request<unknown>({ method: 'GET', path: 'debug_token', params: { input_token: deps.tokens?.current(account.key) ?? account.access_token }, accessToken: target.appToken });
  } catch (err) {
    return [graphFailure('App token', err, 'app', config)];
  }
  const checks: Check[] = [{ name: 'App token', ok: true, detail: 'APP_ID|APP_SECRET accepted by debug_token' }];
  const data = isRecord(body) && isRecord(body.data) ? body.data : {};
  if (data.is_valid !== true) {
    const why = isRecord(data.error) && typeof data.error.message === 'string' ? `: ${data.error.message}` : '';
    checks.push({ name: 'Page token', ok: false, detail: `invalid${why}`, fix: [fix] });
    return checks;
  }
  const type = typeof data.type === 'string' ? data.type : 'unknown';
  const profileId = idOf(data.profile_id);
  if (type !== 'PAGE') {
    checks.push({ name: 'Page token', ok: false, detail: `valid, but a ${type} token, not a Page token`, fix: [fix] });
  } else if (profileId !== account.page_id) {
    checks.push({ name: 'Page token', ok: false, detail: `valid, but for Page ${profileId ?? '(unknown)'}, not ${idName} ${account.page_id}`, fix: [`use the token of the Page in ${idName}, or set ${idName} to the Page the token belongs to`] });
  } else {
    checks.push({ name: 'Page token', ok: true, detail: `valid Page token for ${idName} ${account.page_id}` });
  }
  const appId = idOf(data.app_id);
  checks.push(
    appId === target.appId
      ? { name: 'Token app', ok: true, detail: `issued by APP_ID ${target.appId}` }
      : { name: 'Token app', ok: false, detail: `issued by app ${appId ?? '(unknown)'}, not APP_ID ${target.appId}`, fix: ["generate the Page token in this app (webhooks are signed with this app's secret), or fix APP_ID and APP_SECRET"] },
  );
  checks.push(scopeCheck(data, requiredPermissions(account, deps.comments), (lacking) => `generate the Page token again and grant ${lacking} (App Dashboard > Messenger > Messenger API Settings, or Graph API Explorer)`));
  checks.push(expiryCheck(data, (deps.now ?? Date.now)(), fix));
  return checks;
}

/** An Instagram Login token: whose it is (/me), then its type, scopes and expiry (debug_token), under INSTAGRAM_API_URL. */
async function instagramTokenChecks(deps: SetupDeps, account: SetupAccount): Promise<Check[]> {
  const { config } = deps;
  const a = account.account;
  if (a.type !== 'instagram') return [];
  const fix = `${INSTAGRAM_TOKEN_FIX} (instagram ${a.instagram_account_id})`;
  let me: unknown;
  try {
    me = await account.client.request<unknown>({ method: 'GET', path: 'me', params: { fields: 'user_id,username,account_type' } });
  } catch (err) {
    return [graphFailure('Instagram token', err, 'instagram', config, a)];
  }
  const owner = isRecord(me) ? idOf(me.user_id) : undefined;
  const username = isRecord(me) && typeof me.username === 'string' ? ` @${me.username}` : '';
  const kind = isRecord(me) && typeof me.account_type === 'string' ? `, ${me.account_type}` : '';
  const checks: Check[] = [
    owner === a.instagram_account_id
      ? { name: 'Instagram token', ok: true, detail: `valid for instagram_account_id ${a.instagram_account_id}${username}${kind}` }
      : { name: 'Instagram token', ok: false, detail: `valid, but for Instagram account ${owner ?? '(unknown)'}${username}, not instagram_account_id ${a.instagram_account_id}`, fix: ['use the token of this account, or set instagram_account_id to the account the token belongs to (the user_id of GET /me)'] },
  ];
  const now = (deps.now ?? Date.now)();
  let data: Record<string, unknown> | undefined;
  try {
    const body = await account.client.request<unknown>({ method: 'GET', path: 'debug_token', params: { input_token: deps.tokens?.current(a.key) ?? a.access_token } });
    data = isRecord(body) && isRecord(body.data) ? body.data : undefined;
  } catch (err) {
    if (!(err instanceof GraphApiError)) throw err;
  }
  if (data === undefined) {
    // Not every Instagram API version answers debug_token: the expiry the bot last stored is the next best.
    const needs = requiredPermissions(a, deps.comments).map((p) => p.scope);
    checks.push({ name: 'Permissions', ok: true, warn: true, detail: `not checked: INSTAGRAM_API_URL did not describe the token (debug_token); the bot needs ${needs.join(', ')}` });
    const stored = deps.tokens?.adopted(a.key);
    checks.push(
      stored === undefined || stored.expires_at === 0
        ? { name: 'Expiry', ok: true, warn: true, detail: 'unknown: the bot learns it at its first refresh of the token (60 days from then)' }
        : instagramExpiry(stored.expires_at, now, fix),
    );
    return checks;
  }
  if (data.is_valid === false) {
    const why = isRecord(data.error) && typeof data.error.message === 'string' ? `: ${data.error.message}` : '';
    return [{ name: 'Instagram token', ok: false, detail: `invalid${why}`, fix: [fix] }];
  }
  const type = typeof data.type === 'string' ? data.type : undefined;
  if (type !== undefined && type !== 'USER') checks.push({ name: 'Token type', ok: false, detail: `a ${type} token, not an Instagram User token`, fix: [fix] });
  else checks.push({ name: 'Token type', ok: true, detail: 'Instagram User token (Instagram API with Instagram Login)' });
  checks.push(scopeCheck(data, requiredPermissions(a, deps.comments), (lacking) => `generate the token again granting ${lacking} (App Dashboard > Instagram > API setup with Instagram login > Generate token)`));
  const expiresAt = typeof data.expires_at === 'number' && data.expires_at > 0 ? data.expires_at * 1000 : undefined;
  const stored = deps.tokens?.adopted(a.key)?.expires_at;
  const latest = Math.max(expiresAt ?? 0, stored ?? 0);
  checks.push(latest === 0 ? { name: 'Expiry', ok: true, detail: 'never expires' } : instagramExpiry(latest, now, fix));
  return checks;
}

function instagramExpiry(expiresAt: number, now: number, fix: string): Check {
  if (expiresAt <= now) return { name: 'Expiry', ok: false, detail: `expired on ${day(expiresAt)}: it can no longer be refreshed`, fix: [fix] };
  const days = daysLeft(expiresAt, now);
  if (days < WARN_DAYS) {
    return { name: 'Expiry', ok: true, warn: true, detail: `expires ${day(expiresAt)}, in ${days} days: the bot refreshes it while it runs; is it running?`, fix: ['start the bot (it refreshes Instagram tokens hourly once they are 24 hours old), or generate a new token and put it in ACCOUNTS_FILE'] };
  }
  return { name: 'Expiry', ok: true, detail: `expires ${day(expiresAt)} (in ${days} days; the bot refreshes it)` };
}

/** The token's scopes against the ones needed; a missing one is named with what fails without it. */
function scopeCheck(data: Record<string, unknown>, required: readonly Permission[], fix: (lacking: string) => string): Check {
  const scopes = Array.isArray(data.scopes) ? data.scopes.filter((s): s is string => typeof s === 'string') : [];
  const lacking = required.filter((p) => !scopes.includes(p.scope));
  if (lacking.length === 0) return { name: 'Permissions', ok: true, detail: required.map((p) => p.scope).join(', ') };
  const names = lacking.map((p) => p.scope).join(', ');
  return { name: 'Permissions', ok: false, detail: `missing ${names}`, fix: [fix(names), ...lacking.map((p) => `without ${p.scope} the bot cannot ${p.why}`)] };
}

const PAGE_TOKEN_FIX = 'generate a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token) and set PAGE_ACCESS_TOKEN in .env';
const PAGE_TOKEN_FIX_FILE = 'generate a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token) and put it in ACCOUNTS_FILE';
const INSTAGRAM_TOKEN_FIX = 'generate a token (App Dashboard > Instagram > API setup with Instagram login > Generate token) and put it in ACCOUNTS_FILE';

function expiryCheck(data: Record<string, unknown>, now: number, fix: string): Check {
  const expiresAt = typeof data.expires_at === 'number' ? data.expires_at * 1000 : 0;
  const dataAccess = typeof data.data_access_expires_at === 'number' && data.data_access_expires_at > 0 ? data.data_access_expires_at * 1000 : undefined;
  if (expiresAt !== 0 && expiresAt <= now) {
    return { name: 'Expiry', ok: false, detail: `expired on ${day(expiresAt)}`, fix: [fix] };
  }
  if (dataAccess !== undefined && dataAccess <= now) {
    return { name: 'Expiry', ok: false, detail: `data access expired on ${day(dataAccess)}`, fix: ['open the app once as the Page admin (re-authorise it), then generate a new Page token'] };
  }
  if (expiresAt === 0) return { name: 'Expiry', ok: true, detail: 'never expires' };
  const days = Math.floor((expiresAt - now) / DAY);
  const short = days < 7 ? '; short-lived: generate a long-lived Page token before it runs out' : '';
  return { name: 'Expiry', ok: true, detail: `expires ${day(expiresAt)} (in ${days} days)${short}` };
}

async function appSubscriptionChecks(deps: SetupDeps, target: LiveTarget, accounts: readonly Account[]): Promise<Check[]> {
  const { config, graph } = deps;
  const checks: Check[] = [];
  const fix = ['npm run setup -- subscribe'];
  try {
    const subs = await readAppSubscriptions(graph, target);
    for (const needed of neededObjects(accounts, webhookFields(deps.comments))) {
      const c = checkAppSubscription(needed, subs, config.APP_URL);
      checks.push(c.ok ? { name: `App: ${c.object}`, ok: true, detail: `${needed.fields.length} fields to ${config.APP_URL}/webhook, active` } : { name: `App: ${c.object}`, ok: false, detail: c.problems.join('; '), fix });
    }
  } catch (err) {
    checks.push(graphFailure('App subscriptions', err, 'app', config));
  }
  return checks;
}

async function installCheck(deps: SetupDeps, target: LiveTarget, account: SetupAccount): Promise<Check> {
  const { config } = deps;
  const name = account.api === 'graph' ? 'Page install' : 'Instagram install';
  const fix = [`npm run setup -- subscribe${config.accounts.length > 1 ? ` --account ${account.account.key}` : ''}`];
  try {
    const c = checkInstall(await readInstall(target, account), installFieldsOf(account.account, webhookFields(deps.comments)), account.api);
    const where = account.api === 'graph' ? `Page ${account.nodeId}` : `Instagram account ${account.nodeId}`;
    return c.ok ? { name, ok: true, detail: `app ${target.appId} installed on ${where}` } : { name, ok: false, detail: c.problems.join('; '), fix };
  } catch (err) {
    return graphFailure(name, err, 'page', config, account.account);
  }
}

async function webhookCheck(deps: SetupDeps): Promise<Check> {
  const { config } = deps;
  const challenge = (deps.challenge ?? (() => String(randomInt(100_000_000, 999_999_999))))();
  const result = await checkWebhook({ appUrl: config.APP_URL, verifyToken: config.VERIFY_TOKEN, challenge, fetchImpl: deps.fetchImpl ?? fetch });
  return { name: 'Verification', ok: result.ok, detail: result.detail, ...(result.fix === undefined ? {} : { fix: [result.fix] }) };
}

async function profileChecks(deps: SetupDeps, account: SetupAccount): Promise<Check[]> {
  const { config } = deps;
  const only = config.accounts.length > 1 ? ` --account ${account.account.key}` : '';
  try {
    const plans = await planProfile(account, config, deps.translations ?? createTranslations());
    return plans.map((plan) => {
      const name = plan.platform === 'messenger' ? 'Messenger' : 'Instagram';
      const pending = pendingChanges(plan);
      if (pending.length === 0) return { name, ok: true, detail: `up to date (${plan.changes.map((c) => c.field).join(', ')})` };
      const detail = pending.map((c) => `${c.field} ${c.state === 'added' ? 'not set' : `differs (${c.details.join('; ')})`}`).join(', ');
      return { name, ok: false, detail, fix: [`npm run setup -- profile${only}   (preview with --dry-run)`] };
    });
  } catch (err) {
    return [graphFailure('Profile', err, 'page', config, account.account)];
  }
}

function graphFailure(name: string, err: unknown, token: TokenKind, config: Readonly<Config>, account?: Account): Check {
  if (!(err instanceof GraphApiError)) throw err;
  const code = err.code === undefined ? (err.status === undefined ? 'no response' : `HTTP ${err.status}`) : `code ${err.code}${err.error_subcode === undefined ? '' : `/${err.error_subcode}`}`;
  const trace = err.fbtrace_id === undefined ? '' : ` (fbtrace_id ${err.fbtrace_id})`;
  const ctx = errorContext(config, token, account);
  const hints = hintsFor(err, ctx);
  return { name, ok: false, detail: `${err.endpoint} failed, ${code}: ${safeMessage(err, ctx)}${trace}`, fix: hints.length > 0 ? hints : ['see the message above; the fbtrace_id helps Meta support'] };
}

function printGroup(out: Output, title: string, checks: readonly Check[]): void {
  heading(out, title);
  const rows: string[][] = [];
  for (const check of checks) {
    rows.push([check.ok && check.warn === true ? paint(out, 'yellow', '!') : mark(out, check.ok), check.name, check.detail]);
    if (!check.ok || check.warn === true) (check.fix ?? []).forEach((line, i) => rows.push(['', '', paint(out, 'yellow', `${i === 0 ? 'fix: ' : '     '}${line}`)]));
  }
  table(out, rows);
  out.line();
}

/** Graph returns IDs as strings, some mocks as numbers. */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
