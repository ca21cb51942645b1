// Postback, quick-reply and ice-breaker payloads: one codec over the entries of the action table
// (services/conversation/actions.ts). A payload is the entry's name, or `NAME:value` for an entry
// with an argument. Routing is by the decoded action, never by substring matching.
import type { ActionName, ActionTable, ArgumentEntry } from './conversation/actions.ts';
import { ACTIONS, entryOf } from './conversation/actions.ts';

type ActionFor<N extends ActionName> = ActionTable[N] extends ArgumentEntry<infer Arg, infer Value> ? Flat<{ action: N } & Record<Arg, Value>> : { action: N };
type Flat<T> = { [K in keyof T]: T[K] };

/** A decoded payload: `{ action: 'BROWSE' }`, `{ action: 'PRODUCT_DETAILS', product_id: 'sencha' }`. */
export type PayloadAction = { [N in ActionName]: ActionFor<N> }[ActionName];
export type { ActionName };

/** Thrown for a value its own entry would not accept back (a bug in a flow, caught by its tests). */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

export function encodePayload(action: PayloadAction): string {
  const entry = entryOf(action.action);
  if (entry.argument === undefined) return action.action;
  const text = String((action as Record<string, unknown>)[entry.argument.name]);
  if (text.includes(':') || entry.argument.parse(text) === undefined) {
    throw new PayloadError(`${action.action}: ${entry.argument.name} ${JSON.stringify(text)} would not decode`);
  }
  return `${action.action}:${text}`;
}

/** The action a payload encodes, or undefined for anything we did not produce. */
export function decodePayload(payload: string): PayloadAction | undefined {
  const [name, value, extra] = payload.split(':');
  if (name === undefined || extra !== undefined || !Object.hasOwn(ACTIONS, name)) return undefined;
  // Object.hasOwn has just shown `name` is a key of the table.
  const entry = entryOf(name as ActionName);
  if (value === undefined) return entry.argument === undefined ? ({ action: name } as PayloadAction) : undefined;
  if (entry.argument === undefined) return undefined;
  const parsed = entry.argument.parse(value);
  return parsed === undefined ? undefined : ({ action: name, [entry.argument.name]: parsed } as PayloadAction);
}
