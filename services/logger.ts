// A small structured logger: one JSON line per record, child loggers carry bindings (event id,
// user), and every known secret value is replaced before a line leaves the process.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type RecordLevel = Exclude<LogLevel, 'silent'>;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Values that must never be printed (tokens, secrets). */
  redact?: readonly string[];
  /** Where lines go; stdout by default. Tests pass an array's push. */
  write?: (line: string) => void;
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(options: LoggerOptions, bindings: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const secrets = (options.redact ?? []).filter((s) => s.length >= 4);
  const emit = (level: RecordLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < RANK[options.level]) return;
    const record = { time: now().toISOString(), level, msg, ...bindings, ...fields };
    write(redact(JSON.stringify(toLoggable(record, 0)), secrets));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  };
}

/** A logger that drops everything, for tests and scripts that do not care. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    // The line is JSON: a secret with quotes or backslashes appears there in its escaped form.
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) out = out.split(form).join('[REDACTED]');
  }
  return out;
}

/**
 * Errors become name, message and (for our typed errors) their fields; never a stack or a request
 * config. Done before JSON.stringify, because errors with their own toJSON (axios) would skip a replacer.
 */
function toLoggable(value: unknown, depth: number): unknown {
  if (value instanceof Error) {
    const withLog = value as Error & { toLog?: () => unknown };
    return { name: value.name, message: value.message, ...(withLog.toLog ? { details: withLog.toLog() } : {}) };
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => toLoggable(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toLoggable(v, depth + 1)]));
}
