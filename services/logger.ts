// The bot's logger: pino underneath, one JSON line per record (or pino-pretty at a terminal), child
// loggers that carry bindings (event, user), errors with their fields and, at error level, their
// stack, and every configured secret value replaced in the finished line, wherever it appears.
// Logging never throws: a field that cannot be read is logged as such.
import { isatty } from 'node:tty';
import { pino, type Logger as PinoLogger } from 'pino';
import { toLoggableFields, type LogFields } from './logger/loggable.ts';
import { createOutput, type LogFormat } from './logger/output.ts';
import { createRedactor } from './logger/redact.ts';
import type { Secrets } from './redact.ts';

export type { LogFields } from './logger/loggable.ts';
export { LOG_FORMATS, type LogFormat } from './logger/output.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type RecordLevel = Exclude<LogLevel, 'silent'>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Values that must never be printed (tokens, secrets); a SecretSet for values learnt later too. */
  redact?: Secrets;
  /** `json` lines, `pretty` for a person, or `auto` (default): pretty when the output is a terminal. */
  format?: LogFormat;
  /** Whether the output is a terminal, for `auto` and colours: stdout's (fd 1, also right in a worker thread), false with `write`. */
  isTTY?: boolean;
  /** Where records go, one call each without the newline; stdout by default. Tests pass an array's push. */
  write?: (line: string) => void;
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

interface Core {
  root: PinoLogger;
  rank: number;
}

export function createLogger(options: LoggerOptions, bindings: LogFields = {}): Logger {
  const isTTY = options.isTTY ?? (options.write ? false : isatty(1));
  const format = options.format ?? 'auto';
  const now = options.now;
  const root = pino(
    {
      level: options.level,
      // No pid and hostname on every line: the thread binding and the platform's log collector say where a line came from.
      base: undefined,
      // Labels (`"level":"info"`) rather than pino's numbers: what people grep for and what log collectors map.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: now ? () => `,"time":"${now().toISOString()}"` : pino.stdTimeFunctions.isoTime,
      // Errors are described before pino sees them (toLoggableFields); its own serializer would copy an AxiosError's config.
      serializers: { err: (value: unknown) => value },
    },
    createOutput({
      format: format === 'auto' ? (isTTY ? 'pretty' : 'json') : format,
      colorize: isTTY,
      redact: createRedactor(options.redact ?? []),
      write: options.write,
    }),
  );
  return new BoundLogger({ root, rank: RANK[options.level] }, prepare(bindings, false));
}

/**
 * A class rather than closures: a child is made per event and per send, and methods on the
 * prototype cost nothing per child (under tsx every named closure is also wrapped to keep its name).
 * The lint's unbound-method rule keeps callers from detaching `log.info`.
 */
class BoundLogger implements Logger {
  readonly #core: Core;
  readonly #bindings: LogFields;
  readonly #keys: string[];
  /** pino's child, which serialises the bindings once: made on the first record, since most loggers of an event write none. */
  #target: PinoLogger | undefined;

  constructor(core: Core, bindings: LogFields) {
    this.#core = core;
    this.#bindings = bindings;
    this.#keys = Object.keys(bindings);
  }

  debug(msg: string, fields?: LogFields): void {
    this.#emit('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.#emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.#emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.#emit('error', msg, fields);
  }

  child(bindings: LogFields): Logger {
    return new BoundLogger(this.#core, { ...this.#bindings, ...prepare(bindings, false) });
  }

  #emit(level: RecordLevel, msg: string, fields: LogFields | undefined): void {
    const core = this.#core;
    if (RANK[level] < core.rank) return;
    try {
      const record = fields === undefined ? undefined : prepare(fields, level === 'error');
      if (record !== undefined && this.#keys.some((key) => key in record)) {
        // A field that repeats a binding wins, in one key rather than two in the same line.
        core.root[level]({ ...this.#bindings, ...record }, msg);
        return;
      }
      this.#target ??= this.#keys.length === 0 ? core.root : core.root.child(this.#bindings);
      this.#target[level](record ?? {}, msg);
    } catch (err) {
      fallback(core, level, msg, err);
    }
  }
}

function prepare(fields: LogFields, stacks: boolean): LogFields {
  try {
    return toLoggableFields(fields, { stacks });
  } catch {
    return { log_fields: '[unreadable]' };
  }
}

/** The record could not be written as asked: say so, with the message, rather than lose it or throw. */
function fallback(core: Core, level: RecordLevel, msg: string, err: unknown): void {
  try {
    core.root[level]({ log_error: err instanceof Error ? err.message : 'unknown' }, String(msg));
  } catch {
    // Nothing left to try: the output itself is failing, and logging must not throw.
  }
}
