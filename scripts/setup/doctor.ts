// `doctor`: every check a connected Page depends on, each ✔ or ✖ with the fix for a ✖. Exit 0
// when all pass, 1 when any fails, 2 when .env lacks what the checks need. The Page token is
// inspected through debug_token (which only takes it as a query parameter) and never printed.
import { randomInt } from 'node:crypto';
import type { Config } from '../../services/config.ts';
import { GraphApiError } from '../../services/errors.ts';
import { createTranslations } from '../../services/i18n.ts';
import { APP_URL_FIX, EXIT, missingSettings, publicHttpsProblem, type ExitCode, type LiveTarget, type SetupDeps } from './context.ts';
import { MESSENGER_FIELDS, neededObjects } from './fields.ts';
import { errorContext, hintsFor, safeMessage, type TokenKind } from './graph-errors.ts';
import { FAIL, heading, mark, paint, table, type Output } from './output.ts';
import { pendingChanges, planProfile } from './profile.ts';
import { checkAppSubscription, checkPageInstall, isRecord, readAppSubscriptions, readPageInstall } from './subscriptions.ts';
import { checkWebhook } from './webhook-check.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a ✖, one line each. */
  fix?: string[];
}

const MESSENGER_SCOPES = ['pages_messaging', 'pages_manage_metadata'];
const INSTAGRAM_SCOPES = ['instagram_basic', 'instagram_manage_messages'];
const DAY = 24 * 60 * 60 * 1000;

export async function doctor(deps: SetupDeps): Promise<ExitCode> {
  const { config, out } = deps;
  const results: Check[] = [];
  const report = (title: string, checks: Check[]) => {
    printGroup(out, title, checks);
    results.push(...checks);
  };

  const missing = missingSettings(config);
  report('Config', [...missing.map((m) => ({ name: m.variable, ok: false, detail: 'not set', fix: [m.fix] })), ...configChecks(config)]);
  if (missing.length > 0 || config.APP_ID === undefined || config.PAGE_ID === undefined) {
    out.line('The other checks need these settings: fix them and run `npm run setup -- doctor` again.');
    return EXIT.USAGE;
  }
  const target: LiveTarget = { appId: config.APP_ID, pageId: config.PAGE_ID, appToken: `${config.APP_ID}|${config.APP_SECRET}` };

  report('Tokens', await tokenChecks(deps, target));
  report('Webhook subscriptions', await subscriptionChecks(deps, target));
  report('Webhook', [await webhookCheck(deps)]);
  report('Messenger Profile', await profileChecks(deps));

  const failed = results.filter((c) => !c.ok).length;
  if (failed === 0) {
    out.line(`${mark(out, true)} All ${results.length} checks passed. Message the Page to talk to the bot.`);
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
  // loadConfig has already refused a non-numeric ID, so these rows are informative.
  const ids = [['APP_ID', config.APP_ID], ['PAGE_ID', config.PAGE_ID], ['IG_ACCOUNT_ID', config.IG_ACCOUNT_ID]].filter((pair): pair is [string, string] => pair[1] !== undefined);
  const noIg = config.IG_ACCOUNT_ID === undefined ? '; no IG_ACCOUNT_ID, Instagram skipped' : '';
  checks.push({ name: 'IDs', ok: true, detail: `${ids.map(([name, value]) => `${name} ${value}`).join(', ')} (numeric)${noIg}` });
  checks.push({ name: 'Secrets', ok: true, detail: 'APP_SECRET, VERIFY_TOKEN and PAGE_ACCESS_TOKEN set (not shown)' });
  return checks;
}

async function tokenChecks(deps: SetupDeps, target: LiveTarget): Promise<Check[]> {
  const { config, graph } = deps;
  let body: unknown;
  try {
    // Meta documents input_token only as a parameter; the client never prints the URL and the
    // error it throws carries the path without the query.
    body = await graph.request<unknown>({ method: 'GET', path: 'debug_token', params: { input_token: config.PAGE_ACCESS_TOKEN }, accessToken: target.appToken });
  } catch (err) {
    return [graphFailure('App token', err, 'app', config)];
  }
  const checks: Check[] = [{ name: 'App token', ok: true, detail: 'APP_ID|APP_SECRET accepted by debug_token' }];
  const data = isRecord(body) && isRecord(body.data) ? body.data : {};
  if (data.is_valid !== true) {
    const why = isRecord(data.error) && typeof data.error.message === 'string' ? `: ${data.error.message}` : '';
    checks.push({ name: 'Page token', ok: false, detail: `invalid${why}`, fix: [PAGE_TOKEN_FIX] });
    return checks;
  }
  const type = typeof data.type === 'string' ? data.type : 'unknown';
  const profileId = idOf(data.profile_id);
  if (type !== 'PAGE') {
    checks.push({ name: 'Page token', ok: false, detail: `valid, but a ${type} token, not a Page token`, fix: [PAGE_TOKEN_FIX] });
  } else if (profileId !== target.pageId) {
    checks.push({ name: 'Page token', ok: false, detail: `valid, but for Page ${profileId ?? '(unknown)'}, not PAGE_ID ${target.pageId}`, fix: ['use the token of the Page in PAGE_ID, or set PAGE_ID to the Page the token belongs to'] });
  } else {
    checks.push({ name: 'Page token', ok: true, detail: `valid Page token for PAGE_ID ${target.pageId}` });
  }
  const appId = idOf(data.app_id);
  checks.push(
    appId === target.appId
      ? { name: 'Token app', ok: true, detail: `issued by APP_ID ${target.appId}` }
      : { name: 'Token app', ok: false, detail: `issued by app ${appId ?? '(unknown)'}, not APP_ID ${target.appId}`, fix: ['generate the Page token in this app (webhooks are signed with this app\'s secret), or fix APP_ID and APP_SECRET'] },
  );
  const scopes = Array.isArray(data.scopes) ? data.scopes.filter((s): s is string => typeof s === 'string') : [];
  const required = [...MESSENGER_SCOPES, ...(config.IG_ACCOUNT_ID === undefined ? [] : INSTAGRAM_SCOPES)];
  const lacking = required.filter((s) => !scopes.includes(s));
  checks.push(
    lacking.length === 0
      ? { name: 'Permissions', ok: true, detail: required.join(', ') }
      : { name: 'Permissions', ok: false, detail: `missing ${lacking.join(', ')}`, fix: [`generate the Page token again and grant ${lacking.join(', ')} (App Dashboard > Messenger > Messenger API Settings, or Graph API Explorer)`] },
  );
  checks.push(expiryCheck(data, (deps.now ?? Date.now)()));
  return checks;
}

const PAGE_TOKEN_FIX = 'generate a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token) and set PAGE_ACCESS_TOKEN in .env';

function expiryCheck(data: Record<string, unknown>, now: number): Check {
  const expiresAt = typeof data.expires_at === 'number' ? data.expires_at * 1000 : 0;
  const dataAccess = typeof data.data_access_expires_at === 'number' && data.data_access_expires_at > 0 ? data.data_access_expires_at * 1000 : undefined;
  if (expiresAt !== 0 && expiresAt <= now) {
    return { name: 'Expiry', ok: false, detail: `expired on ${day(expiresAt)}`, fix: [PAGE_TOKEN_FIX] };
  }
  if (dataAccess !== undefined && dataAccess <= now) {
    return { name: 'Expiry', ok: false, detail: `data access expired on ${day(dataAccess)}`, fix: ['open the app once as the Page admin (re-authorise it), then generate a new Page token'] };
  }
  if (expiresAt === 0) return { name: 'Expiry', ok: true, detail: 'never expires' };
  const days = Math.floor((expiresAt - now) / DAY);
  const short = days < 7 ? '; short-lived: generate a long-lived Page token before it runs out' : '';
  return { name: 'Expiry', ok: true, detail: `expires ${day(expiresAt)} (in ${days} days)${short}` };
}

async function subscriptionChecks(deps: SetupDeps, target: LiveTarget): Promise<Check[]> {
  const { config, graph } = deps;
  const checks: Check[] = [];
  const fix = ['npm run setup -- subscribe'];
  try {
    const subs = await readAppSubscriptions(graph, target);
    for (const needed of neededObjects(config.IG_ACCOUNT_ID)) {
      const c = checkAppSubscription(needed, subs, config.APP_URL);
      checks.push(c.ok ? { name: `App: ${c.object}`, ok: true, detail: `${needed.fields.length} fields to ${config.APP_URL}/webhook, active` } : { name: `App: ${c.object}`, ok: false, detail: c.problems.join('; '), fix });
    }
  } catch (err) {
    checks.push(graphFailure('App subscriptions', err, 'app', config));
  }
  try {
    const c = checkPageInstall(await readPageInstall(graph, target), MESSENGER_FIELDS);
    checks.push(c.ok ? { name: 'Page install', ok: true, detail: `app ${target.appId} installed on Page ${target.pageId}` } : { name: 'Page install', ok: false, detail: c.problems.join('; '), fix });
  } catch (err) {
    checks.push(graphFailure('Page install', err, 'page', config));
  }
  return checks;
}

async function webhookCheck(deps: SetupDeps): Promise<Check> {
  const { config } = deps;
  const challenge = (deps.challenge ?? (() => String(randomInt(100_000_000, 999_999_999))))();
  const result = await checkWebhook({ appUrl: config.APP_URL, verifyToken: config.VERIFY_TOKEN, challenge, fetchImpl: deps.fetchImpl ?? fetch });
  return { name: 'Verification', ok: result.ok, detail: result.detail, ...(result.fix === undefined ? {} : { fix: [result.fix] }) };
}

async function profileChecks(deps: SetupDeps): Promise<Check[]> {
  const { config, graph } = deps;
  try {
    const plans = await planProfile(graph, config, deps.translations ?? createTranslations());
    return plans.map((plan) => {
      const name = plan.platform === 'messenger' ? 'Messenger' : 'Instagram';
      const pending = pendingChanges(plan);
      if (pending.length === 0) return { name, ok: true, detail: `up to date (${plan.changes.map((c) => c.field).join(', ')})` };
      const detail = pending.map((c) => `${c.field} ${c.state === 'added' ? 'not set' : `differs (${c.details.join('; ')})`}`).join(', ');
      return { name, ok: false, detail, fix: ['npm run setup -- profile   (preview with --dry-run)'] };
    });
  } catch (err) {
    return [graphFailure('Profile', err, 'page', config)];
  }
}

function graphFailure(name: string, err: unknown, token: TokenKind, config: Readonly<Config>): Check {
  if (!(err instanceof GraphApiError)) throw err;
  const code = err.code === undefined ? (err.status === undefined ? 'no response' : `HTTP ${err.status}`) : `code ${err.code}${err.error_subcode === undefined ? '' : `/${err.error_subcode}`}`;
  const trace = err.fbtrace_id === undefined ? '' : ` (fbtrace_id ${err.fbtrace_id})`;
  const ctx = errorContext(config, token);
  const hints = hintsFor(err, ctx);
  return { name, ok: false, detail: `${err.endpoint} failed, ${code}: ${safeMessage(err, ctx)}${trace}`, fix: hints.length > 0 ? hints : ['see the message above; the fbtrace_id helps Meta support'] };
}

function printGroup(out: Output, title: string, checks: readonly Check[]): void {
  heading(out, title);
  const rows: string[][] = [];
  for (const check of checks) {
    rows.push([mark(out, check.ok), check.name, check.detail]);
    if (!check.ok) (check.fix ?? []).forEach((line, i) => rows.push(['', '', paint(out, 'yellow', `${i === 0 ? 'fix: ' : '     '}${line}`)]));
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
