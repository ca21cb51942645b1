import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTranslations, languageTag, nearestLocale, SUPPORTED_LOCALES, type Locale } from '../../services/i18n.ts';
import { loadShop } from '../../services/shop/shop.ts';

/** `menu.prompt` as written in locales/<locale>.json. */
function promptIn(locale: Locale): string {
  const file = JSON.parse(readFileSync(new URL(`../../locales/${locale}.json`, import.meta.url), 'utf8')) as { menu: { prompt: string } };
  return file.menu.prompt;
}

describe('nearestLocale', () => {
  it.each([
    ['en_US', 'en_US'],
    ['es_ES', 'es_ES'],
    ['zh_tw', 'zh_TW'],
    ['ID_id', 'id_ID'],
    ['es_MX', 'es_ES'],
    ['zh_HK', 'zh_TW'],
    ['zh_CN', 'zh_TW'],
    ['in_ID', 'id_ID'],
    ['id', 'id_ID'],
    ['es-AR', 'es_ES'],
    ['en-GB', 'en_US'],
    ['xx_XX', 'en_US'],
    ['', 'en_US'],
    [undefined, 'en_US'],
  ])('%j → %s', (input, expected) => {
    expect(nearestLocale(input)).toBe(expected);
  });

  it('gives Intl its tag', () => {
    expect(languageTag('zh_TW')).toBe('zh-TW');
    for (const locale of SUPPORTED_LOCALES) expect(Intl.getCanonicalLocales(languageTag(locale))).toEqual([languageTag(locale)]);
  });
});

describe('createTranslations', () => {
  const translations = createTranslations();

  it('gives each locale its own menu prompt', () => {
    const prompts = SUPPORTED_LOCALES.map((l) => translations.fixedT(l)('menu.prompt'));
    expect(prompts).toEqual(SUPPORTED_LOCALES.map(promptIn));
    expect(new Set(prompts).size).toBe(SUPPORTED_LOCALES.length);
  });

  it('keeps two fixed t functions in their own languages when used interleaved', () => {
    const es = translations.fixedT('es_ES');
    const zh = translations.fixedT('zh_TW');
    const first = [es('menu.prompt'), zh('menu.prompt')];
    const again = [zh('menu.prompt'), es('menu.prompt')];
    expect(first).toEqual([promptIn('es_ES'), promptIn('zh_TW')]);
    expect(again).toEqual([promptIn('zh_TW'), promptIn('es_ES')]);
    expect(translations.fixedT('en_US')('menu.prompt')).toBe(promptIn('en_US'));
    expect(es('menu.prompt')).toBe(promptIn('es_ES'));
  });

  it('remembering bare keys keeps every answer the same, and calls with variables are still interpolated', () => {
    const es = translations.fixedT('es_ES');
    expect(es('menu.prompt')).toBe(es('menu.prompt'));
    expect(es('menu.prompt')).toBe(promptIn('es_ES'));
    const ana = es('welcome.named', { name: 'Ana' });
    const eva = es('welcome.named', { name: 'Eva' });
    expect(ana).toContain('Ana');
    expect(eva).toContain('Eva');
    expect(eva).not.toContain('Ana');
  });

  it('fills {{shop}} in every message from data/shop.json, with or without other variables', () => {
    const en = translations.fixedT('en_US');
    const { name } = loadShop();
    expect(en('welcome.anonymous')).toContain(name);
    expect(en('welcome.named', { name: 'Ana' })).toContain(name);
    expect(en('profile.greeting')).not.toContain('{{');
  });

  it('takes another shop and another locales directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locales-'));
    try {
      for (const locale of SUPPORTED_LOCALES) writeFileSync(join(dir, `${locale}.json`), JSON.stringify({ menu: { prompt: `${locale} at {{shop}}` } }));
      const other = createTranslations({ dir: `${dir}/`, shop: { name: 'Kopi Kita' } });
      expect(other.fixedT('id_ID')('menu.prompt')).toBe('id_ID at Kopi Kita');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
