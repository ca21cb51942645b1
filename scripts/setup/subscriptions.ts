// The webhook subscriptions: the app-level subscription (`/{app-id}/subscriptions`, app token)
// and each account's install (`/{page-id}/subscribed_apps` with the Page token under
// GRAPH_API_URL; `/{ig-id}/subscribed_apps` with the Instagram token under INSTAGRAM_API_URL for
// an Instagram Login account). Meta only delivers a field when both levels have it. Reads here
// are shared with `status` and `doctor`.
import type { GraphClient } from '../../services/graph/client.ts';
import type { LiveTarget, SetupAccount } from './context.ts';
import { diffFields, type FieldDiff, type NeededObject } from './fields.ts';

export interface AppSubscription {
  object: string;
  callback_url: string;
  active: boolean;
  fields: string[];
}

export interface Install {
  id: string;
  name: string | undefined;
  subscribed_fields: string[];
}

export function callbackUrl(appUrl: string): string {
  return `${appUrl}/webhook`;
}

/** GET /{app-id}/subscriptions with the app token. */
export async function readAppSubscriptions(graph: GraphClient, target: LiveTarget): Promise<AppSubscription[]> {
  const body = await graph.request<unknown>({ method: 'GET', path: `${target.appId}/subscriptions`, accessToken: target.appToken });
  return dataOf(body).flatMap((item) => {
    if (!isRecord(item) || typeof item.object !== 'string') return [];
    const fields = Array.isArray(item.fields) ? item.fields.map(fieldName).filter((f): f is string => f !== undefined) : [];
    return [{ object: item.object, callback_url: typeof item.callback_url === 'string' ? item.callback_url : '', active: item.active === true, fields }];
  });
}

/**
 * GET /{node-id}/subscribed_apps with the account's token: our app's entry, or undefined when not
 * installed. An Instagram Login token sees only its own app, which Meta lists under the Instagram
 * app's id (not APP_ID), so there the entry is the one listed.
 */
export async function readInstall(target: LiveTarget, account: SetupAccount): Promise<Install | undefined> {
  const body = await account.client.request<unknown>({ method: 'GET', path: `${account.nodeId}/subscribed_apps` });
  for (const item of dataOf(body)) {
    const ours = isRecord(item) && (item.id === target.appId || item.id === Number(target.appId) || account.api === 'instagram');
    if (!ours) continue;
    const fields = Array.isArray(item.subscribed_fields) ? item.subscribed_fields.filter((f): f is string => typeof f === 'string') : [];
    return { id: target.appId, name: typeof item.name === 'string' ? item.name : undefined, subscribed_fields: fields };
  }
  return undefined;
}

/** POST /{app-id}/subscriptions: form body, verify_token included, token only in the header. */
export async function postAppSubscription(graph: GraphClient, target: LiveTarget, needed: NeededObject, appUrl: string, verifyToken: string): Promise<void> {
  const form = new URLSearchParams({
    object: needed.object,
    callback_url: callbackUrl(appUrl),
    fields: needed.fields.join(','),
    include_values: 'true',
    verify_token: verifyToken,
  });
  await graph.request({ method: 'POST', path: `${target.appId}/subscriptions`, data: form, accessToken: target.appToken });
}

/** POST /{node-id}/subscribed_apps with the account's token: installs the app on the account for these fields. */
export async function postInstall(account: SetupAccount, fields: readonly string[]): Promise<void> {
  const form = new URLSearchParams({ subscribed_fields: fields.join(',') });
  await account.client.request({ method: 'POST', path: `${account.nodeId}/subscribed_apps`, data: form });
}

/** DELETE /{app-id}/subscriptions for an object, or only some of its fields. */
export async function deleteAppSubscription(graph: GraphClient, target: LiveTarget, object: string, fields?: readonly string[]): Promise<void> {
  const params: Record<string, string> = { object };
  if (fields !== undefined) params.fields = fields.join(',');
  await graph.request({ method: 'DELETE', path: `${target.appId}/subscriptions`, params, accessToken: target.appToken });
}

/** DELETE /{node-id}/subscribed_apps: removes the app from the account. */
export async function deleteInstall(account: SetupAccount): Promise<void> {
  await account.client.request({ method: 'DELETE', path: `${account.nodeId}/subscribed_apps` });
}

export interface ObjectCheck {
  object: string;
  ok: boolean;
  /** Why it is not ok, each a short phrase. */
  problems: string[];
  diff: FieldDiff;
}

/** Compares the app subscription for one object with what the bot needs. */
export function checkAppSubscription(needed: NeededObject, subscriptions: readonly AppSubscription[], appUrl: string): ObjectCheck {
  const found = subscriptions.find((s) => s.object === needed.object);
  if (found === undefined) {
    return { object: needed.object, ok: false, problems: ['not subscribed'], diff: { missing: [...needed.fields], extra: [] } };
  }
  const diff = diffFields(needed.fields, found.fields);
  const problems: string[] = [];
  const expected = callbackUrl(appUrl);
  if (found.callback_url !== expected) problems.push(`callback is ${found.callback_url || '(none)'}, not ${expected}`);
  if (!found.active) problems.push('inactive');
  if (diff.missing.length > 0) problems.push(`missing fields: ${diff.missing.join(', ')}`);
  return { object: needed.object, ok: problems.length === 0, problems, diff };
}

/** Compares an account's install with the fields the bot needs there. */
export function checkInstall(install: Install | undefined, fields: readonly string[], api: 'graph' | 'instagram' = 'graph'): ObjectCheck {
  const object = api === 'graph' ? 'page install' : 'instagram install';
  if (install === undefined) {
    return { object, ok: false, problems: [api === 'graph' ? 'app not installed on the Page' : 'app not installed on the Instagram account'], diff: { missing: [...fields], extra: [] } };
  }
  const diff = diffFields(fields, install.subscribed_fields);
  const problems = diff.missing.length > 0 ? [`missing fields: ${diff.missing.join(', ')}`] : [];
  return { object, ok: problems.length === 0, problems, diff };
}

function dataOf(body: unknown): unknown[] {
  return isRecord(body) && Array.isArray(body.data) ? (body.data as unknown[]) : [];
}

function fieldName(field: unknown): string | undefined {
  if (typeof field === 'string') return field;
  return isRecord(field) && typeof field.name === 'string' ? field.name : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
