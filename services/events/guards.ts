// Generic type guards for JSON that arrived as `unknown`. Payload-specific guards build on these.

export type JsonObject = Record<string, unknown>;

/** A JSON object: not null and not an array (both of which are `typeof 'object'` too). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** Finite only: NaN or Infinity cannot come from JSON and would poison timestamp arithmetic. */
export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isOptional<T>(value: unknown, guard: (v: unknown) => v is T): value is T | undefined {
  return value === undefined || guard(value);
}

export function isArrayOf<T>(value: unknown, guard: (v: unknown) => v is T): value is T[] {
  return Array.isArray(value) && value.every((item) => guard(item));
}

/** Meta sends app ids as numeric strings in handover payloads, and as numbers elsewhere. */
export function isAppId(value: unknown): value is string | number {
  return isString(value) || isNumber(value);
}

/** `Array.isArray` narrows to `any[]`; this keeps the elements `unknown`. */
export function isUnknownArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}
