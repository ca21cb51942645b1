// Versioned schema migrations, forward-only, the same numbered list for SQLite and PostgreSQL.
// Each store applies what its database lacks when it opens it (and `npm run db:migrate` does so on
// purpose), recording every version in `schema_migrations`, so a database made by an older release
// is upgraded and one made by a newer release is refused, never silently misread.

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

export interface MigrationReport {
  /** The version the database was at (0: empty). */
  from: number;
  to: number;
  applied: { version: number; name: string }[];
}

/** Thrown when the database cannot be used by this code: the message names the versions and the fix. */
export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError';
}

/** The migrations `applied` lacks, in order; refuses a database that is newer than `known` or has a gap. */
export function pendingMigrations(known: readonly Migration[], applied: readonly number[]): Migration[] {
  const latest = known.at(-1)?.version ?? 0;
  const newest = Math.max(0, ...applied);
  if (newest > latest) {
    throw new SchemaVersionError(
      `the database is at schema version ${newest}, newer than this release knows (${latest}): run the release that made it, or a newer one`,
    );
  }
  const done = new Set(applied);
  const missing = known.filter((m) => m.version <= newest && !done.has(m.version));
  if (missing.length > 0) {
    throw new SchemaVersionError(`the database is at schema version ${newest} but lacks ${missing.map((m) => m.version).join(', ')}: it was changed by hand; restore it from a backup`);
  }
  return known.filter((m) => m.version > newest);
}

/** Checks the list itself: versions 1, 2, 3, … in order, each with both dialects. */
export function assertWellFormed(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
    if (!m.sqlite.trim() || !m.postgres.trim()) throw new Error(`migration ${m.version} (${m.name}) lacks a dialect`);
  });
}
