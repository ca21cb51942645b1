// Reading the shop's JSON files in data/ with errors that name the file and the field, so a typo
// stops start-up with "data/shop.json: opening_hours.monday[0] ..." instead of reaching a customer.
import { readFileSync } from 'node:fs';

/** A value in a data file: the file (as the shop knows it, e.g. `data/shop.json`) and its path in it. */
export interface Field {
  file: string;
  path: string;
  value: unknown;
}

export class DataFileError extends Error {
  override name = 'DataFileError';
}

/** Reads and parses a data file; `file` is the name used in messages. */
export function readDataFile(path: string, file: string): Field {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DataFileError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}). It belongs in data/; see CONTRIBUTING.md.`);
  }
  try {
    return { file, path: '', value: JSON.parse(text) as unknown };
  } catch (err) {
    throw new DataFileError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

export function fail(field: Field, problem: string): never {
  throw new DataFileError(`${field.file}: ${field.path || '(top level)'} ${problem}`);
}

/** The member `key` of an object field (missing members have the value undefined). */
export function member(field: Field, key: string | number): Field {
  const path = typeof key === 'number' ? `${field.path}[${key}]` : field.path ? `${field.path}.${key}` : key;
  const value = Array.isArray(field.value) ? (field.value as unknown[])[Number(key)] : isRecord(field.value) ? field.value[key] : undefined;
  return { file: field.file, path, value };
}

/** Checks the field is an object with only the `known` members (a typo is named, not ignored). */
export function object(field: Field, known: readonly string[]): Field {
  if (!isRecord(field.value)) fail(field, `must be an object, got ${describe(field.value)}`);
  const unknown = Object.keys(field.value).filter((key) => !known.includes(key));
  if (unknown.length > 0) fail(field, `has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  return field;
}

export function array(field: Field): Field[] {
  if (!Array.isArray(field.value)) fail(field, `must be a JSON array, got ${describe(field.value)}`);
  return (field.value as unknown[]).map((_, i) => member(field, i));
}

/** A non-empty string, optionally matching `format` (described by `expected` in the error). */
export function string(field: Field, format?: { test(text: string): boolean; expected: string }): string {
  const { value } = field;
  if (typeof value !== 'string' || value.trim() === '') fail(field, `must be a non-empty string, got ${describe(value)}`);
  if (format && !format.test(value)) fail(field, `must be ${format.expected}, got ${JSON.stringify(value)}`);
  return value;
}

export function optionalString(field: Field, format?: { test(text: string): boolean; expected: string }): string | undefined {
  return field.value === undefined ? undefined : string(field, format);
}

export function positiveInteger(field: Field): number {
  const { value } = field;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, `must be a whole number of at least 1, got ${describe(value)}`);
  return value;
}

/** A format check from a regular expression. */
export function matching(pattern: RegExp, expected: string): { test(text: string): boolean; expected: string } {
  return { test: (text) => pattern.test(text), expected };
}

/** A calendar date written YYYY-MM-DD that exists (no 2026-02-30). */
export const isoDate = {
  expected: 'a date like "2026-11-20"',
  test(text: string): boolean {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    const date = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
