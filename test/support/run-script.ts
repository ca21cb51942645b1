// Runs one of the project's scripts as a user would (node with tsx, in a directory of the test's
// choosing) and collects what it printed: for the tests of npm run setup and npm run db:migrate.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `script` is relative to the project root. The child gets only `env` (and this process's PATH
 * unless `env` has its own): nothing of the test's own environment leaks into it.
 */
export function runScript(script: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, script), ...args], { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
