// Translations: one i18next instance, loaded once, never switched. Each event gets its own
// `t` from getFixedT(locale), so two users talking at once each keep their own language.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import i18next, { type TFunction, type i18n } from 'i18next';

export const SUPPORTED_LOCALES = ['en_US', 'id_ID', 'zh_TW', 'es_ES'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en_US';

export type Translate = TFunction;

export interface Translations {
  /** A `t` fixed to one locale. */
  fixedT(locale: Locale): Translate;
}

const LOCALES_DIR = fileURLToPath(new URL('../locales/', import.meta.url));

/** Loads every supported locale from `locales/<locale>.json` into a private i18next instance. */
export function createTranslations(dir: string = LOCALES_DIR): Translations {
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
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  // A fixed t is immutable, so one per locale serves every event (getFixedT is not free on a hot path).
  const fixed = new Map(SUPPORTED_LOCALES.map((locale) => [locale, memoized(instance.getFixedT(locale))]));
  return { fixedT: (locale) => fixed.get(locale) ?? instance.getFixedT(locale) };
}

/**
 * A fixed t that remembers what it returned for a bare key (menu labels, prompts: most calls). A
 * call with options (interpolation, plurals) always goes to i18next. The memo holds at most one
 * string per key in the locale files, and the resources never change after loading.
 */
function memoized(t: Translate): Translate {
  const memo = new Map<string, string>();
  const call = t as unknown as (...args: unknown[]) => unknown;
  const wrapped = (...args: unknown[]): unknown => {
    const [key] = args;
    if (args.length !== 1 || typeof key !== 'string') return call(...args);
    let text = memo.get(key);
    if (text === undefined) {
      text = t(key);
      memo.set(key, text);
    }
    return text;
  };
  return Object.assign(wrapped, t);
}

function readLocaleFile(dir: string, locale: Locale): Record<string, unknown> {
  return JSON.parse(readFileSync(`${dir}${locale}.json`, 'utf8')) as Record<string, unknown>;
}

export function isSupportedLocale(value: string): value is Locale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
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
