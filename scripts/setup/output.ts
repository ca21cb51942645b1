// Terminal output for the setup commands: aligned columns, ✔/✖ marks, and ANSI colour only
// when the stream is a TTY. Commands write through an `Output`, so tests collect plain lines.
import { createRedactor, type Secrets } from '../../services/redact.ts';

export interface Output {
  /** Colour is used only when true. */
  readonly isTTY: boolean;
  line(text?: string): void;
}

type Colour = 'green' | 'red' | 'yellow' | 'dim' | 'bold';

const CODES: Record<Colour, [string, string]> = {
  green: ['\u001b[32m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  dim: ['\u001b[2m', '\u001b[22m'],
  bold: ['\u001b[1m', '\u001b[22m'],
};

export const OK = '✔';
export const FAIL = '✖';

export function paint(out: Output, colour: Colour, text: string): string {
  if (!out.isTTY) return text;
  const [open, close] = CODES[colour];
  return `${open}${text}${close}`;
}

export function mark(out: Output, passed: boolean): string {
  return passed ? paint(out, 'green', OK) : paint(out, 'red', FAIL);
}

export function heading(out: Output, text: string): void {
  out.line(paint(out, 'bold', text));
}

/** Writes rows with every column but the last padded to its widest cell. */
export function table(out: Output, rows: readonly (readonly string[])[], indent = 2): void {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  for (const row of rows) {
    const cells = row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - displayWidth(cell))));
    out.line(`${' '.repeat(indent)}${cells.join('  ')}`.trimEnd());
  }
}

/** Columns a string takes in a terminal: ANSI codes take none, CJK and emoji take two. */
export function displayWidth(text: string): number {
  let width = 0;
  // eslint-disable-next-line no-control-regex -- stripping our own ANSI colour codes
  for (const char of text.replace(/\u001b\[\d+m/g, '')) {
    const code = char.codePointAt(0) ?? 0;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff)
  );
}

/** A comma list, or a dash for none. */
export function list(items: readonly string[]): string {
  return items.length === 0 ? '-' : items.join(', ');
}

/**
 * The Output for a real terminal. Every line passes through `redact` as a last line of defence:
 * the commands never print a secret, and if one ever slipped in it would leave as [REDACTED].
 */
export function createStreamOutput(stream: { isTTY?: boolean; write(chunk: string): unknown }, secrets: Secrets): Output {
  // A SecretSet: a token read later (the bot's refreshed Instagram token) is redacted too.
  const redactor = createRedactor(secrets, { minLength: 4 });
  return {
    isTTY: stream.isTTY === true,
    line(text = '') {
      stream.write(`${redactor.text(text)}\n`);
    },
  };
}
