import { describe, it, expect } from '@jest/globals';
import { loadCatalog, parseOrderNumber } from '../../services/shop/catalog.ts';

describe('parseOrderNumber', () => {
  it.each(['TW-10231', 'tw10231', ' #10231 ', '10231', 'TW 10231', 'tw-10231'])('reads %j as TW-10231', (text) => {
    expect(parseOrderNumber(text)).toEqual({ valid: true, number: 'TW-10231' });
  });

  it.each(['TW-1023', 'TW-102311', 'abc', '12', '', '   ', 'TW-', 'order 10231', '1023l'])('rejects %j', (text) => {
    expect(parseOrderNumber(text)).toEqual({ valid: false });
  });
});

describe('loadCatalog', () => {
  const catalog = loadCatalog();

  it('finds orders by their normalised number', () => {
    expect(catalog.order('TW-10232')).toMatchObject({ number: 'TW-10232', status: 'shipped' });
    expect(catalog.order('TW-99999')).toBeUndefined();
  });

  it('finds products by id', () => {
    expect(catalog.product('sencha')?.id).toBe('sencha');
    expect(catalog.product('coffee')).toBeUndefined();
  });
});
