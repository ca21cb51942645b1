// Lines a test suite wants printed once per jest run, after the summary, however many suites (or
// workers) leave the same line: e.g. "PostgreSQL suites skipped: ... how to run them". The jest
// global setup opens a directory for the run, suites leave one file per distinct line, the global
// teardown prints them and removes the directory (jest-global-setup.ts, jest-global-teardown.ts).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by the global setup; workers inherit it (they start after it). */
export const RUN_DIR_VARIABLE = 'BOT_TEST_RUN_DIR';

/** Leaves `line` for the end of the run; outside a jest run (no directory) it is printed at once. */
export function noteOnce(line: string): void {
  const dir = process.env[RUN_DIR_VARIABLE];
  if (dir) {
    try {
      writeFileSync(join(dir, `${createHash('sha1').update(line).digest('hex')}.notice`), `${line}\n`);
      return;
    } catch {
      // The directory is gone (run without the global setup's directory): say it here instead.
    }
  }
  process.stderr.write(`${line}\n`);
}
