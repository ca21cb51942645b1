// Runs app.ts as a real child process (`node --import tsx app.ts`), the way `npm start` does, so
// tests can SIGKILL or SIGTERM it mid-stream and restart it on the same database. Posts signed
// notifications to it over real HTTP with keep-alive, like Meta's delivery does.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { freePort } from '../../scripts/bench/children.ts';
import { fileURLToPath } from 'node:url';
import { signatureFor, toMetaJson } from '../../services/signature.ts';

const APP = fileURLToPath(new URL('../../app.ts', import.meta.url));
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export const SPAWN_ENV = {
  PAGE_ACCESS_TOKEN: 'EAAspawnedPageToken0123456789',
  APP_SECRET: 'spawned-app-secret-0123456789',
  VERIFY_TOKEN: 'spawned-verify-token-0123456789',
  APP_ID: '111111111111111',
  PAGE_ID: '1234567890',
  APP_URL: 'https://bot.example.test',
  GRAPH_API_VERSION: 'v24.0',
  LOG_LEVEL: 'warn',
} as const;

interface CommonSpawnOptions {
  /** Base URL of the (mock) Graph API. */
  graphUrl: string;
  /** Working directory of the child (a temporary one, so no stray `.env` is loaded). */
  cwd: string;
  env?: Record<string, string>;
  /** How long to wait for /healthz to answer. */
  startTimeoutMs?: number;
}

/** Where the child keeps its state: a SQLite file, or any DATABASE_URL (e.g. `postgres://…`). */
export type SpawnOptions = CommonSpawnOptions &
  (
    | {
        /** The database file; the same path across restarts keeps the inbox, outbox and dedup keys. */
        databasePath: string;
        databaseUrl?: never;
      }
    | {
        /** DATABASE_URL as given, e.g. several instances on one `postgres://…` database. */
        databaseUrl: string;
        databasePath?: never;
      }
  );

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the signal to the exit. */
  ms: number;
  /** The process did not exit within the timeout after the signal and was SIGKILLed. */
  forced?: boolean;
}

export interface HealthAnswer {
  status: number;
  body: {
    status: string;
    store: string;
    token: string;
    handling: string;
    reason?: string;
    backlog: { received: number; inbox: number; outbox: number; failed: number; unreadable: number; failed_events: number } | null;
    /** With several instances on one database (issue #10): the database, and this instance's claims. */
    database?: { kind: string; ok: boolean };
    instance?: { owner: string; claims: { inbox: number; outbox: number } };
    /** The accounts whose token Graph rejected (code 190): sending for them is paused. */
    paused_accounts?: string[];
  };
}

export interface SpawnedApp {
  url: string;
  pid: number;
  /** Resolves when the child exits, however it ends. */
  readonly exited: Promise<Exit>;
  /** Whatever the child wrote (its log lines at LOG_LEVEL), for diagnostics. */
  output(): string;
  /** POSTs a notification signed like Meta signs it; resolves with the status, rejects on a network error. */
  post(body: unknown): Promise<number>;
  /** POSTs these exact bytes, signed (a redelivery is the same body byte for byte). */
  postRaw(raw: string): Promise<number>;
  health(): Promise<HealthAnswer>;
  /** Sends the signal and waits for the exit; after `timeoutMs` without one, SIGKILLs (`forced`). */
  kill(signal: 'SIGKILL' | 'SIGTERM', timeoutMs?: number): Promise<Exit>;
}

// A port nobody listens on right now: the bench's helper, shared.
export { freePort };

export async function spawnApp(options: SpawnOptions): Promise<SpawnedApp> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...SPAWN_ENV,
    PORT: String(port),
    GRAPH_API_URL: options.graphUrl,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${options.databasePath}`,
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX, APP], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let signalledAt = performance.now();
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, ms: Math.round(performance.now() - signalledAt) }));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const url = `http://127.0.0.1:${port}`;

  const app: SpawnedApp = {
    url,
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    post: (body) => app.postRaw(toMetaJson(body)),
    postRaw: (raw) =>
      call(agent, `${url}/webhook`, 'POST', raw, {
        'content-type': 'application/json',
        'x-hub-signature-256': signatureFor(SPAWN_ENV.APP_SECRET, raw),
      }).then((r) => r.status),
    health: () =>
      call(agent, `${url}/healthz`, 'GET').then((r) => ({ status: r.status, body: JSON.parse(r.text) as HealthAnswer['body'] })),
    async kill(signal, timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalledAt = performance.now();
        child.kill(signal);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
      const first = await Promise.race([exited, late]);
      clearTimeout(timer);
      agent.destroy();
      if (first !== 'late') return first;
      child.kill('SIGKILL');
      return { ...(await exited), forced: true };
    },
  };

  const deadline = performance.now() + (options.startTimeoutMs ?? 20_000);
  let ended: Exit | undefined;
  void exited.then((e) => (ended = e));
  for (;;) {
    if (ended) throw new Error(`the app exited during start-up (${JSON.stringify(ended)}):\n${out}`);
    try {
      await app.health();
      break;
    } catch {
      if (performance.now() > deadline) {
        await app.kill('SIGKILL');
        throw new Error(`the app did not answer /healthz in time:\n${out}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return app;
}

function call(agent: Agent, url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}
