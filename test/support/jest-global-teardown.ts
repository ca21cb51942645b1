// Once per jest run, after every suite: prints each distinct notice the suites left once, then
// removes the run's directory (see run-notices.ts). Imports nothing relative, like the setup.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function printNotices(dir: string, write: (text: string) => void): void {
  let lines: string[] = [];
  try {
    lines = readdirSync(dir)
      .filter((file) => file.endsWith('.notice'))
      .map((file) => readFileSync(join(dir, file), 'utf8').trim())
      .sort();
  } catch {
    // No directory: nothing was left.
  }
  if (lines.length > 0) write(`\n${lines.join('\n')}\n`);
}

export default function globalTeardown(): void {
  const dir = process.env.BOT_TEST_RUN_DIR;
  if (!dir) return;
  printNotices(dir, (text) => process.stdout.write(text));
  rmSync(dir, { recursive: true, force: true });
  delete process.env.BOT_TEST_RUN_DIR;
}
