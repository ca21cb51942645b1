// The shop itself, from data/shop.json: its name (in every greeting), opening hours with their time
// zone, address, website and how to reach a person. Validated on load; errors name the field.
import { projectPath } from '../project-dir.ts';
import { matching, member, object, optionalString, readDataFile, string } from './data-file.ts';
import { readOpeningHours, type OpeningHours } from './hours.ts';

export interface Shop {
  name: string;
  address: string;
  website: string;
  contact: { email: string; phone?: string };
  opening_hours: OpeningHours;
}

export const DATA_DIR = projectPath('data/');

const EMAIL = matching(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an email address like "hello@example.com"');
const PHONE = matching(/^\+?[0-9][0-9 ().-]{4,}$/, 'a phone number like "+1 360-555-0142"');
const WEBSITE = { expected: 'an http(s) URL like "https://example.com"', test: isWebUrl };

export function loadShop(dir: string = DATA_DIR): Shop {
  const root = object(readDataFile(`${dir}shop.json`, 'data/shop.json'), ['name', 'address', 'website', 'contact', 'opening_hours']);
  const contact = object(member(root, 'contact'), ['email', 'phone']);
  const phone = optionalString(member(contact, 'phone'), PHONE);
  return deepFreeze({
    name: string(member(root, 'name')),
    address: string(member(root, 'address')),
    website: string(member(root, 'website'), WEBSITE),
    contact: { email: string(member(contact, 'email'), EMAIL), ...(phone === undefined ? {} : { phone }) },
    opening_hours: readOpeningHours(member(root, 'opening_hours')),
  });
}

function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
