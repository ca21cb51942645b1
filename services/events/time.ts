// Meta's times as they really arrive: `timestamp` and `entry.time` are usually milliseconds, but
// the App Dashboard's samples send numeric strings, change notifications send seconds, and other
// projects' fixtures send ISO 8601 strings. Every one of them becomes epoch milliseconds here, so
// the rest of the bot compares plain numbers.

/** Below this a number can only be seconds: 1e11 ms is 1973, 1e11 s is the year 5138. */
const SECONDS_BELOW = 1e11;
/** The largest time a JavaScript Date can hold (year 275760); anything later is not a time. */
const MAX_MS = 8.64e15;

const NUMERIC = /^\d{1,16}(?:\.\d{1,9})?$/;
/** ISO 8601 date, optional time and zone; Graph writes zones as `+0000`, JavaScript as `+00:00`. */
const ISO_8601 = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Whole milliseconds after the epoch, within what a Date can hold. */
function inRange(ms: number): number | undefined {
  const whole = Math.round(ms);
  return whole >= 1 && whole <= MAX_MS ? whole : undefined;
}

function fromNumber(value: number): number | undefined {
  return inRange(value < SECONDS_BELOW ? value * 1000 : value);
}

function fromIso(text: string): number | undefined {
  const match = ISO_8601.exec(text);
  if (match === null) return undefined;
  const [, date, time, zone] = match;
  // Without a zone JavaScript would read local time: a webhook time is never local, so UTC.
  const offset = zone === undefined ? 'Z' : zone.toUpperCase() === 'Z' ? 'Z' : normalOffset(zone);
  const ms = Date.parse(time === undefined ? `${date}T00:00:00Z` : `${date}T${time.replace(',', '.')}${offset}`);
  return inRange(ms);
}

/** `+0000` and `+00` → `+00:00`, the form every JavaScript engine parses. */
function normalOffset(zone: string): string {
  const digits = zone.slice(1).replace(':', '');
  return `${zone[0] ?? '+'}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`;
}

/**
 * A time from a webhook as epoch milliseconds: a positive number (seconds or milliseconds), a
 * numeric string (seconds or milliseconds) or an ISO 8601 string. Undefined for anything else
 * (missing, zero, negative, not a time), for the caller to fall back on a time it trusts.
 */
export function readTime(value: unknown): number | undefined {
  if (typeof value === 'number') return fromNumber(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (NUMERIC.test(text)) return fromNumber(Number(text));
  return text.length <= 40 ? fromIso(text) : undefined;
}
