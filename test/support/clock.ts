// Instants for a wall-clock time in a time zone, to run the bot's clock at "Monday 09:01 in the
// shop". Computed with Intl alone, independently of the code under test.
import type { Weekday } from '../../services/shop/hours.ts';

const DAYS: readonly Weekday[] = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
// 2030-01-07 is a Monday; January has no daylight-saving change in either hemisphere's usual rules.
const MONDAY_UTC = Date.UTC(2030, 0, 7);

/** The instant when it is `minute` minutes past midnight on `day` in `timeZone`, in the week of 2030-01-07. */
export function instantAt(timeZone: string, day: Weekday, minute: number): number {
  const wall = MONDAY_UTC + DAYS.indexOf(day) * 86_400_000 + minute * 60_000;
  // The zone's offset at (about) that time, applied to the wall time read as UTC.
  const offset = zoneWallTime(timeZone, wall) - wall;
  const instant = wall - offset;
  if (zoneWallTime(timeZone, instant) !== wall) throw new Error(`${timeZone}: no single instant for ${day} minute ${minute}`);
  return instant;
}

/** The wall-clock time in `timeZone` at `instant`, as if that wall time were UTC. */
function zoneWallTime(timeZone: string, instant: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
}
