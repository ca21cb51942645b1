// What a DATABASE_URL names, without loading any driver: which store it is, and a PostgreSQL
// URL as it may be shown (no password). Kept apart so that choosing a store loads only its code.

const POSTGRES = /^postgres(ql)?:\/\//i;

export const isPostgresUrl = (databaseUrl: string): boolean => POSTGRES.test(databaseUrl);

/** The URL without its password (and without query options that might hold one), for messages. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${parsed.username}@` : '';
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return '(DATABASE_URL is not a valid URL)';
  }
}
