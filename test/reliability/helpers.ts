// Shared pieces of the reliability suite: Meta-shaped notifications for many users, the texts the
// bot answers with, and polling. Inputs are typed while the bot waits for an order number, so
// every reply quotes its input ("u3-17" → the orders.invalid text with "u3-17" in it). The texts
// come from locales/en_US.json, so a shop's rewording never breaks these tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIONS } from '../../services/conversation/actions.ts';
import { createTranslations } from '../../services/i18n.ts';
import { toMetaJson } from '../../services/signature.ts';
import { messageText, recipientOf, type GraphCall } from '../support/mock-graph-server.ts';

export const PAGE = '1234567890';
export const translations = createTranslations();
/** The bot's texts in English, the language of the users here (the mock Graph's profiles say en_US). */
export const EN = translations.fixedT('en_US');
/** What the bot asks after the ORDER_STATUS quick reply. */
export const ASK_ORDER = EN('orders.ask');
export const APOLOGY_EN = EN('apology');

/** The answer to `text` typed when an order number was asked for. Inputs here are short: quoted whole. */
export const invalidOrder = (text: string): string => EN('orders.invalid', { text });

/** The key (and lane) of a Messenger user of the test Page: `<account>/<channel>:<id>`. */
export const messengerUser = (id: string): string => `${PAGE}/messenger:${id}`;

/** A numeric PSID for user number `i`. */
export const psid = (i: number): string => `2400000${String(i).padStart(10, '0')}`;

export interface MessagingItem {
  sender: { id: string };
  recipient: { id: string };
  timestamp: number;
  message?: { mid: string; text: string; quick_reply?: { payload: string } };
  postback?: { mid: string; title: string; payload: string };
  reaction?: { mid: string; action: 'react' | 'unreact'; reaction?: string; emoji?: string };
  read?: { watermark: number };
}

export function textItem(user: string, text: string, timestamp: number, mid = `m_${user}_${timestamp}`): MessagingItem {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, message: { mid, text } };
}

/** The ORDER_STATUS quick reply tapped: Meta sends the chip's title as the text, and its payload. */
export function orderStatusItem(user: string, timestamp: number): MessagingItem {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, message: { mid: `m_${user}_${timestamp}_qr`, text: EN(ACTIONS.ORDER_STATUS.label), quick_reply: { payload: 'ORDER_STATUS' } } };
}

export function postbackItem(user: string, payload: string, timestamp: number): MessagingItem {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, postback: { mid: `m_${user}_${timestamp}_pb`, title: 'Tap', payload } };
}

/** A reaction to the message `mid` (react carries the emoji, unreact does not). */
export function reactionItem(user: string, mid: string, action: 'react' | 'unreact', timestamp: number): MessagingItem {
  const reaction = action === 'react' ? { mid, action, reaction: 'love', emoji: '❤️' } : { mid, action };
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, reaction };
}

/** A read receipt: every message sent to the user at or before `watermark` (ms) has been read. */
export function readItem(user: string, watermark: number, timestamp: number): MessagingItem {
  return { sender: { id: user }, recipient: { id: PAGE }, timestamp, read: { watermark } };
}

/** One notification; Meta batches several messaging items (of one or many users) per entry. */
export function pageNotification(items: readonly MessagingItem[], entryTime = Date.now()): { object: 'page'; entry: { id: string; time: number; messaging: MessagingItem[] }[] } {
  return { object: 'page', entry: [{ id: PAGE, time: entryTime, messaging: [...items] }] };
}

/**
 * What one user's stream of sends should look like: each answer, in order. No typing indicator:
 * every answer is ready when its event is handled, so none is held back by one.
 */
export function expectedStream(inputs: readonly string[]): string[] {
  return [ASK_ORDER, ...inputs.map(invalidOrder)];
}

/** A send as a short label: `typing_on` or the message text. */
export function label(call: GraphCall): string {
  const action = (call.body as { sender_action?: unknown } | undefined)?.sender_action;
  return typeof action === 'string' ? action : (messageText(call) ?? JSON.stringify(call.body));
}

/** Every user's sends in arrival order, as labels. */
export function streamsByUser(sends: readonly GraphCall[]): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const call of sends) {
    const user = recipientOf(call) ?? '?';
    const list = byUser.get(user) ?? [];
    list.push(label(call));
    byUser.set(user, list);
  }
  return byUser;
}

/** Drops a send identical to the one just before it (a resend of what was in flight). */
export function collapseRepeats(stream: readonly string[]): { collapsed: string[]; repeats: number } {
  const collapsed: string[] = [];
  for (const item of stream) if (collapsed[collapsed.length - 1] !== item) collapsed.push(item);
  return { collapsed, repeats: stream.length - collapsed.length };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls every `everyMs` until `check` is true; throws with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string = () => '', everyMs = 25): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms ${describe()}`);
    await sleep(everyMs);
  }
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A promise with its resolve exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** How deep the poison value nests: JSON.parse reads it, JSON.stringify and structuredClone overflow the stack on it. */
export const DEEP_NESTING = 100_000;

/**
 * A notification's JSON (escaped like Meta's) with each string "__DEEP__" in it replaced by a value
 * nested DEEP_NESTING arrays deep: a ~200 KB body that a correct signature makes authentic.
 */
export function withDeepValue(notification: unknown): string {
  const deep = '['.repeat(DEEP_NESTING) + ']'.repeat(DEEP_NESTING);
  return toMetaJson(notification).split('"__DEEP__"').join(deep);
}
