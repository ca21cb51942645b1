// Writes locales/en_US.d.json.ts: the type of locales/en_US.json with every string as its literal
// text, so the compiler knows the {{variables}} of each message (a JSON import types every value as
// `string`). `npm run typecheck` runs this first, so it is always current there; the file is committed too, so
// an editor or a bare `tsc` on a fresh clone checks the variables as well.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../locales/en_US.json', import.meta.url));
const TARGET = fileURLToPath(new URL('../locales/en_US.d.json.ts', import.meta.url));

/** The declaration for one locale file's content, or a list of what is wrong with it. */
export function localeDeclaration(json: string, file = 'locales/en_US.json'): string {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const type = typeOf(data, '', problems, 1);
  if (problems.length > 0) throw new Error(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return [
    `// Generated from ${file} by scripts/locale-types.ts (npm run typecheck). Do not edit.`,
    `declare const messages: ${type};`,
    // `export =`: a JSON module's default import is the whole object.
    'export = messages;',
    '',
  ].join('\n');
}

function typeOf(value: unknown, path: string, problems: string[], depth: number): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path || '(top level)'}: expected a string or an object of strings, got ${JSON.stringify(value)}`);
    return 'never';
  }
  const pad = '  '.repeat(depth);
  const fields = Object.entries(value).map(([key, child]) => {
    if (key.includes('.')) problems.push(`${path ? `${path}.` : ''}${key}: a key cannot contain "." (it separates the levels of a key)`);
    return `${pad}readonly ${JSON.stringify(key)}: ${typeOf(child, path ? `${path}.${key}` : key, problems, depth + 1)};`;
  });
  return `{\n${fields.join('\n')}\n${'  '.repeat(depth - 1)}}`;
}

function main(): void {
  const declaration = localeDeclaration(readFileSync(SOURCE, 'utf8'));
  let current: string | undefined;
  try {
    current = readFileSync(TARGET, 'utf8');
  } catch {
    current = undefined;
  }
  // Rewritten only when it changed, so editors and watchers do not see a new file on every run.
  if (current !== declaration) writeFileSync(TARGET, declaration);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
