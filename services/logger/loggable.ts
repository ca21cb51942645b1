// What a log record may contain: fields are copied into plain JSON-able values before pino sees
// them, so an error is logged by what it says (never by its own toJSON, which for axios carries the
// request config and its Authorization header) and nothing in the fields can make logging throw.
import { types } from 'node:util';

export type LogFields = Record<string, unknown>;

export interface LoggableOptions {
  /** Keep `stack` on errors (error-level records only: the one place a stack earns its bytes). */
  stacks: boolean;
}

/** Deeper than this, values are summarised; a log record is not a database dump. */
const MAX_DEPTH = 8;
/** How many causes of a cause are followed (`cause` chains can be long, or loop). */
const MAX_CAUSES = 4;
/** How many of an AggregateError's errors are logged. */
const MAX_AGGREGATED = 10;
/** How many own fields of an error without `toLog()` are kept. */
const MAX_ERROR_FIELDS = 20;
/** Keys an error's own fields never repeat: logged already, or never to be logged. */
const ERROR_KEYS_SKIPPED = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

/** The fields as plain values: errors described, cycles cut, nothing that throws when read. */
export function toLoggableFields(fields: LogFields, options: LoggableOptions): LogFields {
  // Most records carry only strings and numbers (ids, counts): those are logged as given, uncopied.
  if (allPrimitive(fields)) return fields;
  const walk: Walk = { stacks: options.stacks, seen: new Set() };
  const out: LogFields = {};
  for (const key of Object.keys(fields)) out[key] = guarded(() => loggable(walk, fields[key], 0, 0));
  return out;
}

function allPrimitive(fields: LogFields): boolean {
  try {
    for (const key in fields) {
      const value = fields[key];
      if (value !== null && (typeof value === 'object' || typeof value === 'bigint')) return false;
    }
    return true;
  } catch {
    return false;
  }
}

interface Walk {
  stacks: boolean;
  /** The objects being copied, from the root down to here: meeting one again is a cycle. */
  seen: Set<object>;
}

/** `depth` counts nesting, `chain` the errors above this value (causes of causes). */
function loggable(walk: Walk, value: unknown, depth: number, chain: number): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (walk.seen.has(value)) return '[Circular]';
  // isNativeError also knows errors from another realm (vm contexts, jest's sandbox).
  if (value instanceof Error || types.isNativeError(value)) return chain >= MAX_CAUSES ? '[more causes]' : within(walk, value, () => describeError(walk, value, depth, chain + 1));
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  if (Array.isArray(value)) return within(walk, value, () => value.map((item) => guarded(() => loggable(walk, item, depth + 1, chain))));
  const proto: unknown = Object.getPrototypeOf(value);
  // Dates, Buffers, URLs and other class instances: JSON has an answer for them already.
  if (proto !== Object.prototype && proto !== null) return value;
  return within(walk, value, () => {
    const out: LogFields = {};
    for (const key of Object.keys(value)) out[key] = guarded(() => loggable(walk, (value as LogFields)[key], depth + 1, chain));
    return out;
  });
}

/**
 * An error as name, message, code, its details (our typed errors' `toLog()`, otherwise its own
 * primitive fields: `reason`, `variable`, `errno`, `syscall`, `status`...), its cause chain and, at
 * error level, its stack. Never its other own objects: an AxiosError's `config`, `request` and
 * `response` hold the Authorization header and the whole exchange.
 */
function describeError(walk: Walk, err: Error, depth: number, chain: number): LogFields {
  const out: LogFields = { name: safeString(() => err.name), message: safeString(() => err.message) };
  const code = guarded(() => (err as { code?: unknown }).code);
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const details = guarded(() => errorDetails(walk, err, depth, chain));
  if (details !== undefined) out.details = details;
  const stack = walk.stacks ? guarded(() => err.stack) : undefined;
  if (typeof stack === 'string') out.stack = stack;
  const cause = guarded(() => err.cause);
  if (cause !== undefined) out.cause = loggable(walk, cause, depth + 1, chain);
  const errors: unknown = err instanceof AggregateError ? guarded((): unknown => err.errors) : undefined;
  if (Array.isArray(errors)) out.errors = errors.slice(0, MAX_AGGREGATED).map((item: unknown) => guarded(() => loggable(walk, item, depth + 1, chain)));
  return out;
}

function errorDetails(walk: Walk, err: Error, depth: number, chain: number): unknown {
  const toLog = (err as { toLog?: unknown }).toLog;
  if (typeof toLog === 'function') return loggable(walk, toLog.call(err), depth + 1, chain);
  const fields: LogFields = {};
  let count = 0;
  for (const key of Object.keys(err)) {
    if (ERROR_KEYS_SKIPPED.has(key)) continue;
    const value = (err as unknown as LogFields)[key];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    fields[key] = value;
    if (++count === MAX_ERROR_FIELDS) break;
  }
  return count === 0 ? undefined : fields;
}

/** Runs `build` with `value` marked as an ancestor, so a reference back to it is a cycle. */
function within<T>(walk: Walk, value: object, build: () => T): T {
  walk.seen.add(value);
  try {
    return build();
  } finally {
    walk.seen.delete(value);
  }
}

/** A value that throws when read (a getter, a proxy) is logged as such instead of breaking the record. */
function guarded(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return '[unreadable]';
  }
}

function safeString(read: () => unknown): string {
  try {
    const value = read();
    return typeof value === 'string' ? value : String(value);
  } catch {
    return '[unreadable]';
  }
}
