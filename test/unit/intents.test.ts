import { describe, it, expect } from '@jest/globals';
import { ACTIONS, matchIntent } from '../../services/conversation/actions.ts';
import { createIntentMatcher, normalizeText } from '../../services/conversation/intents.ts';
import { SUPPORTED_LOCALES, type Locale } from '../../services/i18n.ts';

describe('normalizeText: the same rules in every language', () => {
  it.each([
    ['¡Hola!', 'hola'],
    ['¿ayuda?', 'ayuda'],
    ['  ¡Buenos   DÍAS! ', 'buenos dias'],
    ['MENÚ.', 'menu'],
    ['營業時間？', '營業時間'],
    ['你好！！', '你好'],
    ['嗨，', '嗨'],
    ['開始。', '開始'],
    ['ｈｅｌｌｏ！', 'hello'],
    ['Jam　Buka', 'jam buka'],
    ['Selamat pagi...', 'selamat pagi'],
    ['hi 👋🏽', 'hi'],
    ['«hola»', 'hola'],
    ['', ''],
    ['!!!', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('keeps the marks that are part of a non-Latin letter', () => {
    expect(normalizeText('สวัสดี')).toBe('สวัสดี');
    expect(normalizeText('नमस्ते')).toBe('नमस्ते');
  });
});

describe('matchIntent (the table\'s words)', () => {
  it('matches every word of every entry, in every language, however it is punctuated', () => {
    for (const [name, entry] of Object.entries(ACTIONS)) {
      if (!('intents' in entry)) continue;
      for (const locale of SUPPORTED_LOCALES) {
        for (const word of entry.intents[locale]) {
          expect({ word, match: matchIntent(`¡¿${word.toUpperCase()}?!`)?.name }).toEqual({ word, match: name });
        }
      }
    }
  });

  it('knows which languages a word belongs to', () => {
    expect(matchIntent('¡Hola!')).toEqual({ name: 'GET_STARTED', locales: ['es_ES'] });
    expect(matchIntent('Menu')?.locales).toEqual(['en_US', 'id_ID', 'es_ES']);
  });

  it('matches whole messages only', () => {
    expect(matchIntent('hola amigo')).toBeUndefined();
    expect(matchIntent('do you sell tea')).toBeUndefined();
    expect(matchIntent('')).toBeUndefined();
  });
});

describe('createIntentMatcher refuses a table that cannot be matched', () => {
  const none = Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, []])) as unknown as Record<Locale, string[]>;

  it('names both entries when one word would trigger two', () => {
    expect(() =>
      createIntentMatcher([
        { name: 'MENU', intents: { ...none, en_US: ['Help!'] } },
        { name: 'HOURS', intents: { ...none, es_ES: ['help'] } },
      ]),
    ).toThrow('HOURS.intents.es_ES: "help" already triggers MENU (en_US)');
  });

  it('refuses a word with nothing left to match', () => {
    expect(() => createIntentMatcher([{ name: 'MENU', intents: { ...none, zh_TW: ['？'] } }])).toThrow('MENU.intents.zh_TW: "？" has no letters or digits left to match');
  });
});
