// What the contract tests feed the stores: Meta-shaped notifications, the bot's replies and
// outcomes, and a few steps every test repeats.
import type { WebhookEvent } from '../../services/events/types.ts';
import type { OutgoingAction } from '../../services/outbox/outgoing-action.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import { toMetaJson } from '../../services/signature.ts';
import type { BotStore, Completion, EventOutcome, InboxRow, OutboxRow, UserState } from '../../services/state/store.ts';
import { LOST } from '../../services/state/store.ts';
import { messengerUser, pageNotification, psid, textItem } from '../reliability/helpers.ts';

export { psid };

let made = 0;

/** A body with one text message per `[user number, text]` (each a new message), timestamps in the order given. */
export function body(...messages: [number, string][]): Buffer {
  const base = Date.now();
  return Buffer.from(toMetaJson(pageNotification(messages.map(([user, text], i) => textItem(psid(user), text, base + i, `m_${user}_${base}_${(made += 1)}`)), base)));
}

/** A body exactly as Meta would send it again (same mids, same timestamps). */
export function fixedBody(messages: [number, string, number][]): Buffer {
  return Buffer.from(toMetaJson(pageNotification(messages.map(([user, text, ts]) => textItem(psid(user), text, ts)), messages[0]?.[2] ?? 0)));
}

/** The user's key and lane, as the expander makes it (`<account>/messenger:<psid>`). */
export const laneOf = (user: number): string => messengerUser(psid(user));

/** Stores the body and expands everything waiting. */
export async function receive(store: BotStore, ...messages: [number, string][]): Promise<void> {
  await store.addNotification({ body: body(...messages) }, Date.now());
  await store.expandNotifications(1000, expandBody, Date.now());
}

export async function textOf(store: BotStore, row: InboxRow | undefined): Promise<string | undefined> {
  if (!row) return undefined;
  const event = (await store.inboxEvent(row.id)) as Extract<WebhookEvent, { kind: 'message' }> | undefined;
  return event?.message.text;
}

export async function laneTexts(store: BotStore, user: number, limit = 100): Promise<(string | undefined)[]> {
  const rows = await store.laneEvents(laneOf(user), limit);
  return Promise.all(rows.map((r) => textOf(store, r)));
}

export function reply(user: number, text: string): OutgoingAction {
  return { type: 'message', recipient: { id: psid(user) }, message: { text } };
}

export function outcome(user: number, replies: string[], state: UserState = {}, apology?: string): EventOutcome {
  return {
    userKey: laneOf(user),
    user: state,
    sentUpdates: [],
    statusUpdates: [],
    actions: replies.map((text) => reply(user, text)),
    apology: apology === undefined ? undefined : reply(user, apology),
  };
}

export const nothing: EventOutcome = { userKey: undefined, user: undefined, sentUpdates: [], statusUpdates: [], actions: [], apology: undefined };

/** Completes an event and insists the claim held. */
export async function completion(store: BotStore, row: InboxRow | undefined, result: EventOutcome, owner: string): Promise<Completion> {
  if (!row) throw new Error('no event to complete');
  const done = await store.completeEvent(row.id, result, Date.now(), owner);
  if (done === LOST) throw new Error(`the claim on ${row.lane} was lost`);
  return done;
}

/** Completes an event (the claim must hold) and returns the replies it queued. */
export async function complete(store: BotStore, row: InboxRow | undefined, result: EventOutcome, owner: string): Promise<OutboxRow[]> {
  return (await completion(store, row, result, owner)).replies;
}

/** The text of a queued reply. */
export function replyText(row: OutboxRow | undefined): string | undefined {
  return (row?.action as { message?: { text?: string } } | undefined)?.message?.text;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Claims the lane of `user` for `owner` (fails the test if it is not claimable). */
export async function claimLane(store: BotStore, owner: string, user: number, leaseMs = 10_000): Promise<void> {
  const claimed = await store.claimInboxLanes(owner, 100, leaseMs, Date.now());
  if (!claimed.some((c) => c.lane === laneOf(user))) throw new Error(`${owner} could not claim ${laneOf(user)} (got ${claimed.map((c) => c.lane).join(', ') || 'nothing'})`);
}
