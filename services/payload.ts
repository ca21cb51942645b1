// Postback and quick-reply payloads: one codec over a closed set of actions. Routing is by the
// decoded action, never by substring matching, and the compiler checks every action is handled.
import { isSupportedLocale, type Locale } from './i18n.ts';

export type PayloadAction =
  | { action: 'GET_STARTED' }
  | { action: 'MENU' }
  | { action: 'BROWSE' }
  | { action: 'PRODUCT_DETAILS'; product_id: string }
  | { action: 'ORDER_STATUS' }
  | { action: 'TALK_TO_HUMAN' }
  | { action: 'LANGUAGE' }
  | { action: 'SET_LOCALE'; locale: Locale }
  | { action: 'CANCEL' };

export type ActionName = PayloadAction['action'];

const SIMPLE = new Set<ActionName>(['GET_STARTED', 'MENU', 'BROWSE', 'ORDER_STATUS', 'TALK_TO_HUMAN', 'LANGUAGE', 'CANCEL']);
const ID = /^[a-z0-9-]{1,64}$/;

export function encodePayload(p: PayloadAction): string {
  switch (p.action) {
    case 'PRODUCT_DETAILS':
      return `PRODUCT_DETAILS:${p.product_id}`;
    case 'SET_LOCALE':
      return `SET_LOCALE:${p.locale}`;
    default:
      return p.action;
  }
}

/** The action a payload encodes, or undefined for anything we did not produce. */
export function decodePayload(payload: string): PayloadAction | undefined {
  const [name, arg, extra] = payload.split(':');
  if (name === undefined || extra !== undefined) return undefined;
  if (arg === undefined) return SIMPLE.has(name as ActionName) ? ({ action: name } as PayloadAction) : undefined;
  if (name === 'PRODUCT_DETAILS' && ID.test(arg)) return { action: 'PRODUCT_DETAILS', product_id: arg };
  if (name === 'SET_LOCALE' && isSupportedLocale(arg)) return { action: 'SET_LOCALE', locale: arg };
  return undefined;
}
