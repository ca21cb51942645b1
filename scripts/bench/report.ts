// Plain-text tables for the terminal (and for docs/benchmark.md, pasted as is).

export function table(headers: string[], rows: (string | number)[][], alignLeft = 1): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c < alignLeft ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0] ?? []), rule, ...cells.slice(1).map(line)].join('\n');
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function ms(n: number): string {
  return n < 10 ? n.toFixed(1) : String(Math.round(n));
}

export function pct(n: number): string {
  return `${Math.round(n * 100)}%`;
}

export function mb(n: number | undefined): string {
  return n === undefined ? '?' : `${n.toFixed(0)} MB`;
}

/** CPU milliseconds per request or event: small numbers, so two significant decimals below 1 ms. */
export function cpuMs(n: number): string {
  return n < 1 ? n.toFixed(3) : n.toFixed(2);
}
