import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadCatalog, parseOrderNumber } from '../../services/shop/catalog.ts';
import { withDataDir } from '../support/data-dir.ts';

const real = (name: string): Record<string, unknown>[] => JSON.parse(readFileSync(new URL(`../../data/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>[];
const products = real('products.json');
const orders = real('orders.json');

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

  it('finds products by id, and carries the shop', () => {
    expect(catalog.product('sencha')?.id).toBe('sencha');
    expect(catalog.product('coffee')).toBeUndefined();
    expect(catalog.shop.name).toBe((JSON.parse(readFileSync(new URL('../../data/shop.json', import.meta.url), 'utf8')) as { name: string }).name);
  });

  it('keeps optional order fields only when present', () => {
    expect(catalog.order('TW-10231')).toEqual({ number: 'TW-10231', status: 'processing', placed: '2026-11-20', items: 2 });
  });
});

describe('loadCatalog refuses broken data, naming the file and the field', () => {
  const load = (files: Record<string, unknown>) => () => withDataDir(files, (dir) => loadCatalog({ data: dir }));
  const product = (changes: Record<string, unknown>) => [{ ...products[0], ...changes }, ...products.slice(1)];
  const order = (i: number, changes: Record<string, unknown>) => orders.map((o, j) => (j === i ? { ...o, ...changes } : o));

  it.each([
    ['not JSON', { 'products.json': '[{"id": "sencha",' }, /^data\/products\.json: not valid JSON/],
    ['not an array', { 'products.json': { sencha: {} } }, 'data/products.json: (top level) must be a JSON array, got an object'],
    ['no products', { 'products.json': [] }, 'data/products.json: (top level) lists no products'],
    ['a missing price', { 'products.json': product({ price: undefined }) }, 'data/products.json: [0].price must be a non-empty string, got nothing (the field is missing)'],
    ['a price as a number', { 'products.json': product({ price: 12.5 }) }, 'data/products.json: [0].price must be a non-empty string, got 12.5'],
    ['a bad currency', { 'products.json': product({ currency: 'usd' }) }, 'data/products.json: [0].currency must be an ISO 4217 currency code like "USD" or "IDR", got "usd"'],
    ['an id that cannot be a payload', { 'products.json': product({ id: 'Earl Grey' }) }, 'data/products.json: [0].id must be lower-case letters'],
    ['a misspelt field', { 'products.json': product({ imgae: 'x.png' }) }, 'data/products.json: [0] has unknown field "imgae" (known: id, price, currency, image)'],
    ['a missing image file', { 'products.json': product({ image: 'images/nope.png' }) }, 'data/products.json: [0].image names public/images/nope.png, which does not exist'],
    ['a product without texts', { 'products.json': product({ id: 'no-such-tea' }) }, 'data/products.json: [0].id "no-such-tea" has no products.no-such-tea.title, products.no-such-tea.tagline, products.no-such-tea.details in locales/en_US.json'],
    ['a duplicate product', { 'products.json': [...products, products[0]] }, `data/products.json: [${products.length}].id "sencha" appears twice`],
    ['an unknown status', { 'orders.json': order(0, { status: 'lost' }) }, 'data/orders.json: [0].status must be one of processing, shipped, delivered, cancelled, got "lost"'],
    ['an impossible date', { 'orders.json': order(0, { placed: '2026-02-30' }) }, 'data/orders.json: [0].placed must be a date like "2026-11-20", got "2026-02-30"'],
    ['an order number the bot cannot read', { 'orders.json': order(0, { number: 'A-1' }) }, 'data/orders.json: [0].number must be TW- and five digits'],
    ['no items', { 'orders.json': order(0, { items: 0 }) }, 'data/orders.json: [0].items must be a whole number of at least 1, got 0'],
    ['a shipped order without tracking', { 'orders.json': order(1, { tracking: undefined }) }, 'data/orders.json: [1].tracking is needed for a shipped order'],
    ['a delivered order without its date', { 'orders.json': order(2, { delivered: undefined }) }, 'data/orders.json: [2].delivered is needed for a delivered order'],
    ['a duplicate order', { 'orders.json': [...orders, orders[0]] }, `data/orders.json: [${orders.length}].number "TW-10231" appears twice`],
  ])('%s', (_what, files, message) => {
    expect(load(files)).toThrow(message);
  });
});
