// Opening hours: read from data/shop.json, asked "are we open now, and when do we open next?" in
// the shop's own time zone, and formatted for a customer's language with Intl (day names, times).
import { array, fail, member, object, string, type Field } from './data-file.ts';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Minutes since midnight, local to the shop: `from` inclusive, `to` exclusive (24:00 = 1440). */
export interface TimeRange {
  from: number;
  to: number;
}

export interface OpeningHours {
  /** IANA time zone, e.g. `America/Los_Angeles`. */
  time_zone: string;
  days: Readonly<Record<Weekday, readonly TimeRange[]>>;
}

const RANGE = /^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/** Validates `opening_hours` from data/shop.json: a time zone and every weekday's ranges. */
export function readOpeningHours(field: Field): OpeningHours {
  object(field, ['time_zone', ...WEEKDAYS]);
  const time_zone = string(member(field, 'time_zone'), { expected: 'an IANA time zone like "Europe/Madrid" or "Asia/Jakarta"', test: isTimeZone });
  const days = Object.fromEntries(WEEKDAYS.map((day) => [day, readDay(member(field, day))])) as Record<Weekday, TimeRange[]>;
  if (WEEKDAYS.every((day) => days[day].length === 0)) fail(field, 'has no opening time on any day (use [] for a closed day, e.g. "sunday": [])');
  return { time_zone, days };
}

function readDay(field: Field): TimeRange[] {
  if (field.value === undefined) fail(field, 'is missing: give its opening times, e.g. ["09:00-18:00"], or [] when closed');
  const ranges = array(field).map((item) => {
    const text = string(item, { expected: 'a time range like "09:00-18:00"', test: (t) => RANGE.test(t) });
    const [, fh, fm, th, tm] = RANGE.exec(text) ?? [];
    const range = { from: Number(fh) * 60 + Number(fm), to: Number(th) * 60 + Number(tm) };
    if (range.from >= 24 * 60 || range.to > 24 * 60 || range.to <= range.from) fail(item, `must end after it starts, within one day (00:00 to 24:00), got ${JSON.stringify(text)}`);
    return range;
  });
  ranges.forEach((range, i) => {
    const previous = ranges[i - 1];
    if (previous && range.from < previous.to) fail(member(field, i), 'must start after the previous range of the day ends (list them in order)');
  });
  return ranges;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type OpeningState =
  | { open: true; closes: number }
  | { open: false; opens: { day: Weekday; at: number; inDays: number } };

/** Whether the shop is open at `now` (ms since the epoch), and until when or from when. */
export function openingState(hours: OpeningHours, now: number): OpeningState {
  const { day, minute } = localTime(hours.time_zone, now);
  const today = WEEKDAYS.indexOf(day);
  const current = hours.days[day].find((r) => r.from <= minute && minute < r.to);
  if (current) return { open: true, closes: current.to };
  for (let inDays = 0; inDays <= 7; inDays += 1) {
    const next = WEEKDAYS[(today + inDays) % 7] as Weekday;
    const range = hours.days[next].find((r) => inDays > 0 || r.from > minute);
    if (range) return { open: false, opens: { day: next, at: range.from, inDays } };
  }
  // Unreachable: readOpeningHours refuses a week without opening times.
  throw new Error('opening hours without any opening time');
}

/** The weekday and minute of the day at `now` in the shop's time zone. */
export function localTime(timeZone: string, now: number): { day: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: part('weekday').toLowerCase() as Weekday, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** Consecutive days with the same hours, for "Mon–Fri: 9:00 AM – 6:00 PM". */
export interface DaysWithSameHours {
  first: Weekday;
  last: Weekday;
  ranges: readonly TimeRange[];
}

export function weekGroupedByHours(hours: OpeningHours): DaysWithSameHours[] {
  const groups: DaysWithSameHours[] = [];
  for (const day of WEEKDAYS) {
    const ranges = hours.days[day];
    const group = groups.at(-1);
    if (group && sameRanges(group.ranges, ranges)) group.last = day;
    else groups.push({ first: day, last: day, ranges });
  }
  return groups;
}

function sameRanges(a: readonly TimeRange[], b: readonly TimeRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r.from === b[i]?.from && r.to === b[i]?.to);
}

/** Formatting for one language (a BCP 47 tag such as `es-ES`). */
export interface HoursFormat {
  weekday(day: Weekday, width: 'short' | 'long'): string;
  time(minute: number): string;
  range(range: TimeRange): string;
  /** Several ranges of one day: "9:00 AM – 1:00 PM and 2:00 PM – 6:00 PM". */
  ranges(ranges: readonly TimeRange[]): string;
  /** The zone as people say it: "Pacific Time", "hora del Pacífico". */
  timeZone(zone: string): string;
}

// A Monday (2024-01-01) at midnight UTC: day names and times are formatted from it, in UTC.
const MONDAY = Date.UTC(2024, 0, 1);

export function hoursFormat(language: string): HoursFormat {
  const clock = new Intl.DateTimeFormat(language, { hour: 'numeric', minute: '2-digit', timeZone: 'UTC' });
  const at = (minute: number) => new Date(MONDAY + minute * 60_000);
  const format: HoursFormat = {
    weekday: (day, width) => new Intl.DateTimeFormat(language, { weekday: width, timeZone: 'UTC' }).format(new Date(MONDAY + WEEKDAYS.indexOf(day) * 86_400_000)),
    time: (minute) => clock.format(at(minute % (24 * 60))),
    // formatRange writes the range as the language does ("上午9:00至下午6:00"); a range that ends at
    // midnight would get dates, so it is joined by hand.
    range: (r) => (r.to < 24 * 60 ? clock.formatRange(at(r.from), at(r.to)) : `${format.time(r.from)} – ${format.time(r.to)}`),
    ranges: (list) => new Intl.ListFormat(language, { type: 'conjunction' }).format(list.map((r) => format.range(r))),
    timeZone: (zone) =>
      new Intl.DateTimeFormat(language, { timeZone: zone, timeZoneName: 'longGeneric' }).formatToParts(MONDAY).find((p) => p.type === 'timeZoneName')?.value ?? zone,
  };
  return format;
}
