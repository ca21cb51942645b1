// `npm start` as a user runs it, in a copy of the project: scripts/start.js compiles the bot into
// dist/<build>/ when its sources changed and runs the plain JavaScript in one process. The copy's
// node_modules holds every installed package except tsx, so a start that still needed tsx fails.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../scripts/bench/children.ts';
import { treeMemory } from '../scripts/bench/process-tree.ts';
import { ROOT } from './support/run-script.ts';

const COPIED = ['app.ts', 'services', 'routes', 'scripts', 'locales', 'public', 'data', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** `node [flags] scripts/start.js`, read from package.json so the test runs what users run. */
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);

const copies: string[] = [];
const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  copies.push(dir);
  for (const name of COPIED) cpSync(join(ROOT, name), join(dir, name), { recursive: true, filter: (src) => !/\.db(-wal|-shm)?$/.test(src) });
  mkdirSync(join(dir, 'node_modules'));
  for (const pkg of readdirSync(join(ROOT, 'node_modules'))) {
    if (pkg !== 'tsx' && pkg !== '.bin') symlinkSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg));
  }
  return dir;
}

interface Started {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(dir: string, port: number, env: Record<string, string>): Started {
  const [node, ...args] = START;
  expect(node).toBe('node');
  const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (running.delete(child), resolve(code))));
  return { child, port, stderr: () => stderr, exited };
}

async function healthy(app: Started, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void app.exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    const ok = await fetch(`http://127.0.0.1:${app.port}/healthz`).then((res) => res.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the bot did not answer /healthz: ${app.stderr()}`);
}

async function stop(app: Started): Promise<number | null> {
  app.child.kill('SIGTERM');
  return app.exited;
}

const builds = (dir: string): string[] => (existsSync(join(dir, 'dist')) ? readdirSync(join(dir, 'dist')).sort() : []);
const EMULATOR = { DATABASE_URL: 'memory:' };

describe('npm start', () => {
  it('compiles once, runs the compiled bot alone in one small process, and compiles again only after an edit', async () => {
    const dir = copyProject();
    const live = { PAGE_ACCESS_TOKEN: 'EAAstartTestPageToken0123456789', APP_SECRET: 'start-test-app-secret-0123', VERIFY_TOKEN: 'start-test-verify-token', APP_ID: '111111111111111', PAGE_ID: '1234567890', APP_URL: 'https://bot.example.test', GRAPH_API_URL: `http://127.0.0.1:${await freePort()}`, WATCHDOG_INTERVAL: 'off', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}` };

    const first = start(dir, await freePort(), live);
    await healthy(first);
    expect(first.stderr()).toMatch(/compiling the bot into dist\/[\s\S]*compiled in [\d.]+ s/);
    expect(builds(dir)).toHaveLength(1);
    expect(existsSync(join(dir, 'dist', builds(dir)[0] as string, 'app.js'))).toBe(true);
    // The bound: one process, at most 120 MB at rest, with the SQLite file and the worker thread.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const memory = treeMemory(first.child.pid as number);
    if (memory) {
      expect(memory.processes).toHaveLength(1);
      expect(memory.rssMb).toBeLessThanOrEqual(120);
    }
    expect(await stop(first)).toBe(0);

    const again = start(dir, await freePort(), live);
    await healthy(again);
    expect(again.stderr()).not.toContain('compiling');
    expect(await stop(again)).toBe(0);

    appendFileSync(join(dir, 'services/project-dir.ts'), '\n// an edit\n');
    const edited = start(dir, await freePort(), live);
    await healthy(edited);
    expect(edited.stderr()).toContain('compiled in');
    expect(builds(dir)).toHaveLength(2);
    expect(await stop(edited)).toBe(0);
  }, 120_000);

  it('lets several instances started at once from one checkout share one whole build', async () => {
    const dir = copyProject();
    const apps = [start(dir, await freePort(), EMULATOR), start(dir, await freePort(), EMULATOR), start(dir, await freePort(), EMULATOR)];
    await Promise.all(apps.map((app) => healthy(app, 60_000)));
    expect(builds(dir)).toHaveLength(1);
    for (const app of apps) expect(await stop(app)).toBe(0);
  }, 120_000);

  it('stops with tsc\'s message and exit code 1 when a source does not compile, and leaves no build behind', async () => {
    const dir = copyProject();
    appendFileSync(join(dir, 'services/project-dir.ts'), '\nexport const broken = ;\n');
    const app = start(dir, await freePort(), EMULATOR);
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toContain('the bot does not compile');
    expect(app.stderr()).toContain('services/project-dir.ts');
    expect(builds(dir)).toEqual([]);
  }, 60_000);
});
