// Meta's Graph API version schedule: the last day each version answers. After that Graph serves
// the call as the next oldest usable version, so a bot pinned to an expired version silently gets
// another version's behaviour.
// Source: "Available Graph API Versions", https://developers.facebook.com/docs/graph-api/changelog/versions/
// (read 2026-12-01). null: Meta has not announced the date yet. Add each new version when Meta
// publishes it.
export const GRAPH_API_EXPIRY: Readonly<Record<string, string | null>> = Object.freeze({
  'v26.0': null,
  'v25.0': '2028-07-29',
  'v24.0': '2028-02-18',
  'v23.0': '2027-10-08',
  'v22.0': '2027-05-20',
  'v21.0': '2027-01-21',
  'v20.0': '2026-09-24',
  'v19.0': '2026-05-21',
  'v18.0': '2026-01-26',
  'v17.0': '2025-09-12',
  'v16.0': '2025-05-14',
  'v15.0': '2024-11-20',
  'v14.0': '2024-09-17',
  'v13.0': '2024-05-28',
  'v12.0': '2024-02-08',
  'v11.0': '2023-09-14',
  'v10.0': '2023-06-08',
  'v9.0': '2023-02-23',
  'v8.0': '2022-11-01',
  'v7.0': '2022-08-04',
  'v6.0': '2022-05-05',
  'v5.0': '2022-02-03',
  'v4.0': '2021-11-02',
  'v3.3': '2021-08-03',
  'v3.2': '2021-05-04',
  'v3.1': '2020-10-27',
  'v3.0': '2020-07-28',
});

/** Warn this many days before a version expires. */
export const EXPIRY_WARNING_DAYS = 90;

export type VersionStatus =
  | { kind: 'unknown' }
  | { kind: 'unannounced' }
  | { kind: 'ok'; expires: string; days: number }
  | { kind: 'expiring'; expires: string; days: number }
  | { kind: 'expired'; expires: string; days: number };

const DAY_MS = 86_400_000;

/** Where `version` stands at `now`; `days` is whole days left until it expires (negative once past). */
export function versionStatus(version: string, now: number, table: Readonly<Record<string, string | null>> = GRAPH_API_EXPIRY): VersionStatus {
  if (!Object.hasOwn(table, version)) return { kind: 'unknown' };
  const expires = table[version];
  if (expires === null || expires === undefined) return { kind: 'unannounced' };
  // Meta lists the expiration date; counted from that day's start (UTC), to be on the safe side.
  const end = Date.parse(`${expires}T00:00:00Z`);
  const days = Math.floor((end - now) / DAY_MS);
  if (now >= end) return { kind: 'expired', expires, days };
  return { kind: end - now <= EXPIRY_WARNING_DAYS * DAY_MS ? 'expiring' : 'ok', expires, days };
}

/** The newest version in the table, to suggest in a warning. */
export function newestVersion(table: Readonly<Record<string, string | null>> = GRAPH_API_EXPIRY): string {
  const byNumber = Object.keys(table).sort((a, b) => versionNumber(b) - versionNumber(a));
  return byNumber[0] ?? 'the newest version';
}

function versionNumber(version: string): number {
  const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
  return major * 1000 + minor;
}
