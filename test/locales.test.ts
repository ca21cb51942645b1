// Every translation must mirror locales/en_US.json: same keys, same {{placeholders}}, and short
// enough for the Messenger fields the strings end up in (quick replies, buttons, carousel cards).
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TRANSLATIONS = ['id_ID', 'zh_TW', 'es_ES'] as const;
type Translation = (typeof TRANSLATIONS)[number];

const NATIVE_NAMES: Record<Translation, string> = {
  id_ID: 'Bahasa Indonesia',
  zh_TW: '繁體中文',
  es_ES: 'Español',
};

/** Quick-reply and button titles: Messenger rejects anything over 20 characters. */
const TITLE_KEYS = [
  'menu.browse',
  'menu.order_status',
  'menu.human',
  'menu.language',
  'orders.cancel',
  'browse.details_button',
  'browse.buy',
  'browse.back',
  'language.name',
] as const;
const TITLE_LIMIT = 20;
/** Generic-template element title. */
const PRODUCT_TITLE_LIMIT = 80;
/** Leaves room for " · " and a formatted price inside the 80-character element subtitle. */
const TAGLINE_LIMIT = 45;

/**
 * Keys whose text may equal the English text: pure format strings with nothing to translate.
 * Each must contain no letters outside its placeholders (checked below), so the list cannot hide
 * untranslated prose.
 */
const SAME_AS_ENGLISH = new Set(['browse.subtitle', 'browse.details']);

const PLACEHOLDER = /\{\{[^{}]*\}\}/g;

function loadLocale(locale: string): Map<string, unknown> {
  const path = fileURLToPath(new URL(`../locales/${locale}.json`, import.meta.url));
  const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const leaves = new Map<string, unknown>();
  flatten(data, '', leaves);
  return leaves;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects every leaf (anything that is not a plain object) under its dotted key path. */
function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  if (!isRecord(value)) {
    into.set(prefix, value);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    flatten(child, prefix ? `${prefix}.${key}` : key, into);
  }
}

function placeholders(text: unknown): string[] {
  if (typeof text !== 'string') return [];
  return [...new Set(text.match(PLACEHOLDER) ?? [])].sort();
}

function codePoints(text: string): number {
  return [...text].length;
}

const english = loadLocale('en_US');
const englishKeys = [...english.keys()].sort();
const productKeys = (field: 'title' | 'tagline') => englishKeys.filter((key) => new RegExp(`^products\\.[^.]+\\.${field}$`).test(key));

describe('en_US (the reference)', () => {
  it('has every key the limits and allow-list refer to', () => {
    const referenced = [...TITLE_KEYS, ...SAME_AS_ENGLISH];
    expect(referenced.filter((key) => !english.has(key))).toEqual([]);
    expect(productKeys('title').length).toBeGreaterThan(0);
    expect(productKeys('tagline')).toHaveLength(productKeys('title').length);
  });

  it('allow-lists only format strings with nothing to translate', () => {
    const prose = [...SAME_AS_ENGLISH].filter((key) => {
      const text = english.get(key);
      return typeof text !== 'string' || /\p{L}/u.test(text.replace(PLACEHOLDER, ''));
    });
    expect(prose).toEqual([]);
  });
});

describe.each(TRANSLATIONS)('%s', (locale) => {
  const translated = loadLocale(locale);

  it('has exactly the key paths of en_US', () => {
    const missing = englishKeys.filter((key) => !translated.has(key));
    const extra = [...translated.keys()].filter((key) => !english.has(key)).sort();
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('has a non-empty string at every leaf', () => {
    const bad = [...translated]
      .filter(([, value]) => typeof value !== 'string' || value.trim() === '')
      .map(([key, value]) => ({ key, value }));
    expect(bad).toEqual([]);
  });

  it('keeps the {{placeholders}} of each en_US string', () => {
    const mismatched = englishKeys
      .map((key) => ({ key, expected: placeholders(english.get(key)), actual: placeholders(translated.get(key)) }))
      .filter(({ expected, actual }) => expected.join('\n') !== actual.join('\n'));
    expect(mismatched).toEqual([]);
  });

  it('fits Messenger length limits (in code points)', () => {
    const checks = [
      ...TITLE_KEYS.map((key) => ({ key, limit: TITLE_LIMIT })),
      ...productKeys('title').map((key) => ({ key, limit: PRODUCT_TITLE_LIMIT })),
      ...productKeys('tagline').map((key) => ({ key, limit: TAGLINE_LIMIT })),
    ];
    const tooLong = checks
      .map(({ key, limit }) => {
        const text = translated.get(key);
        return { key, limit, length: typeof text === 'string' ? codePoints(text) : Number.NaN };
      })
      .filter(({ limit, length }) => !(length <= limit));
    expect(tooLong).toEqual([]);
  });

  it('names the language in that language', () => {
    expect(translated.get('language.name')).toBe(NATIVE_NAMES[locale]);
  });

  it('translates every string (none left identical to English outside the allow-list)', () => {
    const untranslated = englishKeys.filter((key) => !SAME_AS_ENGLISH.has(key) && translated.get(key) === english.get(key));
    expect(untranslated).toEqual([]);
  });
});
