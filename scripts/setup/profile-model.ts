// The Messenger Profile the bot wants, built from the action table (which entries, in which order:
// services/conversation/actions.ts) and locales/ (their texts), and a field-by-field comparison with
// what the Page has. Comparison is on a canonical form: entries keyed by locale and allow-listed
// domains are order-insensitive, menu items keep their order (people see it).
import { DEFAULT_LOCALE, SUPPORTED_LOCALES, type Locale, type Translations } from '../../services/i18n.ts';
import { entriesIn } from '../../services/conversation/actions.ts';
import { encodePayload } from '../../services/payload.ts';
import { isRecord } from './subscriptions.ts';

/** `default` is what Meta shows for locales without their own entry; it carries the English text. */
export const PROFILE_LOCALES = ['default', ...SUPPORTED_LOCALES] as const;
export type ProfileLocale = (typeof PROFILE_LOCALES)[number];

export type MenuItem =
  | { type: 'postback'; title: string; payload: string }
  | { type: 'web_url'; title: string; url: string; webview_height_ratio: 'compact' | 'tall' | 'full' };

export interface MessengerProfile {
  get_started: { payload: string };
  greeting: { locale: string; text: string }[];
  persistent_menu: { locale: string; composer_input_disabled: boolean; call_to_actions: MenuItem[] }[];
  whitelisted_domains: string[];
}

export interface InstagramProfile {
  ice_breakers: { locale: string; call_to_actions: { question: string; payload: string }[] }[];
}

export const MESSENGER_PROFILE_FIELDS = ['get_started', 'greeting', 'persistent_menu', 'whitelisted_domains'] as const;
export const INSTAGRAM_PROFILE_FIELDS = ['ice_breakers'] as const;
export type ProfileField = (typeof MESSENGER_PROFILE_FIELDS)[number] | (typeof INSTAGRAM_PROFILE_FIELDS)[number];

function textLocale(locale: ProfileLocale): Locale {
  return locale === 'default' ? DEFAULT_LOCALE : locale;
}

export function desiredMessengerProfile(appUrl: string, translations: Translations): MessengerProfile {
  const t = (locale: ProfileLocale) => translations.fixedT(textLocale(locale));
  return {
    get_started: { payload: encodePayload({ action: 'GET_STARTED' }) },
    greeting: PROFILE_LOCALES.map((locale) => ({ locale, text: t(locale)('profile.greeting') })),
    persistent_menu: PROFILE_LOCALES.map((locale) => ({
      locale,
      composer_input_disabled: false,
      call_to_actions: [
        ...entriesIn('persistentMenu').map((entry): MenuItem => ({ type: 'postback', title: t(locale)(entry.label), payload: encodePayload({ action: entry.name }) })),
        { type: 'web_url', title: t(locale)('profile.shop'), url: `${appUrl}/shop.html`, webview_height_ratio: 'full' },
      ],
    })),
    whitelisted_domains: [new URL(appUrl).origin],
  };
}

export function desiredInstagramProfile(translations: Translations): InstagramProfile {
  return {
    ice_breakers: PROFILE_LOCALES.map((locale) => {
      const t = translations.fixedT(textLocale(locale));
      return {
        locale,
        call_to_actions: entriesIn('iceBreaker').map((entry) => ({ question: t(entry.label), payload: encodePayload({ action: entry.name }) })),
      };
    }),
  };
}

/** The profile object from a GET me/messenger_profile answer (`{ data: [ {...} ] }`, or `{ data: [] }` when empty). */
export function currentProfile(body: unknown): Record<string, unknown> {
  const data = isRecord(body) && Array.isArray(body.data) ? (body.data as unknown[]) : [];
  const first = data[0];
  if (isRecord(first) && !Object.hasOwn(first, 'call_to_actions') && !Object.hasOwn(first, 'question')) return first;
  // Instagram answers fields=ice_breakers with the ice breakers themselves as `data`.
  return data.length > 0 ? { ice_breakers: data } : {};
}

export interface FieldChange {
  field: ProfileField;
  state: 'unchanged' | 'added' | 'changed';
  /** What differs, one short line each. */
  details: string[];
}

/** Compares each desired field with the current one. */
export function diffProfile<F extends ProfileField>(fields: readonly F[], desired: Record<F, unknown>, current: Record<string, unknown>): FieldChange[] {
  return fields.map((field) => {
    const want = canonical(field, desired[field]);
    const have = current[field];
    if (have === undefined || have === null) return { field, state: 'added', details: ['not set on the Page'] };
    const got = canonical(field, have);
    if (JSON.stringify(want) === JSON.stringify(got)) return { field, state: 'unchanged', details: [] };
    return { field, state: 'changed', details: describe(field, want, got) };
  });
}

type Canonical = string | string[] | { locale: string; value: string }[] | null;

function canonical(field: ProfileField, value: unknown): Canonical {
  switch (field) {
    case 'get_started':
      return isRecord(value) && typeof value.payload === 'string' ? value.payload : null;
    case 'whitelisted_domains':
      return Array.isArray(value) ? [...new Set(value.map((d) => originOf(String(d))))].sort() : null;
    case 'greeting':
      return byLocale(value, (entry) => (typeof entry.text === 'string' ? entry.text : JSON.stringify(entry.text ?? null)));
    case 'persistent_menu':
      return byLocale(value, (entry) => JSON.stringify({ composer_input_disabled: entry.composer_input_disabled === true, items: asArray(entry.call_to_actions).map(menuItem) }));
    case 'ice_breakers':
      // The old, locale-less format is a flat list of questions: it never equals ours.
      return byLocale(value, (entry) => JSON.stringify(asArray(entry.call_to_actions).map((c) => (isRecord(c) ? { question: c.question, payload: c.payload } : c))));
    default:
      return assertNever(field);
  }
}

function byLocale(value: unknown, render: (entry: Record<string, unknown>) => string): { locale: string; value: string }[] {
  return asArray(value)
    .map((entry) => (isRecord(entry) ? { locale: typeof entry.locale === 'string' ? entry.locale : '(no locale)', value: render(entry) } : { locale: '(no locale)', value: JSON.stringify(entry) }))
    .sort((a, b) => a.locale.localeCompare(b.locale));
}

function menuItem(item: unknown): unknown {
  if (!isRecord(item)) return item;
  if (item.type === 'web_url') return { type: item.type, title: item.title, url: item.url, webview_height_ratio: item.webview_height_ratio ?? 'full' };
  if (item.type === 'postback') return { type: item.type, title: item.title, payload: item.payload };
  return Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)));
}

function describe(field: ProfileField, want: Canonical, have: Canonical): string[] {
  if (typeof want === 'string' || typeof have === 'string' || want === null || have === null) {
    return [`${JSON.stringify(have)} → ${JSON.stringify(want)}`];
  }
  if (field === 'whitelisted_domains') {
    const w = want as string[];
    const h = have as string[];
    return [`${h.join(', ') || '(none)'} → ${w.join(', ')}`];
  }
  const wantMap = new Map((want as { locale: string; value: string }[]).map((e) => [e.locale, e.value]));
  const haveMap = new Map((have as { locale: string; value: string }[]).map((e) => [e.locale, e.value]));
  const added = [...wantMap.keys()].filter((l) => !haveMap.has(l));
  const changed = [...wantMap.keys()].filter((l) => haveMap.has(l) && haveMap.get(l) !== wantMap.get(l));
  const removed = [...haveMap.keys()].filter((l) => !wantMap.has(l));
  const details: string[] = [];
  if (changed.length > 0) details.push(`changed for ${changed.join(', ')}`);
  if (added.length > 0) details.push(`added for ${added.join(', ')}`);
  if (removed.length > 0) details.push(`removed for ${removed.join(', ')} (not in locales/)`);
  return details;
}

function originOf(domain: string): string {
  try {
    return new URL(domain).origin;
  } catch {
    return domain.replace(/\/+$/, '');
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function assertNever(value: never): never {
  throw new Error(`unhandled profile field ${String(value)}`);
}
