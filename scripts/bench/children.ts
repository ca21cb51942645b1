// Child processes for the benchmark: each server gets its own process (its own event loop), its
// output is kept (the tail is printed if it fails), and every child is ended on exit or Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** The last ~64 KB the child wrote to stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or signal) once the child has exited. */
  exited: Promise<string>;
  hasExited(): boolean;
  /** Counts of log lines by level (the app logs JSON lines), and by "level: msg". */
  logLevels: Record<string, number>;
  logMessages: Record<string, number>;
  /** The first full line of each error message, to show what went wrong. */
  errorSamples: Record<string, string>;
  /** Samples written by app-probe.ts, when it is preloaded. */
  probes: ProbeSample[];
}

export interface ProbeSample {
  at: number;
  /** Event loop utilisation over the interval, 0..1. */
  elu: number;
  /** Event loop delay p99 and max over the interval, ms. */
  p99: number;
  max: number;
  heapMb: number;
  rssMb: number;
}

const TAIL_BYTES = 64 * 1024;
const live = new Set<Child>();

export interface SpawnOptions {
  name: string;
  /** A TypeScript file, run as `node --import tsx FILE` (or a JavaScript file with `tsx: false`). */
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  tsx?: boolean;
  /** Modules loaded before the script (`--import`), after tsx. */
  preload?: string[];
  /** Working directory (default: this checkout). */
  cwd?: string;
}

export function spawnNode({ name, script, env, nodeArgs = [], tsx = true, preload = [], cwd = REPO_ROOT }: SpawnOptions): Child {
  const args = [...nodeArgs, ...(tsx ? ['--import', 'tsx'] : []), ...preload.flatMap((p) => ['--import', p]), script];
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    // stdin stays open: the bench's own servers exit when it closes (the bench died).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${script}`);
  let tail = '';
  const logLevels: Record<string, number> = {};
  const logMessages: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  const probes: ProbeSample[] = [];
  // One reader per stream, each with its own partial line.
  const reader = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('BENCH_PROBE ')) {
          probes.push(JSON.parse(line.slice('BENCH_PROBE '.length)) as ProbeSample);
          continue;
        }
        tail = `${tail}${line}\n`.slice(-TAIL_BYTES);
        const level = /"level":"(\w+)"/.exec(line)?.[1];
        if (level) {
          logLevels[level] = (logLevels[level] ?? 0) + 1;
          const key = `${level}: ${/"msg":"([^"]*)"/.exec(line)?.[1] ?? '?'}`;
          logMessages[key] = (logMessages[key] ?? 0) + 1;
          if (level === 'error' || level === 'warn') errorSamples[key] ??= line.slice(0, 600);
        }
      }
    };
  };
  proc.stdout?.on('data', reader());
  proc.stderr?.on('data', reader());
  let done = false;
  const exited = new Promise<string>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve(signal ? `signal ${signal}` : `code ${String(code)}`);
    });
  });
  const child: Child = { name, pid: proc.pid, proc, output: () => tail, exited, hasExited: () => done, logLevels, logMessages, errorSamples, probes };
  live.add(child);
  return child;
}

/** Waits for a line `READY` on the child's stdout (the bench's own servers print it once listening). */
export function waitForReady(child: Child, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs / 1000} s`), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (/^READY\b/m.test(seen)) {
        cleanup();
        resolve();
      }
    };
    const onExit = () => fail('exited during start-up');
    const cleanup = () => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.off('exit', onExit);
    };
    const fail = (why: string) => {
      cleanup();
      reject(new StartError(child, why));
    };
    child.proc.stdout?.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

/** Polls `url` until it answers 200 (the app's /healthz), or fails with the child's output. */
export async function waitForHttp(child: Child, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.hasExited()) throw new StartError(child, `exited during start-up (${await child.exited})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new StartError(child, `${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

/** An error the user can act on: printed without a stack trace. */
export class BenchError extends Error {}

export class StartError extends Error {
  readonly child: Child;
  constructor(child: Child, why: string) {
    super(`${child.name} ${why}`);
    this.child = child;
  }
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. Tells how long it took. */
export async function stopChild(child: Child, graceMs = 5000): Promise<{ ms: number; killed: boolean }> {
  const started = Date.now();
  if (child.hasExited()) return { ms: 0, killed: false };
  let killed = false;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!child.hasExited()) {
      killed = true;
      child.proc.kill('SIGKILL');
    }
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
  return { ms: Date.now() - started, killed };
}

export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child, graceMs)));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Fails clearly if something already listens on `port` (a port given with a flag). */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new BenchError(err.code === 'EADDRINUSE' ? `port ${port} (${what}) is already in use: stop what listens there or pick another port` : `port ${port} (${what}): ${err.message}`)),
    );
    server.listen(port, () => server.close(() => resolve()));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
