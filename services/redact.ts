// Secret values out of anything shown or kept: a log line, an inspector record, a stream frame.
// Pure: the secrets come in as a list, or as a SecretSet that grows while the bot runs (a token
// refreshed at run time is a secret too); nothing is read from the config or the environment.
// A secret is found raw and in every escaped form it takes on the way to a screen (JSON strings,
// JSON inside JSON, Graph's `\/`, `\uXXXX`, percent- and form-encoding), as a substring too.

export const REDACTED = '[REDACTED]';
/** What `redactDeep` puts where a value is nested deeper than `maxDepth` or refers to itself. */
export const TOO_DEEP = '[nested too deep]';
export const CIRCULAR = '[circular]';
const DEFAULT_MAX_DEPTH = 64;

export interface Redactor {
  /** The text with every form of every secret replaced by [REDACTED]. */
  text(text: string): string;
  /**
   * A copy of a JSON-like value with every string (keys included) redacted. Plain objects and
   * arrays keep their shape; errors become `{ name, message }`, objects with `toJSON` what it
   * returns, binary data a placeholder. Deeper than `maxDepth`, or circular, a value becomes a
   * marker string, so the result can always be serialised.
   */
  deep<T>(value: T): T;
}

export interface RedactorOptions {
  /** Nesting kept by `deep` (default 64; Meta's payloads are under 10). */
  maxDepth?: number;
  /** Shorter values are left alone (the logs: a 3-character "secret" would garble every line). */
  minLength?: number;
}

/**
 * The secret values of one thread: the configured ones, and every token obtained while it runs
 * (a refreshed Instagram token, added when it is adopted). Only ever grows. Made once per thread
 * (app.ts, the bot worker, the setup script) and handed to everything that scrubs, so a token
 * the bot learns at run time is scrubbed by redactors made before it was known.
 */
export interface SecretSet {
  add(value: string | undefined): void;
  values(): readonly string[];
  /** Changes with every new value: redactors over the set compile again when it moved. */
  readonly version: number;
}

export function createSecretSet(initial: readonly (string | undefined)[] = []): SecretSet {
  const values = new Set<string>();
  let version = 0;
  const add = (value: string | undefined): void => {
    if (!value || values.has(value)) return;
    values.add(value);
    version += 1;
  };
  for (const value of initial) add(value);
  return {
    add,
    values: () => [...values],
    get version() {
      return version;
    },
  };
}

/** A fixed list of secret values, or a set that grows. */
export type Secrets = readonly (string | undefined)[] | SecretSet;

/** The set itself, or a new set of the listed values (for a caller that adds values of its own). */
export function asSecretSet(secrets: Secrets): SecretSet {
  return isSecretSet(secrets) ? secrets : createSecretSet(secrets);
}

/** These secrets and a few more (e.g. a value the caller holds itself): still growing with the set. */
export function withSecrets(secrets: Secrets, extra: readonly (string | undefined)[]): Secrets {
  if (!isSecretSet(secrets)) return [...secrets, ...extra];
  return {
    add: (value) => secrets.add(value),
    values: () => [...secrets.values(), ...extra.filter((s): s is string => s !== undefined)],
    get version() {
      return secrets.version;
    },
  };
}

function isSecretSet(secrets: Secrets): secrets is SecretSet {
  return !Array.isArray(secrets);
}

/**
 * Compiles the secrets once (for a SecretSet: again whenever it grew); use it where many values
 * go through the same list.
 */
export function createRedactor(secrets: Secrets, options: RedactorOptions = {}): Redactor {
  const minLength = options.minLength ?? 1;
  const compile = (list: readonly (string | undefined)[]) => patternFor(list.filter((s) => s !== undefined && s.length >= minLength));
  let pattern = compile(isSecretSet(secrets) ? secrets.values() : secrets);
  let compiledAt = isSecretSet(secrets) ? secrets.version : 0;
  const current = (): RegExp | undefined => {
    if (isSecretSet(secrets) && secrets.version !== compiledAt) {
      compiledAt = secrets.version;
      pattern = compile(secrets.values());
    }
    return pattern;
  };
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const text = (value: string): string => {
    // A global pattern: replace always starts at 0, so the one RegExp is safe to share.
    const now = current();
    return now ? value.replace(now, REDACTED) : value;
  };
  const deep = (value: unknown, depth: number, ancestors: Set<object>): unknown => {
    if (typeof value === 'string') return text(value);
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= maxDepth) return TOO_DEEP;
    if (ancestors.has(value)) return CIRCULAR;
    ancestors.add(value);
    try {
      return deepObject(value, (child) => deep(child, depth + 1, ancestors), text);
    } finally {
      ancestors.delete(value);
    }
  };
  return { text, deep: <T>(value: T) => deep(value, 0, new Set()) as T };
}

export function redactText(text: string, secrets: Secrets): string {
  return createRedactor(secrets).text(text);
}

export function redactDeep<T>(value: T, secrets: Secrets, options?: RedactorOptions): T {
  return createRedactor(secrets, options).deep(value);
}

function deepObject(value: object, child: (v: unknown) => unknown, text: (s: string) => string): unknown {
  if (Array.isArray(value)) return value.map(child);
  if (value instanceof Error) return { name: text(value.name), message: text(value.message) };
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary, ${value.byteLength} bytes]`;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return child((toJSON as () => unknown).call(value));
  // fromEntries defines own properties: a key "__proto__" stays a key, never a prototype.
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [text(key), child(v)]));
}

/** One regular expression for every form of every secret, longest first; undefined when none. */
function patternFor(secrets: readonly (string | undefined)[]): RegExp | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) if (secret) for (const form of formsOf(secret)) forms.add(form);
  if (forms.size === 0) return undefined;
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(alternatives.join('|'), 'g');
}

/** The ways a secret can be written by the JSON, URL and form encoders it may pass through. */
export function formsOf(secret: string): string[] {
  const json = jsonEscaped(secret);
  const forms = [secret, jsonEscaped(json)];
  // Graph (PHP-style) writes `\/` and `\uXXXX`; Meta signs bodies with lower-case `\u` escapes.
  for (const base of [json, json.replace(/\//g, '\\/')]) forms.push(base, asciiEscaped(base), asciiEscaped(base, true));
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  for (const encoded of [encodeURIComponent(secret), form]) forms.push(encoded, encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  return [...new Set(forms)];
}

function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Non-ASCII as `\uXXXX`, as Meta writes its JSON (lower-case hex) or others do (upper-case). */
function asciiEscaped(json: string, upper = false): string {
  const escaped = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // JSON.stringify's own escapes (control characters) are lower-case too.
  return upper ? escaped.replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\u${hex.toUpperCase()}`) : escaped;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
