import { describe, it, expect } from '@jest/globals';
import { decodePayload, encodePayload, type PayloadAction } from '../../services/payload.ts';

const ACTIONS: PayloadAction[] = [
  { action: 'GET_STARTED' },
  { action: 'MENU' },
  { action: 'BROWSE' },
  { action: 'PRODUCT_DETAILS', product_id: 'jasmine-pearls' },
  { action: 'ORDER_STATUS' },
  { action: 'TALK_TO_HUMAN' },
  { action: 'LANGUAGE' },
  { action: 'SET_LOCALE', locale: 'zh_TW' },
  { action: 'CANCEL' },
];

describe('payload codec', () => {
  it.each(ACTIONS.map((a) => [a.action, a] as const))('round-trips %s', (_name, action) => {
    expect(decodePayload(encodePayload(action))).toEqual(action);
  });

  it('encodes arguments after a colon', () => {
    expect(encodePayload({ action: 'PRODUCT_DETAILS', product_id: 'sencha' })).toBe('PRODUCT_DETAILS:sencha');
    expect(encodePayload({ action: 'SET_LOCALE', locale: 'es_ES' })).toBe('SET_LOCALE:es_ES');
    expect(encodePayload({ action: 'MENU' })).toBe('MENU');
  });

  it.each([
    ['an empty string', ''],
    ['an unknown name', 'CARE_HELP'],
    ['a lower-case name', 'menu'],
    ['a simple action with an argument', 'BROWSE:x'],
    ['a simple action with an empty argument', 'MENU:'],
    ['extra colons', 'PRODUCT_DETAILS:sencha:1'],
    ['a product id with upper case', 'PRODUCT_DETAILS:Sencha'],
    ['a product id with spaces', 'PRODUCT_DETAILS:earl grey'],
    ['an empty product id', 'PRODUCT_DETAILS:'],
    ['a product id over 64 characters', `PRODUCT_DETAILS:${'a'.repeat(65)}`],
    ['a product action without an id', 'PRODUCT_DETAILS'],
    ['an unsupported locale', 'SET_LOCALE:fr_FR'],
    ['a locale in the wrong case', 'SET_LOCALE:EN_US'],
  ])('rejects %s', (_what, payload) => {
    expect(decodePayload(payload)).toBeUndefined();
  });
});
