// `profile [--dry-run]`: the Messenger Profile (Get Started, greeting, persistent menu, allow-listed
// domain) and, with IG_ACCOUNT_ID, Instagram's ice breakers. Reads the current profile first and
// POSTs only the fields that differ; --dry-run prints the difference and sends nothing.
import type { Config } from '../../services/config.ts';
import type { GraphClient } from '../../services/graph/client.ts';
import { createTranslations, type Translations } from '../../services/i18n.ts';
import { APP_URL_FIX, EXIT, publicHttpsProblem, requireLive, type ExitCode, type SetupDeps } from './context.ts';
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

/** Reads the current profile(s) with the Page token and works out what to send. Throws GraphApiError. */
export async function planProfile(graph: GraphClient, config: Readonly<Config>, translations: Translations): Promise<ProfilePlan[]> {
  const plans: ProfilePlan[] = [];
  const messenger = desiredMessengerProfile(config.APP_URL, translations);
  const current = await graph.request<unknown>({ method: 'GET', path: 'me/messenger_profile', params: { fields: MESSENGER_PROFILE_FIELDS.join(',') } });
  const changes = diffProfile(MESSENGER_PROFILE_FIELDS, messenger, currentProfile(current));
  plans.push({ platform: 'messenger', changes, body: pick(messenger, changes) });
  if (config.IG_ACCOUNT_ID !== undefined) {
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
}

export async function profile(deps: SetupDeps, options: ProfileOptions = {}): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const problem = publicHttpsProblem(config.APP_URL, config.mode);
  if (problem !== undefined) {
    out.line(`${problem}: the persistent menu links to ${config.APP_URL}/shop.html and Messenger allow-lists only https domains.`);
    out.line(`Fix: ${APP_URL_FIX}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const ctx = errorContext(config, 'page');
  const translations = deps.translations ?? createTranslations();
  const planned = await attempt(out, ctx, () => planProfile(graph, config, translations));
  if (!planned.ok) return EXIT.FAILED;
  printPlan(out, planned.value);
  const toSend = planned.value.filter((plan) => pendingChanges(plan).length > 0);
  if (toSend.length === 0) {
    out.line(`${mark(out, true)} The profile is already up to date. Nothing was sent.`);
    return EXIT.OK;
  }
  if (options.dryRun === true) {
    out.line('Dry run: nothing was sent. Run `npm run setup -- profile` to apply these changes.');
    return EXIT.OK;
  }
  for (const plan of toSend) {
    const params = plan.platform === 'instagram' ? { platform: 'instagram' } : undefined;
    const sent = await attempt(out, ctx, () => graph.request({ method: 'POST', path: 'me/messenger_profile', params, data: plan.body }));
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
