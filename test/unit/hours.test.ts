import { describe, it, expect } from '@jest/globals';
import { hoursFormat, localTime, openingState, weekGroupedByHours, type OpeningHours } from '../../services/shop/hours.ts';
import { instantAt } from '../support/clock.ts';

const h = (from: string, to: string) => ({ from: minutes(from), to: minutes(to) });
function minutes(hhmm: string): number {
  const [hours = 0, mins = 0] = hhmm.split(':').map(Number);
  return hours * 60 + mins;
}

// A shop in Jakarta (no daylight saving) with a lunch break on Friday and a late Saturday.
const HOURS: OpeningHours = {
  time_zone: 'Asia/Jakarta',
  days: {
    monday: [h('09:00', '17:00')],
    tuesday: [h('09:00', '17:00')],
    wednesday: [h('09:00', '17:00')],
    thursday: [],
    friday: [h('09:00', '11:30'), h('13:30', '17:00')],
    saturday: [h('10:00', '24:00')],
    sunday: [],
  },
};
const at = (day: Parameters<typeof instantAt>[1], time: string) => instantAt(HOURS.time_zone, day, minutes(time));

describe('openingState (in the shop time zone)', () => {
  it.each([
    ['monday', '09:00', { open: true, closes: minutes('17:00') }],
    ['monday', '16:59', { open: true, closes: minutes('17:00') }],
    ['monday', '08:59', { open: false, opens: { day: 'monday', at: minutes('09:00'), inDays: 0 } }],
    ['monday', '17:00', { open: false, opens: { day: 'tuesday', at: minutes('09:00'), inDays: 1 } }],
    ['wednesday', '18:00', { open: false, opens: { day: 'friday', at: minutes('09:00'), inDays: 2 } }],
    ['friday', '12:00', { open: false, opens: { day: 'friday', at: minutes('13:30'), inDays: 0 } }],
    ['saturday', '23:59', { open: true, closes: minutes('24:00') }],
    ['sunday', '12:00', { open: false, opens: { day: 'monday', at: minutes('09:00'), inDays: 1 } }],
  ] as const)('%s %s', (day, time, expected) => {
    expect(openingState(HOURS, at(day, time))).toEqual(expected);
  });

  it('reads the local time in the zone, not the machine clock', () => {
    // 02:00 UTC on a Monday is 09:00 in Jakarta (UTC+7).
    expect(localTime('Asia/Jakarta', Date.UTC(2030, 0, 7, 2, 0))).toEqual({ day: 'monday', minute: 9 * 60 });
    expect(localTime('America/Los_Angeles', Date.UTC(2030, 0, 7, 2, 0))).toEqual({ day: 'sunday', minute: 18 * 60 });
  });

  it('knows the same week a week later when only today has passed', () => {
    const onlyMonday: OpeningHours = { time_zone: 'UTC', days: { ...HOURS.days, tuesday: [], wednesday: [], friday: [], saturday: [] } };
    expect(openingState(onlyMonday, Date.UTC(2030, 0, 7, 18, 0))).toEqual({ open: false, opens: { day: 'monday', at: minutes('09:00'), inDays: 7 } });
  });
});

describe('weekGroupedByHours', () => {
  it('groups consecutive days with the same hours', () => {
    expect(weekGroupedByHours(HOURS).map((g) => [g.first, g.last, g.ranges.length])).toEqual([
      ['monday', 'wednesday', 1],
      ['thursday', 'thursday', 0],
      ['friday', 'friday', 2],
      ['saturday', 'saturday', 1],
      ['sunday', 'sunday', 0],
    ]);
  });
});

// ICU separates times with narrow and thin no-break spaces ("9:00\u202fAM\u2009–\u20095:00\u202fPM"),
// and which one varies between Node releases: compared as plain spaces.
const plain = (text: string) => text.replace(/[\u00a0\u2009\u202f]/g, ' ');

describe('hoursFormat: day names, times and ranges as each language writes them', () => {
  it.each([
    ['en-US', 'Mon', 'Saturday', '9:00 AM – 5:00 PM', '9:00 – 11:30 AM and 1:30 – 5:00 PM', 'Western Indonesia Time'],
    ['id-ID', 'Sen', 'Sabtu', '09.00–17.00', '09.00–11.30 dan 13.30–17.00', 'Waktu Indonesia Barat'],
    ['zh-TW', '週一', '星期六', '上午9:00至下午5:00', '上午9:00至11:30和下午1:30至5:00', '印尼西部時間'],
    ['es-ES', 'lun', 'sábado', '9:00–17:00', '9:00–11:30 y 13:30–17:00', 'hora de Indonesia occidental'],
  ])('%s', (language, monday, saturday, range, ranges, zone) => {
    const format = hoursFormat(language);
    expect(format.weekday('monday', 'short')).toBe(monday);
    expect(format.weekday('saturday', 'long')).toBe(saturday);
    expect(plain(format.range(h('09:00', '17:00')))).toBe(range);
    expect(plain(format.ranges(HOURS.days.friday))).toBe(ranges);
    expect(format.timeZone('Asia/Jakarta')).toBe(zone);
  });

  it('writes a range that ends at midnight without dates', () => {
    expect(plain(hoursFormat('en-US').range(h('10:00', '24:00')))).toBe('10:00 AM – 12:00 AM');
  });
});
