// Statements with their parameters written into the text, for the few places where several
// statements must go in one round trip: a simple query (several statements, one message) takes no
// parameters, and is planned each time (so only small statements go this way). Strings are
// escaped as literals by node-postgres (E'…' with quotes and backslashes doubled), numbers must be
// whole, so nothing a user wrote can change the statement.
import type { PoolClient } from 'pg';

/** A value a statement takes: text, a whole number, a flag, NULL, or an array of those. */
export type InlineValue = string | number | boolean | null | undefined | readonly InlineValue[];

/** `text` with each `$n` replaced by the n-th value as SQL (the statement's casts give the types). */
export function inlineStatement(client: Pick<PoolClient, 'escapeLiteral'>, text: string, values: readonly InlineValue[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= values.length) throw new RangeError(`SQL value: no value for $${n}`);
    return sqlValue(client, values[index]);
  });
}

function sqlValue(client: Pick<PoolClient, 'escapeLiteral'>, value: InlineValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return client.escapeLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`SQL value: ${value} is not a whole number`);
    // In parentheses: `x - -1` and `-1::bigint` (which casts 1, then negates) read as meant.
    return value < 0 ? `(${value})` : String(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? `'{}'` : `ARRAY[${value.map((v: InlineValue) => sqlValue(client, v)).join(', ')}]`;
  throw new TypeError(`SQL value: cannot write a ${typeof value} into a statement`);
}
