import { describe, it, expect } from '@jest/globals';
import { ACTIONS } from '../../services/conversation/actions.ts';
import { decodePayload, encodePayload, PayloadError, type ActionName, type PayloadAction } from '../../services/payload.ts';

// Entries with an argument need a value; every other entry's payload is its name alone.
const WITH_ARGUMENT = {
  PRODUCT_DETAILS: { action: 'PRODUCT_DETAILS', product_id: 'jasmine-pearls' },
  SET_LOCALE: { action: 'SET_LOCALE', locale: 'zh_TW' },
} satisfies { [N in ActionName]?: Extract<PayloadAction, { action: N }> };
const EXAMPLES: PayloadAction[] = (Object.keys(ACTIONS) as ActionName[]).map((name) =>
  name in WITH_ARGUMENT ? WITH_ARGUMENT[name as keyof typeof WITH_ARGUMENT] : ({ action: name } as PayloadAction),
);

describe('payload codec (derived from the action table)', () => {
  it('knows every entry of the table with an argument', () => {
    const withArgument = Object.entries(ACTIONS).filter(([, entry]) => 'argument' in entry).map(([name]) => name);
    expect(withArgument.sort()).toEqual(Object.keys(WITH_ARGUMENT).sort());
  });

  it.each(EXAMPLES.map((a) => [a.action, a] as const))('round-trips %s', (_name, action) => {
    expect(decodePayload(encodePayload(action))).toEqual(action);
  });

  it('encodes a simple entry as its name and an argument after a colon', () => {
    expect(encodePayload({ action: 'PRODUCT_DETAILS', product_id: 'sencha' })).toBe('PRODUCT_DETAILS:sencha');
    expect(encodePayload({ action: 'SET_LOCALE', locale: 'es_ES' })).toBe('SET_LOCALE:es_ES');
    expect(encodePayload({ action: 'MENU' })).toBe('MENU');
  });

  it('refuses to encode a value its entry would not decode', () => {
    expect(() => encodePayload({ action: 'PRODUCT_DETAILS', product_id: 'Earl Grey' })).toThrow(PayloadError);
    expect(() => encodePayload({ action: 'PRODUCT_DETAILS', product_id: 'a:b' })).toThrow('PRODUCT_DETAILS: product_id "a:b" would not decode');
  });

  it.each([
    ['an empty string', ''],
    ['an unknown name', 'CARE_HELP'],
    ['a lower-case name', 'menu'],
    ['a property of every object', 'constructor'],
    ['a simple action with an argument', 'BROWSE:x'],
    ['a simple action with an empty argument', 'MENU:'],
    ['extra colons', 'PRODUCT_DETAILS:sencha:1'],
    ['a product id with upper case', 'PRODUCT_DETAILS:Sencha'],
    ['a product id with spaces', 'PRODUCT_DETAILS:earl grey'],
    ['an empty product id', 'PRODUCT_DETAILS:'],
    ['a product id over 64 characters', `PRODUCT_DETAILS:${'a'.repeat(65)}`],
    ['a product action without an id', 'PRODUCT_DETAILS'],
    ['an unsupported locale', 'SET_LOCALE:xx_XX'],
    ['a locale in the wrong case', 'SET_LOCALE:EN_US'],
  ])('rejects %s', (_what, payload) => {
    expect(decodePayload(payload)).toBeUndefined();
  });
});
