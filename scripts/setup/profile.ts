// `profile [--dry-run] [--account ID]`: per account, a Page's Messenger Profile (Get Started,
// greeting and persistent menu per locale, allow-listed domain) and, for its linked Instagram
// account, Instagram's ice breakers (both with the Page token); an Instagram Login account's ice
// breakers with its own token under INSTAGRAM_API_URL. Reads the current profile first and POSTs
// only the fields that differ; --dry-run prints the difference and sends nothing.
import type { Config } from '../../services/config.ts';
import { createTranslations, type Translations } from '../../services/i18n.ts';
import { APP_URL_FIX, EXIT, publicHttpsProblem, requireLive, selectAccounts, type ExitCode, type SetupAccount, type SetupDeps } from './context.ts';
import { attempt, errorContext } from './graph-errors.ts';
import { heading, mark, paint, table, type Output } from './output.ts';
import {
  INSTAGRAM_PROFILE_FIELDS,
  MESSENGER_PROFILE_FIELDS,
  currentProfile,
  desiredInstagramProfile,
  desiredMessengerProfile,
  diffProfile,
  type FieldChange,
} from './profile-model.ts';

export type Platform = 'messenger' | 'instagram';

export interface ProfilePlan {
  platform: Platform;
  changes: FieldChange[];
  /** The POST body: only the fields that differ (plus `platform` for Instagram). */
  body: Record<string, unknown>;
}

/**
 * Reads an account's current profile(s) with its token and works out what to send: a Page's
 * Messenger profile and, when it has a linked Instagram account, its ice breakers; an Instagram
 * Login account's ice breakers. Throws GraphApiError.
 */
export async function planProfile(account: Pick<SetupAccount, 'account' | 'client'>, config: Readonly<Config>, translations: Translations): Promise<ProfilePlan[]> {
  const graph = account.client;
  const plans: ProfilePlan[] = [];
  if (account.account.type === 'page') {
    const messenger = desiredMessengerProfile(config.APP_URL, translations);
    const current = await graph.request<unknown>({ method: 'GET', path: 'me/messenger_profile', params: { fields: MESSENGER_PROFILE_FIELDS.join(',') } });
    const changes = diffProfile(MESSENGER_PROFILE_FIELDS, messenger, currentProfile(current));
    plans.push({ platform: 'messenger', changes, body: pick(messenger, changes) });
  }
  if (account.account.instagram_account_id !== undefined) {
    const instagram = desiredInstagramProfile(translations);
    const currentIg = await graph.request<unknown>({ method: 'GET', path: 'me/messenger_profile', params: { fields: INSTAGRAM_PROFILE_FIELDS.join(','), platform: 'instagram' } });
    const igChanges = diffProfile(INSTAGRAM_PROFILE_FIELDS, instagram, currentProfile(currentIg));
    plans.push({ platform: 'instagram', changes: igChanges, body: { platform: 'instagram', ...pick(instagram, igChanges) } });
  }
  return plans;
}

export function pendingChanges(plan: ProfilePlan): FieldChange[] {
  return plan.changes.filter((c) => c.state !== 'unchanged');
}

export interface ProfileOptions {
  dryRun?: boolean;
  /** Only this account (any of its ids); every configured account when absent. */
  account?: string;
}

export async function profile(deps: SetupDeps, options: ProfileOptions = {}): Promise<ExitCode> {
  const { config, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const selected = selectAccounts(deps, options.account);
  if (!selected.ok) {
    out.line(`${selected.error}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const problem = publicHttpsProblem(config.APP_URL, config.mode);
  if (problem !== undefined && selected.value.some((a) => a.account.type === 'page')) {
    out.line(`${problem}: the persistent menu links to ${config.APP_URL}/shop.html and Messenger allow-lists only https domains.`);
    out.line(`Fix: ${APP_URL_FIX}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const translations = deps.translations ?? createTranslations();
  const results: ExitCode[] = [];
  for (const [i, account] of selected.value.entries()) {
    if (selected.value.length > 1 || config.ACCOUNTS_FILE !== undefined) {
      if (i > 0) out.line();
      heading(out, account.title);
    }
    results.push(await profileOf(deps, account, translations, options.dryRun === true));
  }
  return results.some((r) => r !== EXIT.OK) ? EXIT.FAILED : EXIT.OK;
}

async function profileOf(deps: SetupDeps, account: SetupAccount, translations: Translations, dryRun: boolean): Promise<ExitCode> {
  const { config, out } = deps;
  const ctx = errorContext(config, 'page', account.account);
  const planned = await attempt(out, ctx, () => planProfile(account, config, translations));
  if (!planned.ok) return EXIT.FAILED;
  printPlan(out, planned.value);
  const toSend = planned.value.filter((plan) => pendingChanges(plan).length > 0);
  if (toSend.length === 0) {
    out.line(`${mark(out, true)} The profile is already up to date. Nothing was sent.`);
    return EXIT.OK;
  }
  if (dryRun) {
    out.line('Dry run: nothing was sent. Run `npm run setup -- profile` to apply these changes.');
    return EXIT.OK;
  }
  for (const plan of toSend) {
    const params = plan.platform === 'instagram' ? { platform: 'instagram' } : undefined;
    const sent = await attempt(out, ctx, () => account.client.request({ method: 'POST', path: 'me/messenger_profile', params, data: plan.body }));
    if (!sent.ok) return EXIT.FAILED;
    out.line(`${mark(out, true)} ${plan.platform}: updated ${pendingChanges(plan).map((c) => c.field).join(', ')}`);
  }
  return EXIT.OK;
}

const SIGN: Record<FieldChange['state'], string> = { unchanged: '=', added: '+', changed: '~' };

/** One row per field: = unchanged, + not set yet, ~ differs (with what differs). */
export function printPlan(out: Output, plans: readonly ProfilePlan[]): void {
  heading(out, 'Messenger Profile: current → from locales/');
  const rows: string[][] = [];
  for (const plan of plans) {
    for (const change of plan.changes) {
      const sign = change.state === 'unchanged' ? paint(out, 'dim', SIGN[change.state]) : paint(out, 'yellow', SIGN[change.state]);
      const [first = change.state === 'unchanged' ? 'unchanged' : '', ...rest] = change.details;
      rows.push([sign, plan.platform, change.field, first]);
      for (const detail of rest) rows.push(['', '', '', detail]);
    }
  }
  table(out, rows);
}

function pick<T extends object>(desired: T, changes: readonly FieldChange[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const change of changes) {
    if (change.state !== 'unchanged') body[change.field] = (desired as Record<string, unknown>)[change.field];
  }
  return body;
}
