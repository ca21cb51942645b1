// Statements with their parameters written into the text, for the few places where several
// statements must go in one round trip: a simple query (several statements, one message) takes no
// parameters. Strings are escaped as literals by node-postgres (E'…' with quotes and backslashes
// doubled), numbers must be whole, so nothing a user wrote can change the statement.
import type { PoolClient } from 'pg';

/** A value a statement takes: text, a whole number, a flag, NULL, or an array of those. */
export type InlineValue = string | number | boolean | null | undefined | readonly InlineValue[];

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

/**
 * A statement PREPAREd by SQL on each connection that runs it, and run with EXECUTE inside a simple
 * query: several statements in one round trip, without planning the
 * statement each time (a data-modifying CTE takes longer to plan than to run). The names are the
 * bot's own (`bot_q_…`), apart from those node-postgres prepares for the extended protocol.
 */
export interface SqlPrepared {
  name: string;
  /** The parameters' types, in order ($1, $2, …). */
  types: readonly string[];
  text: string;
}

export function sqlPrepared(name: string, types: readonly string[], text: string): SqlPrepared {
  if (!/^[a-z_]+$/.test(name)) throw new TypeError(`sqlPrepared: ${name} is not a plain name`);
  return { name: `bot_q_${name}`, types, text };
}

/** The statements each connection has PREPAREd (a new connection is a new client object). */
const preparedOn = new WeakMap<object, Set<string>>();

/** PREPAREs, in one round trip, those of `statements` this connection lacks. Call it outside a transaction. */
export async function ensurePrepared(client: PoolClient, statements: readonly SqlPrepared[]): Promise<void> {
  let done = preparedOn.get(client);
  if (!done) preparedOn.set(client, (done = new Set()));
  const missing = statements.filter((s) => !done.has(s.name));
  if (missing.length === 0) return;
  await client.query(missing.map((s) => `PREPARE ${s.name} (${s.types.join(', ')}) AS ${s.text}`).join(';\n'));
  for (const s of missing) done.add(s.name);
}

/** `EXECUTE` of a prepared statement with its values written in, each cast to its parameter's type. */
export function executeStatement(client: Pick<PoolClient, 'escapeLiteral'>, statement: SqlPrepared, values: readonly InlineValue[]): string {
  if (values.length !== statement.types.length) throw new RangeError(`executeStatement: ${statement.name} takes ${statement.types.length} values, got ${values.length}`);
  return `EXECUTE ${statement.name}(${values.map((v, i) => `(${sqlValue(client, v)})::${statement.types[i] as string}`).join(', ')})`;
}
