// The terminal formatter: aligned columns (CJK counted as two columns), ✔/✖, colour only on a TTY,
// and the stream output's last-resort redaction of secrets.
import { describe, expect, it } from '@jest/globals';
import { createStreamOutput, displayWidth, mark, table, type Output } from '../scripts/setup/output.ts';

function collect(isTTY: boolean): Output & { lines: string[] } {
  const lines: string[] = [];
  return { isTTY, lines, line: (text = '') => lines.push(text) };
}

describe('setup output', () => {
  it('aligns every column but the last, counting wide characters as two', () => {
    const out = collect(false);
    table(out, [
      ['a', 'zh_TW', 'x'],
      ['long name', '逛逛', 'y'],
    ]);
    expect(out.lines).toEqual(['  a          zh_TW  x', '  long name  逛逛   y']);
    expect(displayWidth('逛逛')).toBe(4);
  });

  it('colours marks only on a TTY, and alignment ignores the colour codes', () => {
    const plain = collect(false);
    expect(mark(plain, true)).toBe('✔');
    expect(mark(plain, false)).toBe('✖');
    const tty = collect(true);
    expect(mark(tty, true)).toBe('\u001b[32m✔\u001b[39m');
    table(tty, [
      [mark(tty, true), 'a', 'x'],
      ['', 'bb', 'y'],
    ]);
    expect(tty.lines[1]).toBe('     bb  y');
  });

  it('replaces any secret that reaches the stream', () => {
    const written: string[] = [];
    const out = createStreamOutput({ isTTY: false, write: (chunk: string) => written.push(chunk) }, ['super-secret-token', 'abc']);
    out.line('token super-secret-token here, abc stays (too short to redact)');
    expect(written).toEqual(['token [REDACTED] here, abc stays (too short to redact)\n']);
    expect(out.isTTY).toBe(false);
  });
});
