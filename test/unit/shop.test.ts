import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadShop } from '../../services/shop/shop.ts';
import { withDataDir } from '../support/data-dir.ts';

const shopJson = JSON.parse(readFileSync(new URL('../../data/shop.json', import.meta.url), 'utf8')) as Record<string, unknown> & { opening_hours: Record<string, unknown> };
const withShop = (changes: Record<string, unknown>) => ({ 'shop.json': { ...shopJson, ...changes } });
const withHours = (changes: Record<string, unknown>) => withShop({ opening_hours: { ...shopJson.opening_hours, ...changes } });
const load = (files: Record<string, unknown>) => () => withDataDir(files, (dir) => loadShop(dir));

describe('loadShop', () => {
  it('reads data/shop.json, frozen', () => {
    const shop = loadShop();
    expect(shop.name).toBe(shopJson.name);
    expect(Object.keys(shop.opening_hours.days)).toEqual(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
    expect(Object.isFrozen(shop.opening_hours.days.monday)).toBe(true);
    expect(() => {
      (shop as { name: string }).name = 'changed';
    }).toThrow(TypeError);
  });

  it('reads opening hours into minutes since midnight, [] for a closed day', () => {
    const shop = withDataDir(withHours({ monday: ['09:00-18:00'], sunday: [] }), (dir) => loadShop(dir));
    expect(shop.opening_hours.days.monday).toEqual([{ from: 9 * 60, to: 18 * 60 }]);
    expect(shop.opening_hours.days.sunday).toEqual([]);
  });

  it('reads several ranges a day and a range to midnight', () => {
    const shop = withDataDir(withHours({ friday: ['10:00-14:00', '17:00-24:00'] }), (dir) => loadShop(dir));
    expect(shop.opening_hours.days.friday).toEqual([{ from: 600, to: 840 }, { from: 1020, to: 1440 }]);
  });
});

describe('loadShop refuses a broken data/shop.json, naming the field', () => {
  it.each([
    ['a missing file', { 'shop.json': undefined }, /^data\/shop\.json: (cannot be read|not valid JSON)/],
    ['an empty name', withShop({ name: ' ' }), 'data/shop.json: name must be a non-empty string, got " "'],
    ['a misspelt field', withShop({ adress: 'x' }), 'data/shop.json: (top level) has unknown field "adress" (known: name, address, website, contact, opening_hours)'],
    ['a website that is not a URL', withShop({ website: 'tidewater-tea' }), 'data/shop.json: website must be an http(s) URL like "https://example.com", got "tidewater-tea"'],
    ['a bad email', withShop({ contact: { email: 'hello' } }), 'data/shop.json: contact.email must be an email address like "hello@example.com", got "hello"'],
    ['a bad phone', withShop({ contact: { email: 'a@b.co', phone: 'call us' } }), 'data/shop.json: contact.phone must be a phone number'],
    ['an unknown time zone', withHours({ time_zone: 'Pacific' }), 'data/shop.json: opening_hours.time_zone must be an IANA time zone like "Europe/Madrid" or "Asia/Jakarta", got "Pacific"'],
    ['a missing day', withHours({ sunday: undefined }), 'data/shop.json: opening_hours.sunday is missing: give its opening times, e.g. ["09:00-18:00"], or [] when closed'],
    ['a misspelt day', withHours({ wensday: [] }), 'data/shop.json: opening_hours has unknown field "wensday"'],
    ['a day as a string', withHours({ monday: '09:00-18:00' }), 'data/shop.json: opening_hours.monday must be a JSON array, got "09:00-18:00"'],
    ['a range without minutes', withHours({ monday: ['9-18'] }), 'data/shop.json: opening_hours.monday[0] must be a time range like "09:00-18:00", got "9-18"'],
    ['a range that ends before it starts', withHours({ monday: ['18:00-09:00'] }), 'data/shop.json: opening_hours.monday[0] must end after it starts, within one day (00:00 to 24:00), got "18:00-09:00"'],
    ['overlapping ranges', withHours({ monday: ['09:00-13:00', '12:00-18:00'] }), 'data/shop.json: opening_hours.monday[1] must start after the previous range of the day ends'],
    [
      'a week without opening times',
      withHours({ monday: [], tuesday: [], wednesday: [], thursday: [], friday: [], saturday: [], sunday: [] }),
      'data/shop.json: opening_hours has no opening time on any day',
    ],
  ])('%s', (_what, files, message) => {
    const written = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined));
    const run = Object.keys(written).length === Object.keys(files).length ? load(files) : () => withDataDir({}, (dir) => loadShop(`${dir}missing/`));
    expect(run).toThrow(message);
  });
});
