// The webhook subscriptions: the app-level subscription (`/{app-id}/subscriptions`, app token)
// and the Page install (`/{page-id}/subscribed_apps`, Page token). Meta only delivers a field
// when both levels have it. Reads here are shared with `status` and `doctor`.
import type { GraphClient } from '../../services/graph/client.ts';
import type { LiveTarget } from './context.ts';
import { diffFields, type FieldDiff, type NeededObject } from './fields.ts';

export interface AppSubscription {
  object: string;
  callback_url: string;
  active: boolean;
  fields: string[];
}

export interface PageInstall {
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

/** GET /{page-id}/subscribed_apps with the Page token: our app's entry, or undefined when not installed. */
export async function readPageInstall(graph: GraphClient, target: LiveTarget): Promise<PageInstall | undefined> {
  const body = await graph.request<unknown>({ method: 'GET', path: `${target.pageId}/subscribed_apps` });
  for (const item of dataOf(body)) {
    if (!isRecord(item) || (item.id !== target.appId && item.id !== Number(target.appId))) continue;
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

/** POST /{page-id}/subscribed_apps with the Page token: installs the app on the Page for these fields. */
export async function postPageInstall(graph: GraphClient, target: LiveTarget, fields: readonly string[]): Promise<void> {
  const form = new URLSearchParams({ subscribed_fields: fields.join(',') });
  await graph.request({ method: 'POST', path: `${target.pageId}/subscribed_apps`, data: form });
}

/** DELETE /{app-id}/subscriptions for an object, or only some of its fields. */
export async function deleteAppSubscription(graph: GraphClient, target: LiveTarget, object: string, fields?: readonly string[]): Promise<void> {
  const params: Record<string, string> = { object };
  if (fields !== undefined) params.fields = fields.join(',');
  await graph.request({ method: 'DELETE', path: `${target.appId}/subscriptions`, params, accessToken: target.appToken });
}

/** DELETE /{page-id}/subscribed_apps: removes the app from the Page. */
export async function deletePageInstall(graph: GraphClient, target: LiveTarget): Promise<void> {
  await graph.request({ method: 'DELETE', path: `${target.pageId}/subscribed_apps` });
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

/** Compares the Page install with the Messenger fields the bot needs. */
export function checkPageInstall(install: PageInstall | undefined, fields: readonly string[]): ObjectCheck {
  if (install === undefined) {
    return { object: 'page install', ok: false, problems: ['app not installed on the Page'], diff: { missing: [...fields], extra: [] } };
  }
  const diff = diffFields(fields, install.subscribed_fields);
  const problems = diff.missing.length > 0 ? [`missing fields: ${diff.missing.join(', ')}`] : [];
  return { object: 'page install', ok: problems.length === 0, problems, diff };
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
