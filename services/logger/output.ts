// Where pino's lines go: redacted first, then as JSON lines, or pretty-printed for a person at a
// terminal. pino-pretty runs in this thread, line by line (its prettyFactory): a transport would
// start another worker thread per logger, and the bot already has one with a memory budget.
import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import type { prettyFactory } from 'pino-pretty';
import type { Redactor } from './redact.ts';

/** Loaded only for pretty output: JSON logging (production) never pays for pino-pretty's modules. */
const loadPretty = (): typeof prettyFactory => (createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof prettyFactory }).prettyFactory;

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
/** `auto`: pretty when the output is a terminal, JSON lines otherwise. */
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface OutputOptions {
  format: Exclude<LogFormat, 'auto'>;
  /** Colours in pretty mode (a terminal). */
  colorize: boolean;
  redact: Redactor;
  /** Receives each record without its final newline; stdout when absent. */
  write: ((line: string) => void) | undefined;
}

export function createOutput(options: OutputOptions): DestinationStream {
  const { redact } = options;
  const emit = options.write ?? ((text: string) => void process.stdout.write(`${text}\n`));
  if (options.format === 'json') return { write: (line: string) => emit(redact(withoutNewline(line))) };
  const prettify = loadPretty()({ colorize: options.colorize, translateTime: 'SYS:HH:MM:ss.l', singleLine: true });
  // Redacted before (what pino-pretty parses is clean) and after (what it prints: it unescapes
  // strings such as stacks, so a secret could reappear in its raw form).
  return { write: (line: string) => emit(redact(withoutNewline(prettify(redact(line))))) };
}

function withoutNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
