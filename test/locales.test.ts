// Every translation must mirror locales/en_US.json: same keys, same {{placeholders}}, no empty
// text, and short enough for the Messenger fields the strings end up in (quick replies, buttons,
// carousel cards). Which strings are button titles comes from the action table.
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { entriesIn } from '../services/conversation/actions.ts';
import { loadShop } from '../services/shop/shop.ts';

const TRANSLATIONS = ['id_ID', 'zh_TW', 'es_ES'] as const;
type Translation = (typeof TRANSLATIONS)[number];

const NATIVE_NAMES: Record<Translation, string> = {
  id_ID: 'Bahasa Indonesia',
  zh_TW: '繁體中文',
  es_ES: 'Español',
};

/** Quick-reply and button titles: Messenger rejects anything over 20 characters. */
const TITLE_KEYS = [
  // Persistent-menu entries show the same label, and their limit (30) is looser.
  ...new Set([...entriesIn('quickReply'), ...entriesIn('persistentMenu')].map((entry) => entry.label)),
  'orders.cancel',
  'browse.details_button',
  'browse.buy',
  'browse.back',
  'language.name',
];
const TITLE_LIMIT = 20;
/** Instagram ice breaker questions. */
const QUESTION_KEYS = entriesIn('iceBreaker').map((entry) => entry.label);
const QUESTION_LIMIT = 80;
/** Generic-template element title. */
const PRODUCT_TITLE_LIMIT = 80;
/** Leaves room for " · " and a formatted price inside the 80-character element subtitle. */
const TAGLINE_LIMIT = 45;

const PLACEHOLDER = /\{\{[^{}]*\}\}/g;

/** A pure format string ("{{first}}–{{last}}", "📍 {{address}}"): nothing to translate, may equal English. */
function isFormatOnly(text: unknown): boolean {
  return typeof text === 'string' && !/\p{L}/u.test(text.replace(PLACEHOLDER, ''));
}

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
const shopName = loadShop().name;
const englishKeys = [...english.keys()].sort();
const productKeys = (field: 'title' | 'tagline') => englishKeys.filter((key) => new RegExp(`^products\\.[^.]+\\.${field}$`).test(key));

describe('en_US (the reference)', () => {
  it('has every key the length limits refer to', () => {
    const referenced = [...TITLE_KEYS, ...QUESTION_KEYS];
    expect(referenced.filter((key) => !english.has(key))).toEqual([]);
    expect(productKeys('title').length).toBeGreaterThan(0);
    expect(productKeys('tagline')).toHaveLength(productKeys('title').length);
  });

  it('names the shop only through {{shop}}, so renaming it is an edit of data/shop.json', () => {
    const naming = [...english].filter(([, value]) => typeof value === 'string' && value.includes(shopName)).map(([key]) => key);
    expect(naming).toEqual([]);
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
      ...QUESTION_KEYS.map((key) => ({ key, limit: QUESTION_LIMIT })),
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

  it('names the shop only through {{shop}}, so renaming it is an edit of data/shop.json', () => {
    const naming = [...translated].filter(([, value]) => typeof value === 'string' && value.includes(shopName)).map(([key]) => key);
    expect(naming).toEqual([]);
  });

  it('names the language in that language', () => {
    expect(translated.get('language.name')).toBe(NATIVE_NAMES[locale]);
  });

  it('translates every string (only pure format strings may equal English)', () => {
    const untranslated = englishKeys.filter((key) => !isFormatOnly(english.get(key)) && translated.get(key) === english.get(key));
    expect(untranslated).toEqual([]);
  });
});
