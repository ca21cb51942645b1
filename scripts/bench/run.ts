// npm run bench [-- --duration 10 --connections 50 --quick --cpu-prof DIR ...]
//
// Throughput of the webhook: signed Messenger notifications (single events and batches) posted
// with autocannon to the app with its durable SQLite inbox, and in the same run to two ceilings
// (a bare node:http server and a bare express app that only drain the body and answer 200).
// Every server is a child process with its own event loop; replies go to a local mock Graph API,
// also a child. Prints req/s and latency per target, the app's ratio to each ceiling, events
// persisted/s, replies/s reaching the mock, and the app's memory. With `--db postgres` the same
// scenarios also run against `--instances N` app processes sharing one throwaway PostgreSQL
// database, side by side with SQLite. See docs/benchmark.md.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { assertPortFree, BenchError, freePort, REPO_ROOT, sleep, spawnNode, StartError, stopAll, stopChild, waitForHttp, waitForReady, type Child, type ProbeSample } from './children.ts';
import { isLatencyRun, runLatency } from './latency.ts';
import { runLoad, type LoadResult } from './load.ts';
import type { MockStats } from './mock-graph.ts';
import { createPayloadFactory } from './payloads.ts';
import { createBenchDatabase, type BenchDatabase } from './postgres-db.ts';
import { readReplyBuckets, replyLatencyBetween } from './reply-latency.ts';
import { cpuSecondsOf, memOf, openCpuWindow, watchMemory } from './proc.ts';
import { summarizeProfile } from './profile-summary.ts';
import { cpuMs, int, mb, ms, pct, table } from './report.ts';

const USAGE = `usage: npm run bench -- [options]
  --duration S       seconds of load per scenario (default 10)
  --connections N    concurrent connections (default 50)
  --warmup S         seconds of unmeasured load before each scenario (default 2)
  --batch N          events per request in the batch scenario (default 100)
  --senders N        distinct senders (PSIDs) the events come from (default 2000)
  --send-rate N      the app's SEND_RATE_LIMIT, sends/s (default 250)
  --drain S          seconds to watch replies after the load stops (default 5)
  --soak N           events for the memory check (default 300000; 0 = skip)
  --soak-step N      events between two memory samples (default 20000)
  --only KIND        single | batch | soak: run one part only
  --only latency     reply latency against an ideal bot instead (options: --only latency --help)
  --graph-latency MS delay of the mock Graph API's answers (default 0)
  --db KIND          sqlite (default) | postgres: also run the app on PostgreSQL, side by side
  --instances N      app processes sharing the PostgreSQL database (default 1; needs --db postgres)
  --postgres-url URL server for --db postgres, where a throwaway database is made and dropped
                     (default BENCH_POSTGRES_URL, TEST_POSTGRES_URL or postgres://root@127.0.0.1:5432/postgres)
  --app-port N       port for the app (default: a free one)
  --cpu-prof DIR     write a V8 CPU profile of each app run to DIR and summarise it
  --app-dir DIR      run the app from another checkout (e.g. a git worktree with a change to try)
  --json FILE        also write the results as JSON
  --quick            --duration 3 --warmup 1 --drain 2 --soak 100000
  --keep             keep the temporary directory (databases) for inspection`;

interface Options {
  duration: number;
  connections: number;
  warmup: number;
  batch: number;
  senders: number;
  sendRate: number;
  drain: number;
  soak: number;
  soakStep: number;
  only: 'single' | 'batch' | 'soak' | undefined;
  graphLatency: number;
  db: 'sqlite' | 'postgres';
  instances: number;
  postgresUrl: string;
  appPort: number | undefined;
  cpuProf: string | undefined;
  appDir: string;
  json: string | undefined;
  keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      batch: { type: 'string' },
      senders: { type: 'string' },
      'send-rate': { type: 'string' },
      drain: { type: 'string' },
      soak: { type: 'string' },
      'soak-step': { type: 'string' },
      only: { type: 'string' },
      'graph-latency': { type: 'string' },
      db: { type: 'string' },
      instances: { type: 'string' },
      'postgres-url': { type: 'string' },
      'app-port': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'app-dir': { type: 'string' },
      json: { type: 'string' },
      quick: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick === true;
  const num = (name: string, raw: string | undefined, fallback: number, min = 0): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} ${raw}: expected a number ≥ ${min}`);
    return n;
  };
  const only = values.only;
  if (only !== undefined && only !== 'single' && only !== 'batch' && only !== 'soak') throw new UsageError(`--only ${only}: expected single, batch or soak`);
  const sendRate = num('send-rate', values['send-rate'], 250, 1);
  const db = values.db ?? 'sqlite';
  if (db !== 'sqlite' && db !== 'postgres') throw new UsageError(`--db ${db}: expected sqlite or postgres`);
  const instances = num('instances', values.instances, 1, 1);
  if (!Number.isInteger(instances) || instances > 16) throw new UsageError(`--instances ${values.instances}: expected a whole number from 1 to 16`);
  if (instances > 1 && db !== 'postgres') throw new UsageError('--instances: several instances share a PostgreSQL database; add --db postgres');
  if (sendRate > 300) throw new UsageError('--send-rate: the app accepts 1 to 300 (Meta allows 300/s)');
  return {
    duration: num('duration', values.duration, quick ? 3 : 10, 1),
    connections: num('connections', values.connections, 50, 1),
    warmup: num('warmup', values.warmup, quick ? 1 : 2),
    batch: num('batch', values.batch, 100, 2),
    senders: num('senders', values.senders, 2000, 1),
    sendRate,
    drain: num('drain', values.drain, quick ? 2 : 5),
    soak: num('soak', values.soak, quick ? 100_000 : 300_000),
    soakStep: num('soak-step', values['soak-step'], 20_000, 1),
    only,
    graphLatency: num('graph-latency', values['graph-latency'], 0),
    db,
    instances,
    postgresUrl: values['postgres-url'] ?? process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres',
    appPort: values['app-port'] === undefined ? undefined : num('app-port', values['app-port'], 0, 1),
    cpuProf: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    appDir: values['app-dir'] === undefined ? REPO_ROOT : resolve(values['app-dir']),
    json: values.json,
    keep: values.keep === true,
  };
}

class UsageError extends Error {}

const out = (text = '') => process.stdout.write(`${text}\n`);
const note = (text: string) => process.stderr.write(`${text}\n`);

const APP_SECRET = randomBytes(24).toString('hex');
const PAGE_ID = '1234567890';
const RUN_ID = randomBytes(4).toString('hex');

interface Kind {
  name: 'single' | 'batch';
  label: string;
  events: number;
}

interface Measured {
  kind: Kind['name'];
  target: 'node:http' | 'express' | 'app' | 'app-pg';
  load: LoadResult;
  /** Cores busy during the measured load (1 = one core): the server, the load generator (this process), everything else. */
  cpu: { server: number | undefined; loadGen: number; others: number | undefined };
}

interface AppRun extends Measured {
  target: 'app' | 'app-pg';
  /** App processes (several only on PostgreSQL). */
  instances: number;
  /** Cores the PostgreSQL server's backends for these instances used during the load. */
  cpuDb: number | undefined;
  /** Replies sent during the load: time from the webhook to the Send API's answer (the app's histogram), ms. */
  replyLatency: { p50: number; p99: number; count: number } | undefined;
  /** Events the app stored (dedup keys in its database) after warm-up + load. */
  storedEvents: number;
  /** Events handled (replies produced) per second during the load. */
  handledPerSec: number;
  inboxBacklog: number;
  outboxBacklog: number;
  sendsPerSecLoad: number;
  sendsPerSecDrain: number;
  repliesPerSecLoad: number;
  repliesPerSecDrain: number;
  profileGets: number;
  rssStartMb: number;
  rssEndMb: number;
  peakRssMb: number;
  dbMb: number;
  logLevels: Record<string, number>;
  logMessages: Record<string, number>;
  errorSamples: Record<string, string>;
  /** How long the graceful stop (SIGTERM) took, and whether it had to be killed. */
  stop: { ms: number; killed: boolean } | undefined;
  /** Event loop during the load (from app-probe.ts): mean utilisation, worst p99 and max delay, ms. */
  loop: LoopStats | undefined;
}

interface LoopStats {
  elu: number;
  p99: number;
  max: number;
  heapMb: number;
}

interface SoakStep {
  events: number;
  rssMb: number;
  /** V8 heap in use (from app-probe.ts), MB. */
  heapMb: number | undefined;
  inbox: number;
  outbox: number;
}

interface Ports {
  http: number;
  express: number;
  mock: number;
}

let tmp = '';
let keepTmp = false;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll(3000);
    if (tmp && !keepTmp) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) note(`kept ${tmp}`);
  })();
  return cleaning;
}

async function main(): Promise<number> {
  if (isLatencyRun(process.argv.slice(2))) return runLatency(process.argv.slice(2));
  const o = options();
  keepTmp = o.keep;
  tmp = mkdtempSync(join(tmpdir(), 'shopbot-bench-'));
  if (o.cpuProf) mkdirSync(o.cpuProf, { recursive: true });
  if (o.appPort !== undefined) await assertPortFree(o.appPort, '--app-port');
  // Before any measurement: the server answers and lets this user create databases.
  if (o.db === 'postgres') await (await createBenchDatabase(o.postgresUrl, `shopbot_bench_${RUN_ID}_check`)).drop();

  const ports: Ports = { http: await freePort(), express: await freePort(), mock: await freePort() };
  note(`starting: node:http ceiling :${ports.http}, express ceiling :${ports.express}, mock Graph API :${ports.mock}`);
  const httpCeiling = spawnNode({ name: 'node:http ceiling', script: 'scripts/bench/ceiling-http.ts', env: { PORT: String(ports.http) } });
  const expressCeiling = spawnNode({ name: 'express ceiling', script: 'scripts/bench/ceiling-express.ts', env: { PORT: String(ports.express) } });
  const mock = spawnNode({ name: 'mock Graph API', script: 'scripts/bench/mock-graph.ts', env: { PORT: String(ports.mock), MOCK_LATENCY_MS: String(o.graphLatency) } });
  await Promise.all([waitForReady(httpCeiling), waitForReady(expressCeiling), waitForReady(mock)]);

  out(`# Webhook benchmark — ${new Date().toISOString()}`);
  out(`node ${process.version}, ${(await import('node:os')).cpus().length} CPUs; ${o.connections} connections, ${o.duration} s per scenario (+${o.warmup} s warm-up), ` +
    `${o.senders} senders, SEND_RATE_LIMIT=${o.sendRate}, mock Graph latency ${o.graphLatency} ms` +
    (o.db === 'postgres' ? `; PostgreSQL: ${o.instances} instance${o.instances === 1 ? '' : 's'} on one database` : ''));
  out();

  const kinds: Kind[] = [
    { name: 'single', label: 'single event', events: 1 },
    { name: 'batch', label: `${o.batch}-event batch`, events: o.batch },
  ].filter((k) => o.only === undefined || o.only === k.name) as Kind[];

  const results: Measured[] = [];
  const appRuns: AppRun[] = [];
  for (const kind of kinds) {
    note(`\n== ${kind.label} ==`);
    results.push(await measureServer(o, kind, 'node:http', httpCeiling, `http://127.0.0.1:${ports.http}`));
    results.push(await measureServer(o, kind, 'express', expressCeiling, `http://127.0.0.1:${ports.express}`));
    const app = await measureApp(o, kind, ports, mock, 'sqlite');
    results.push(app);
    appRuns.push(app);
    if (o.db === 'postgres') {
      const onPostgres = await measureApp(o, kind, ports, mock, 'postgres');
      results.push(onPostgres);
      appRuns.push(onPostgres);
    }
  }
  const soak = o.soak > 0 && (o.only === undefined || o.only === 'soak') ? await soakApp(o, ports) : undefined;

  printReport(o, kinds, results, appRuns, soak);
  if (o.cpuProf) printProfiles(o.cpuProf);
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, results: results.map(({ load, ...r }) => ({ ...r, load: { ...load, raw: undefined } })), soak }, null, 2));
  return 0;
}

async function measureServer(o: Options, kind: Kind, target: 'node:http' | 'express', child: Child, url: string): Promise<Measured> {
  note(`${target} ceiling: warm-up ${o.warmup} s, load ${o.duration} s`);
  const next = createPayloadFactory({ appSecret: APP_SECRET, pageId: PAGE_ID, events: kind.events, senders: o.senders, runId: `${RUN_ID}${kind.name}${target}` });
  if (o.warmup > 0) await runLoad({ url, connections: o.connections, duration: o.warmup, next });
  const cpu = openCpuWindow([child.pid]);
  const load = await runLoad({ url, connections: o.connections, duration: o.duration, next });
  return { kind: kind.name, target, load, cpu: cpu.close() };
}

interface AppInstance {
  child: Child;
  url: string;
  dbPath: string;
}

/** The app processes of one run, and what they stored (in a SQLite file, or one PostgreSQL database). */
interface AppGroup {
  db: 'sqlite' | 'postgres';
  instances: AppInstance[];
  countStored(perBody: number): Promise<number>;
  dbMb(): Promise<number>;
  /** PostgreSQL's server processes serving these instances (their CPU is part of the cost). */
  dbPids(): Promise<number[]>;
  stop(): Promise<{ ms: number; killed: boolean }>;
}

const METRICS_TOKEN = randomBytes(16).toString('hex');

async function startGroup(o: Options, name: string, ports: Ports, db: 'sqlite' | 'postgres'): Promise<AppGroup> {
  if (db === 'sqlite') {
    const app = await startApp(o, name, ports);
    return {
      db,
      instances: [app],
      countStored: (perBody) => Promise.resolve(countStored(app.dbPath, perBody)),
      dbMb: () => Promise.resolve(fileMb(app.dbPath)),
      dbPids: () => Promise.resolve([]),
      stop: () => stopApp(o, app),
    };
  }
  const database = await createBenchDatabase(o.postgresUrl, `shopbot_bench_${RUN_ID}_${name.replace(/\W/g, '_')}`);
  const instances: AppInstance[] = [];
  try {
    // Started together, as a deployment would: the migrations' advisory lock lets one apply them.
    instances.push(...(await Promise.all(Array.from({ length: o.instances }, (_, i) => startApp(o, `${name}-${i + 1}`, ports, database, i)))));
  } catch (err) {
    await Promise.all(instances.map((app) => stopApp(o, app)));
    await database.drop();
    throw err;
  }
  return {
    db,
    instances,
    countStored: (perBody) => database.countStored(perBody),
    dbMb: () => database.sizeMb(),
    dbPids: () => database.backendPids(),
    async stop() {
      const stops = await Promise.all(instances.map((app) => stopApp(o, app)));
      await database.drop();
      return { ms: Math.max(...stops.map((x) => x.ms)), killed: stops.some((x) => x.killed) };
    },
  };
}

async function startApp(o: Options, name: string, ports: Ports, database?: BenchDatabase, index = 0): Promise<AppInstance> {
  const port = index === 0 && o.appPort !== undefined ? o.appPort : await freePort();
  const dbPath = join(tmp, `${name}.db`);
  // Profiled runs use the tsc build (see buildForProfiling); one directory per run, as node
  // writes a profile per thread.
  const build = o.cpuProf ? buildForProfiling(o.appDir) : undefined;
  const child = spawnNode({
    name: `app (${name})`,
    cwd: o.appDir,
    script: build ? join(build, 'app.js') : 'app.ts',
    tsx: build === undefined,
    nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(o.cpuProf, name)}`] : [],
    preload: [pathToFileURL(build ? join(build, 'bench-app-probe.mjs') : join(REPO_ROOT, 'scripts/bench/app-probe.ts')).href],
    env: {
      PORT: String(port),
      PAGE_ACCESS_TOKEN: `EAABench${randomBytes(16).toString('hex')}`,
      APP_SECRET,
      VERIFY_TOKEN: randomBytes(12).toString('hex'),
      APP_ID: '100000000000001',
      PAGE_ID,
      IG_ACCOUNT_ID: '',
      APP_URL: 'https://shopbot-bench.invalid',
      GRAPH_API_URL: `http://127.0.0.1:${ports.mock}`,
      DATABASE_URL: database ? database.url : `sqlite:${dbPath}`,
      LOG_LEVEL: 'warn',
      METRICS_TOKEN,
      SEND_RATE_LIMIT: String(o.sendRate),
      DASHBOARD_TOKEN: '',
      // The mock Graph API has no webhook subscriptions to check.
      WATCHDOG_INTERVAL: 'off',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/healthz`);
  return { child, url, dbPath };
}

let built: string | undefined;
/**
 * For --cpu-prof: the app compiled by tsc (same code, plain JavaScript) so that profile frames
 * carry real line numbers; tsx's whitespace-minified output puts every function on line 1.
 */
function buildForProfiling(appDir: string): string {
  if (built) return built;
  const dir = join(tmp, 'build');
  note('--cpu-prof: compiling the app with tsc for readable profiles…');
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', dir], { cwd: appDir, stdio: 'pipe' });
  } catch (err) {
    // Type errors still emit; only a missing app.js is fatal.
    if (!existsSync(join(dir, 'app.js'))) throw new BenchError(`tsc could not build the app: ${String((err as { stdout?: Buffer }).stdout ?? err)}`);
  }
  for (const shared of ['node_modules', 'locales', 'data', 'public']) {
    if (existsSync(join(appDir, shared))) symlinkSync(join(appDir, shared), join(dir, shared));
  }
  const probe = readFileSync(join(REPO_ROOT, 'scripts/bench/app-probe.ts'), 'utf8');
  writeFileSync(join(dir, 'bench-app-probe.mjs'), ts.transpileModule(probe, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  built = dir;
  return dir;
}

function loopStats(probes: ProbeSample[], from: number, to: number): LoopStats | undefined {
  const during = probes.filter((p) => p.at > from && p.at <= to + 250);
  if (during.length === 0) return undefined;
  return {
    elu: during.reduce((sum, p) => sum + p.elu, 0) / during.length,
    p99: Math.max(...during.map((p) => p.p99)),
    max: Math.max(...during.map((p) => p.max)),
    heapMb: during.at(-1)?.heapMb ?? 0,
  };
}

async function stopApp(o: Options, app: AppInstance): Promise<{ ms: number; killed: boolean }> {
  // A graceful stop (SIGTERM) lets a profiled app write its CPU profile. The app's own grace period is 10 s.
  return stopChild(app.child, o.cpuProf ? 60_000 : 15_000);
}

async function measureApp(o: Options, kind: Kind, ports: Ports, mock: Child, db: 'sqlite' | 'postgres'): Promise<AppRun> {
  const what = db === 'sqlite' ? 'app (durable inbox, SQLite)' : `app on PostgreSQL (${o.instances} instance${o.instances === 1 ? '' : 's'})`;
  note(`${what}: start, warm-up ${o.warmup} s, load ${o.duration} s, drain ${o.drain} s`);
  const group = await startGroup(o, `app-${kind.name}-${db}`, ports, db);
  const apps = group.instances;
  const urls = apps.map((app) => app.url);
  const memories = apps.map((app) => watchMemory(app.child.pid));
  const first = apps[0] as AppInstance;
  let stopped: { ms: number; killed: boolean } | undefined;
  try {
    const rssStartMb = sumOf(memories.map((m) => m.lastMb()));
    const next = createPayloadFactory({ appSecret: APP_SECRET, pageId: PAGE_ID, events: kind.events, senders: o.senders, runId: `${RUN_ID}${kind.name}${db}` });
    if (o.warmup > 0) await runLoad({ url: urls, connections: o.connections, duration: o.warmup, next });
    const before = { mock: await mockStats(ports.mock, mock), handled: await handled(group, kind.events), replies: await readReplyBuckets(urls, METRICS_TOKEN) };
    const dbCpu = openDbCpuWindow(await group.dbPids());
    const cpuWindow = openCpuWindow(apps.map((app) => app.child.pid), [mock.pid, ...dbCpu.pids]);
    const loadStart = Date.now();
    const load = await runLoad({ url: urls, connections: o.connections, duration: o.duration, next });
    const cpu = cpuWindow.close();
    const cpuDb = dbCpu.close();
    const loop = loopStats(first.child.probes, loadStart, Date.now());
    const after = { mock: await mockStats(ports.mock, mock), handled: await handled(group, kind.events), replies: await readReplyBuckets(urls, METRICS_TOKEN) };
    const rssEndMb = sumOf(memories.map((m) => m.lastMb()));
    await sleep(o.drain * 1000);
    const drained = await mockStats(ports.mock, mock);
    const loadSeconds = (after.mock.at - before.mock.at) / 1000;
    const drainSeconds = (drained.at - after.mock.at) / 1000;
    const backlog = await health(first, kind.events);
    const stored = await group.countStored(kind.events);
    if (load.non2xx > 0 || load.errors > 0) {
      note(`${what} answered ${int(load.non2xx)} non-2xx (${JSON.stringify(load.statusCodes)}) and had ${int(load.errors)} errors; its output:\n${first.child.output().slice(-4000)}`);
    }
    const sends = (s: MockStats) => s.messages + s.senderActions;
    const logs = () => mergeCounts(apps.map((app) => app.child.logLevels));
    const run: AppRun = {
      kind: kind.name,
      target: db === 'sqlite' ? 'app' : 'app-pg',
      instances: apps.length,
      load,
      cpu,
      cpuDb,
      replyLatency: replyLatencyBetween(before.replies, after.replies),
      storedEvents: stored,
      handledPerSec: (after.handled.count - before.handled.count) / ((after.handled.at - before.handled.at) / 1000),
      inboxBacklog: backlog.inbox,
      outboxBacklog: backlog.outbox,
      sendsPerSecLoad: (sends(after.mock) - sends(before.mock)) / loadSeconds,
      sendsPerSecDrain: drainSeconds > 0 ? (sends(drained) - sends(after.mock)) / drainSeconds : 0,
      repliesPerSecLoad: (after.mock.messages - before.mock.messages) / loadSeconds,
      repliesPerSecDrain: drainSeconds > 0 ? (drained.messages - after.mock.messages) / drainSeconds : 0,
      profileGets: drained.profiles - before.mock.profiles,
      rssStartMb,
      rssEndMb,
      peakRssMb: sumOf(memories.map((m) => m.peakMb())),
      dbMb: await group.dbMb(),
      logLevels: logs(),
      logMessages: mergeCounts(apps.map((app) => app.child.logMessages)),
      errorSamples: Object.assign({}, ...apps.map((app) => app.child.errorSamples)) as Record<string, string>,
      stop: undefined,
      loop,
    };
    for (const m of memories) m.stop();
    stopped = await group.stop();
    run.stop = stopped;
    run.logLevels = logs();
    return run;
  } catch (err) {
    const dead = apps.find((app) => app.child.hasExited());
    if (dead) throw new StartError(dead.child, `exited during the benchmark (${await dead.child.exited})`);
    throw err;
  } finally {
    for (const m of memories) m.stop();
    if (!stopped) await group.stop();
  }
}

/** CPU of PostgreSQL's backends, from their /proc entries (the server runs on this machine). */
function openDbCpuWindow(pids: number[]): { pids: number[]; close(): number | undefined } {
  const started = performance.now();
  const at0 = new Map(pids.map((pid) => [pid, cpuSecondsOf(pid)]));
  return {
    pids,
    close() {
      if (pids.length === 0) return undefined;
      const seconds = (performance.now() - started) / 1000;
      let used = 0;
      for (const [pid, t0] of at0) {
        const t1 = cpuSecondsOf(pid);
        if (t0 !== undefined && t1 !== undefined) used += t1 - t0;
      }
      return used / seconds;
    },
  };
}

const sumOf = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function mergeCounts(all: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const counts of all) for (const [k, n] of Object.entries(counts)) merged[k] = (merged[k] ?? 0) + n;
  return merged;
}

/** Memory over many events: RSS after a warm-up, then after every `--soak-step` events. */
const SOAK_WARMUP_EVENTS = 50_000;

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

async function soakApp(o: Options, ports: Ports): Promise<SoakStep[]> {
  const step = Math.max(o.batch, o.soakStep);
  note(`\n== memory: ${int(o.soak)} events in ${o.batch}-event batches ==`);
  const app = await startApp(o, 'app-soak', ports);
  try {
    const next = createPayloadFactory({ appSecret: APP_SECRET, pageId: PAGE_ID, events: o.batch, senders: o.senders, runId: `${RUN_ID}soak` });
    const steps: SoakStep[] = [];
    // `events`: stored in the app's database (requests that timed out on the client may still have been stored).
    const sample = async () => {
      await sleep(1000);
      const b = await health(app, o.batch);
      const events = countStored(app.dbPath, o.batch);
      steps.push({ events, rssMb: memOf(app.child.pid)?.rssMb ?? 0, heapMb: app.child.probes.at(-1)?.heapMb, inbox: b.inbox, outbox: b.outbox });
    };
    await sample();
    // Warm-up: 50k events, so the baseline includes compiled code, SQLite's page caches and the
    // worker's heap at its working size (measured: RSS settles after ~30k events).
    const warm = Math.ceil(SOAK_WARMUP_EVENTS / o.batch);
    await runLoad({ url: app.url, connections: o.connections, amount: warm, next });
    await sample();
    for (let done = 0; done < o.soak; done += step) {
      const amount = Math.ceil(Math.min(step, o.soak - done) / o.batch);
      const load = await runLoad({ url: app.url, connections: o.connections, amount, next });
      if (load.non2xx > 0 || load.errors > 0) note(`soak: ${int(load.non2xx)} non-2xx, ${int(load.errors)} errors (timeouts count as errors)`);
      await sample();
      note(`  ${int(steps.at(-1)?.events ?? 0)} events stored: RSS ${mb(steps.at(-1)?.rssMb)}`);
    }
    return steps;
  } finally {
    await stopApp(o, app);
  }
}

async function mockStats(port: number, mock: Child): Promise<MockStats & { at: number }> {
  if (mock.hasExited()) throw new StartError(mock, 'exited');
  const res = await fetch(`http://127.0.0.1:${port}/__bench/stats`);
  const stats = (await res.json()) as MockStats;
  return { ...stats, at: Date.now() };
}

/**
 * The app's backlog in events: `inbox` counts events waiting, whether still inside a stored
 * notification (`received`, `perBody` events each: every bench request holds the same number) or
 * already expanded into the inbox.
 */
async function health(app: AppInstance, perBody: number): Promise<{ inbox: number; outbox: number }> {
  const res = await fetch(`${app.url}/healthz`);
  const body = (await res.json()) as { backlog: { received?: number; inbox: number; outbox: number } | null };
  return { inbox: (body.backlog?.received ?? 0) * perBody + (body.backlog?.inbox ?? 0), outbox: body.backlog?.outbox ?? 0 };
}

/** Events handled so far: stored minus those still waiting (the backlog is the database's, whichever instance answers). */
async function handled(group: AppGroup, perBody: number): Promise<{ count: number; at: number }> {
  const { inbox } = await health(group.instances[0] as AppInstance, perBody);
  return { count: (await group.countStored(perBody)) - inbox, at: Date.now() };
}

/**
 * Events the app has stored: its dedup keys (one per event expanded into the inbox) plus the
 * events of notifications stored but not yet expanded (`perBody` each). 0 if the schema has none.
 */
let countWarned = false;
function countStored(dbPath: string, perBody: number): number {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const keys = (db.prepare('SELECT count(*) AS n FROM dedup').get() as { n: number }).n;
    const hasBodies = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notifications'").get() !== undefined;
    const bodies = hasBodies ? (db.prepare('SELECT count(*) AS n FROM notifications').get() as { n: number }).n : 0;
    return keys + bodies * perBody;
  } catch (err) {
    if (!countWarned) note(`could not count the app's stored events in ${dbPath}: ${err instanceof Error ? err.message : String(err)}`);
    countWarned = true;
    return 0;
  } finally {
    db?.close();
  }
}

function fileMb(path: string): number {
  let bytes = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      bytes += statSync(path + suffix).size;
    } catch {
      // absent
    }
  }
  return bytes / 1024 / 1024;
}

function printReport(o: Options, kinds: Kind[], results: Measured[], appRuns: AppRun[], soak: SoakStep[] | undefined): void {
  const rows: (string | number)[][] = [];
  for (const kind of kinds) {
    const of = (t: Measured['target']) => results.find((r) => r.kind === kind.name && r.target === t);
    const http = of('node:http');
    const express = of('express');
    for (const r of [http, express, of('app'), of('app-pg')]) {
      if (!r) continue;
      const label = appLabel(r, o);
      // autocannon counts timeouts among its errors.
      const errors = r.load.non2xx + r.load.errors;
      rows.push([
        kind.events === 1 ? 'single event' : `batch of ${kind.events}`,
        label,
        int(r.load.rps),
        r.load.ok === 0 ? 'none' : ms(r.load.p50),
        r.load.ok === 0 ? 'none' : ms(r.load.p99),
        r.target !== 'node:http' && r.target !== 'express' && http ? pct(r.load.rps / http.load.rps) : '',
        r.target !== 'node:http' && r.target !== 'express' && express ? pct(r.load.rps / express.load.rps) : '',
        int(r.load.rps * kind.events),
        cores(r.cpu.server),
        cores(dbCores(r)),
        cpuPerRequest(r),
        cores(r.cpu.loadGen),
        cores(r.cpu.others),
        errors === 0 ? '0' : `${int(errors)}${r.load.timeouts > 0 ? ` (${int(r.load.timeouts)} timeouts)` : ''} ${JSON.stringify(r.load.statusCodes)}`,
      ]);
    }
  }
  if (rows.length > 0) printLatency(o, rows, results);
  const label = (r: AppRun) => `${r.kind === 'single' ? 'single event' : `batch of ${o.batch}`}${o.db === 'postgres' ? `, ${r.target === 'app' ? 'SQLite' : `PostgreSQL ×${r.instances}`}` : ''}`;

  if (appRuns.length > 0) {
    out();
    out(`## The app behind the 200 (SEND_RATE_LIMIT=${o.sendRate}/s, mock Graph latency ${o.graphLatency} ms)`);
    out();
    out(
      table(
        ['payload', 'events stored', 'handled/s', 'reply p50/p99 ms', 'sends/s (load)', 'sends/s (drain)', 'replies/s (drain)', 'inbox left', 'outbox left', 'loop busy', 'loop delay p99/max', 'heap end', 'RSS start', 'RSS end', 'peak RSS', 'db', 'stop', 'log warn/error'],
        appRuns.map((r) => [
          label(r),
          int(r.storedEvents),
          int(r.handledPerSec),
          r.replyLatency ? `${ms(r.replyLatency.p50)}/${ms(r.replyLatency.p99)}` : '?',
          int(r.sendsPerSecLoad),
          int(r.sendsPerSecDrain),
          int(r.repliesPerSecDrain),
          int(r.inboxBacklog),
          int(r.outboxBacklog),
          r.loop ? pct(r.loop.elu) : '?',
          r.loop ? `${ms(r.loop.p99)}/${ms(r.loop.max)} ms` : '?',
          mb(r.loop?.heapMb),
          mb(r.rssStartMb),
          mb(r.rssEndMb),
          mb(r.peakRssMb),
          mb(r.dbMb),
          r.stop ? `${(r.stop.ms / 1000).toFixed(1)} s${r.stop.killed ? ' KILLED' : ''}` : '?',
          `${r.logLevels.warn ?? 0}/${r.logLevels.error ?? 0}`,
        ]),
      ),
    );
    for (const r of appRuns) {
      const top = Object.entries(r.logMessages).sort((a, b) => b[1] - a[1]).slice(0, 3);
      if (top.length > 0) out(`${label(r)}: the app logged ${top.map(([msg, n]) => `${int(n)}× "${msg}"`).join(', ')}`);
      for (const sample of Object.values(r.errorSamples)) out(`  first: ${sample}`);
    }
    out('sends = Send API calls reaching the mock (replies + typing indicators); replies = calls carrying a message.');
    out('reply p50/p99: replies sent during the load, from the webhook\'s arrival to the Send API\'s answer (the app\'s bot_reply_latency_seconds');
    out('histogram, interpolated within its buckets). Under a load above SEND_RATE_LIMIT it is mostly the wait for the rate limit.');
    if (o.db === 'postgres') out('RSS and heap: all instances together; loop figures: the first instance.');
  }

  if (soak && soak.length > 0) {
    out();
    out(`## Memory over ${int(o.soak)} events (${o.batch}-event batches, RSS 1 s after each step)`);
    out();
    out(table(['events stored', 'RSS', 'V8 heap (webhook thread)', 'inbox backlog', 'outbox backlog'], soak.map((s) => [int(s.events), mb(s.rssMb), mb(s.heapMb), int(s.inbox), int(s.outbox)])));
  }

  out();
  out('## Against the targets');
  out();
  const checks: [string, string, boolean | undefined][] = [];
  const find = (kind: Kind['name'], t: Measured['target']) => results.find((r) => r.kind === kind && r.target === t);
  const single = find('single', 'app');
  const singleExpress = find('single', 'express');
  if (single && singleExpress) {
    const ratio = single.load.rps / singleExpress.load.rps;
    checks.push([`single events: ≥ 75% of the bare express app's req/s`, `${pct(ratio)} (${int(single.load.rps)} vs ${int(singleExpress.load.rps)})`, ratio >= 0.75]);
    checks.push([`single events: p99 time-to-200 < 25 ms at ${o.connections} connections`, single.load.ok === 0 ? 'no request answered' : `${ms(single.load.p99)} ms`, single.load.ok > 0 && single.load.p99 < 25]);
  }
  const batch = find('batch', 'app');
  if (batch) {
    checks.push([`batches of ${o.batch}: ≥ 1,000 req/s (≥ 100,000 events/s persisted)`, `${int(batch.load.rps)} req/s = ${int(batch.load.rps * o.batch)} events/s`, batch.load.rps >= 1000]);
  }
  for (const r of appRuns) {
    const rate = Math.max(r.sendsPerSecDrain, r.sendsPerSecLoad);
    checks.push([`${label(r)}: sends limited only by SEND_RATE_LIMIT (≥ 90% of ${o.sendRate}/s)`, `${int(r.sendsPerSecLoad)}/s under load, ${int(r.sendsPerSecDrain)}/s after`, rate >= 0.9 * o.sendRate]);
  }
  const onPostgres = find('single', 'app-pg');
  if (onPostgres) checks.push(...postgresChecks(o, onPostgres as AppRun, single));
  if (soak && soak.length >= 3) {
    // From the warm-up sample on; the trend by least squares, since a single sample swings with GC.
    const measured = soak.slice(1);
    const base = measured[0] as SoakStep;
    const last = measured.at(-1) as SoakStep;
    const per100k = slope(measured.map((s) => [s.events, s.rssMb])) * 100_000;
    const range = `${mb(Math.min(...measured.map((s) => s.rssMb)))}–${mb(Math.max(...measured.map((s) => s.rssMb)))}`;
    checks.push([
      `memory flat over ${int(last.events - base.events)} events (trend < 10 MB per 100k)`,
      `RSS ${range}, trend ${per100k.toFixed(1)} MB per 100k`,
      per100k < 10,
    ]);
  }
  out(table(['target', 'measured', 'met'], checks.map(([what, got, ok]) => [what, got, ok === undefined ? '?' : ok ? 'yes' : 'NO']), 2));
}

function appLabel(r: Measured, o: Options): string {
  if (r.target === 'app') return o.db === 'postgres' ? 'app on SQLite' : 'app (durable inbox)';
  if (r.target === 'app-pg') return `app on PostgreSQL ×${(r as AppRun).instances}`;
  return `${r.target} ceiling`;
}

/** The PostgreSQL server's share of the work (the app on SQLite does its database work in-process). */
function dbCores(r: Measured): number | undefined {
  return r.target === 'app-pg' ? (r as AppRun).cpuDb : undefined;
}

/** CPU ms per answered request: the server's, plus PostgreSQL's for the app on it. */
function cpuPerRequest(r: Measured): string {
  if (r.cpu.server === undefined || r.load.rps === 0) return '?';
  const db = r.target === 'app-pg' ? (r as AppRun).cpuDb : 0;
  if (db === undefined) return '?';
  return cpuMs(((r.cpu.server + db) * 1000) / r.load.rps);
}

function postgresChecks(o: Options, pgRun: AppRun, sqlite: Measured | undefined): [string, string, boolean | undefined][] {
  const checks: [string, string, boolean | undefined][] = [];
  const n = pgRun.instances;
  if (n === 1) {
    checks.push([`PostgreSQL, 1 instance: ≥ 3,000 single events/s to 200`, `${int(pgRun.load.rps)} req/s`, pgRun.load.rps >= 3000]);
    checks.push([`PostgreSQL, 1 instance: p99 time-to-200 ≤ 25 ms at ${o.connections} connections`, pgRun.load.ok === 0 ? 'no request answered' : `${ms(pgRun.load.p99)} ms`, pgRun.load.ok > 0 && pgRun.load.p99 <= 25]);
  } else {
    checks.push([`PostgreSQL, ${n} instances: single events/s to 200 (one instance's target is 3,000)`, `${int(pgRun.load.rps)} req/s, p99 ${ms(pgRun.load.p99)} ms`, undefined]);
  }
  if (sqlite?.cpu.server !== undefined && pgRun.cpu.server !== undefined && pgRun.cpuDb !== undefined && sqlite.load.rps > 0 && pgRun.load.rps > 0) {
    const perEvent = (cores: number, rps: number) => (cores * 1000) / rps;
    const onSqlite = perEvent(sqlite.cpu.server, sqlite.load.rps);
    const onPg = perEvent(pgRun.cpu.server + pgRun.cpuDb, pgRun.load.rps);
    checks.push([`PostgreSQL: CPU per event (app + database server) ≤ 2× SQLite's`, `${cpuMs(onPg)} vs ${cpuMs(onSqlite)} ms (${(onPg / onSqlite).toFixed(2)}×)`, onPg <= 2 * onSqlite]);
  }
  return checks;
}

function printLatency(o: Options, rows: (string | number)[][], results: Measured[]): void {
  out();
  out(`## Time to 200 (${o.connections} connections, ${o.duration} s each)`);
  out();
  out(table(['payload', 'server', 'req/s', 'p50 ms', 'p99 ms', 'vs node:http', 'vs express', 'events/s', 'CPU server', 'CPU PostgreSQL', 'CPU ms/req', 'CPU autocannon', 'CPU other', 'errors'], rows, 2));
  out('CPU columns: cores busy during the load (2 = both). "CPU ms/req" is the server\'s CPU time per answered request (for the app it');
  out('includes handling events and sending replies in the background; on PostgreSQL, the database server\'s backends too), the figure');
  out('least disturbed by other load on the machine.');
  out('"autocannon" is this process generating and signing the requests;');
  out('"other" is everything else on the machine (the mock Graph API excluded).');
  const noisy = results.filter((r) => (r.cpu.others ?? 0) > 0.3);
  if (noisy.length > 0) {
    out(`WARNING: other processes used more than 0.3 cores during ${noisy.length} of ${results.length} measurements: numbers are low and noisy; rerun on an idle machine.`);
  }
}

function cores(n: number | undefined): string {
  return n === undefined ? '?' : n.toFixed(2);
}

/**
 * Every thread's profile of each app run: thread id 0 in node's file name (CPU.date.time.pid.tid.seq)
 * is the webhook's thread, others are the bot worker (handling and sending, with a SQLite file).
 */
function printProfiles(dir: string): void {
  const runs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  const files = runs.flatMap((run) =>
    readdirSync(join(dir, run.name))
      .filter((f) => /^CPU\.\d+\.\d+\.\d+\.\d+\.\d+\.cpuprofile$/.test(f))
      .map((f) => join(run.name, f)),
  );
  for (const file of files) {
    const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1] === '0' ? 'webhook thread' : 'bot worker thread';
    out();
    out(`## CPU profile (${thread}): ${join(dir, file)}`);
    out();
    out(summarizeProfile(join(dir, file), { top: 25 }));
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    note(`\n${signal}: stopping the servers and removing temporary files…`);
    void cleanup().then(() => process.exit(130));
  });
}

void main()
  .catch((err: unknown) => {
    if (err instanceof UsageError || (err instanceof Error && String((err as Error & { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      note(`${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof BenchError) {
      note(`\n${err.message}`);
      return 1;
    }
    if (err instanceof StartError) {
      note(`\n${err.message}. Its output:\n${err.child.output().trim() || '(nothing)'}`);
      return 1;
    }
    note(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
