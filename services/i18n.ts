// Translations: one i18next instance, loaded once, never switched. Each event gets its own
// `t` from getFixedT(locale), so two users talking at once each keep their own language.
//
// `t` is typed from locales/en_US.json: a key that is not there does not compile, and neither does
// a call that leaves out or misspells one of the message's {{variables}}. `{{shop}}` is filled in
// everywhere from data/shop.json.
import { readFileSync } from 'node:fs';
import { projectPath } from './project-dir.ts';
import i18next, { type i18n } from 'i18next';
// The literal types come from locales/en_US.d.json.ts, which `npm run typecheck` generates from the
// JSON (scripts/locale-types.ts). Without it TypeScript reads the JSON itself: keys are still
// checked, variables are not.
import type English from '../locales/en_US.json';
import { loadShop, type Shop } from './shop/shop.ts';

export const SUPPORTED_LOCALES = ['en_US', 'id_ID', 'zh_TW', 'es_ES'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en_US';

type Messages = typeof English;

/** Every translation key: the dotted path of a string in locales/en_US.json, e.g. `menu.browse`. */
export type MessageKey = KeyPaths<Messages>;

type KeyPaths<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : KeyPaths<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

/** The en_US text of a key (a union for a union of keys). */
export type MessageText<K extends string, T = Messages> = K extends `${infer Head}.${infer Rest}`
  ? Head extends keyof T
    ? MessageText<Rest, T[Head]>
    : never
  : K extends keyof T
    ? T[K]
    : never;

/** The names inside {{…}} in a text (`{{price, currency}}` → `price`). */
type Placeholders<S> = S extends `${string}{{${infer Inside}}}${infer Rest}` ? Trim<Before<Inside, ','>> | Placeholders<Rest> : never;
type Before<S extends string, Separator extends string> = S extends `${infer Head}${Separator}${string}` ? Head : S;
type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S;

/** Variables i18next fills in for every message (from data/shop.json): never passed by a caller. */
export type DefaultVariable = 'shop';

/** The variables a key's message needs, e.g. `{ name: string | number }` for `welcome.named`. */
export type MessageVariables<K extends MessageKey> = { [V in Exclude<Placeholders<MessageText<K>>, DefaultVariable>]: string | number };

/** Keys whose message needs no variables: what a button label or a question can be. */
export type PlainMessageKey = { [K in MessageKey]: [Exclude<Placeholders<MessageText<K>>, DefaultVariable>] extends [never] ? K : never }[MessageKey];

// `MessageKey extends K`: the key did not type-check and K fell back to every key. Accepting one
// argument then lets the compiler report the key itself, not a confusing argument count.
type TranslateArgs<K extends MessageKey> = MessageKey extends K
  ? [variables?: Record<string, never>]
  : string extends MessageText<K>
  ? [variables?: Record<string, string | number>]
  : [Exclude<Placeholders<MessageText<K>>, DefaultVariable>] extends [never]
    ? []
    : [variables: MessageVariables<K>];

/** A `t` fixed to one locale. */
export type Translate = <K extends MessageKey>(key: K, ...variables: TranslateArgs<K>) => string;

export interface Translations {
  /** A `t` fixed to one locale. */
  fixedT(locale: Locale): Translate;
}

const LOCALES_DIR = projectPath('locales/');

export interface TranslationOptions {
  /** Where the `<locale>.json` files are (default: locales/). */
  dir?: string;
  /** The shop whose name fills `{{shop}}` (default: data/shop.json). */
  shop?: Pick<Shop, 'name'>;
}

/** Loads every supported locale from `locales/<locale>.json` into a private i18next instance. */
export function createTranslations(options: TranslationOptions = {}): Translations {
  const dir = options.dir ?? LOCALES_DIR;
  const shop = options.shop ?? loadShop();
  const resources = Object.fromEntries(
    SUPPORTED_LOCALES.map((locale) => [locale, { translation: readLocaleFile(dir, locale) }]),
  );
  const instance: i18n = i18next.createInstance();
  void instance.init({
    resources,
    lng: DEFAULT_LOCALE,
    fallbackLng: DEFAULT_LOCALE,
    initAsync: false,
    load: 'currentOnly',
    // Replies are plain text for Messenger, not HTML.
    interpolation: { escapeValue: false, defaultVariables: { shop: shop.name } satisfies Record<DefaultVariable, string> },
    returnNull: false,
  });
  // A fixed t is immutable, so one per locale serves every event (getFixedT is not free on a hot path).
  const fixed = new Map(SUPPORTED_LOCALES.map((locale) => [locale, memoized(instance.getFixedT(locale))]));
  return { fixedT: (locale) => fixed.get(locale) ?? memoized(instance.getFixedT(locale)) };
}

type Untyped = (key: string, variables?: Record<string, unknown>) => string;

/**
 * A fixed t that remembers what it returned for a bare key (menu labels, prompts: most calls). A
 * call with variables always goes to i18next. The memo holds at most one string per key in the
 * locale files, and the resources never change after loading.
 */
function memoized(t: Untyped): Translate {
  const memo = new Map<string, string>();
  const translate: Untyped = (key, variables) => {
    if (variables !== undefined) return t(key, variables);
    let text = memo.get(key);
    if (text === undefined) {
      text = t(key);
      memo.set(key, text);
    }
    return text;
  };
  // Translate's checks happen at each call site; at run time any key and variables will do.
  return translate;
}

function readLocaleFile(dir: string, locale: Locale): Record<string, unknown> {
  return JSON.parse(readFileSync(`${dir}${locale}.json`, 'utf8')) as Record<string, unknown>;
}

export function isSupportedLocale(value: string): value is Locale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

/** The BCP 47 tag of a locale, for Intl (`es_ES` → `es-ES`). */
export function languageTag(locale: Locale): string {
  return locale.replace('_', '-');
}

/**
 * The supported locale nearest to a profile locale: the same locale, else the same language
 * (es_MX → es_ES, zh_HK → zh_TW, in → id_ID), else the default.
 */
export function nearestLocale(profileLocale: string | undefined): Locale {
  if (!profileLocale) return DEFAULT_LOCALE;
  const normalized = profileLocale.replace('-', '_');
  const exact = SUPPORTED_LOCALES.find((l) => l.toLowerCase() === normalized.toLowerCase());
  if (exact) return exact;
  let language = normalized.split('_')[0]?.toLowerCase() ?? '';
  if (language === 'in') language = 'id'; // Java's legacy code for Indonesian still shows up.
  return SUPPORTED_LOCALES.find((l) => l.startsWith(`${language}_`)) ?? DEFAULT_LOCALE;
}
