// Once per jest run, before any suite: the directory for run notices (see run-notices.ts). Jest
// loads this file outside its module system, so it imports nothing relative.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function globalSetup(): void {
  // The same name as RUN_DIR_VARIABLE in run-notices.ts (test/unit/test-postgres.test.ts checks).
  process.env.BOT_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'bot-test-run-'));
}
