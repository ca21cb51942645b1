// npm run bench -- --only latency [--rates 10,50,90] [--db sqlite|postgres] [...]
//
// Reply latency: first-contact text messages (every event from a sender never seen before),
// correctly signed, posted open loop (on a fixed schedule, not waiting for answers) at each rate,
// to the app started as `npm start` runs it and, in the same run, to an ideal bot that stores
// nothing (ideal-bot.ts). Latency is from the start of the POST to the moment the mock Graph API
// receives the first Send API call carrying a `message` for that sender (sender actions are not
// replies). Also the app's memory: idle after start, peak under this load, and peak while a large
// backlog drains. See docs/benchmark.md, "Reply latency".
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchError, freePort, REPO_ROOT, sleep, spawnNode, stopChild, waitForHttp, waitForReady, type Child } from './children.ts';
import { latencyStats, msText, ratioText, type LatencyStats } from './latency-stats.ts';
import { firstContactBody, post, runOpenLoop, sign, TEXTS, type OpenLoopResult } from './open-loop.ts';
import { openCpuWindow } from './proc.ts';
import { treeMemory, watchTree, type TreeSample } from './process-tree.ts';
import { int, table } from './report.ts';
import { createBenchDatabase, type BenchDatabase } from './postgres-db.ts';

const USAGE = `usage: npm run bench -- --only latency [options]
  --rates LIST     events per second, one measurement per rate and target (default 10,50,90)
  --duration S     seconds measured per rate and target (default 20)
  --warmup S       seconds of unmeasured load before each measurement (default 3)
  --settle S       longest wait for the last replies after the load stops (default 10)
  --db KIND        the app's store: sqlite (default, a file in a temporary directory) | postgres
  --postgres-url URL  PostgreSQL server for --db postgres, where a throwaway database is created and
                   dropped (default $BENCH_POSTGRES_URL, $TEST_POSTGRES_URL, postgres://root@127.0.0.1:5432/postgres)
  --backlog N      events posted at once to watch memory while they drain (default 50000; 0 skips)
  --idle S         seconds after start before the idle RSS is read (default 5)
  --app-dir DIR    run the app from another checkout (e.g. a git worktree with a change to try)
  --json FILE      also write the results as JSON
  --keep           keep the temporary directory (the SQLite database)`;

interface Options {
  rates: number[];
  duration: number;
  warmup: number;
  settle: number;
  db: 'sqlite' | 'postgres';
  pgUrl: string;
  backlog: number;
  idle: number;
  appDir: string;
  json: string | undefined;
  keep: boolean;
}

/** True when run.ts was asked for this scenario (`--only latency`). */
export function isLatencyRun(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === '--only=latency' || (arg === '--only' && argv[i + 1] === 'latency'));
}

function options(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      rates: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      settle: { type: 'string' },
      db: { type: 'string' },
      'postgres-url': { type: 'string' },
      backlog: { type: 'string' },
      idle: { type: 'string' },
      'app-dir': { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const num = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new BenchError(`--${name} ${raw}: expected a number ≥ ${min}\n${USAGE}`);
    return n;
  };
  const rates = (values.rates ?? '10,50,90').split(',').map((r) => num('rates', r.trim(), 0, 1));
  const db = values.db ?? 'sqlite';
  if (db !== 'sqlite' && db !== 'postgres') throw new BenchError(`--db ${db}: expected sqlite or postgres\n${USAGE}`);
  return {
    rates,
    duration: num('duration', values.duration, 20, 1),
    warmup: num('warmup', values.warmup, 3, 0),
    settle: num('settle', values.settle, 10, 1),
    db,
    pgUrl: values['postgres-url'] ?? process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres',
    backlog: num('backlog', values.backlog, 50_000, 0),
    idle: num('idle', values.idle, 5, 0),
    appDir: values['app-dir'] === undefined ? REPO_ROOT : resolve(values['app-dir']),
    json: values.json,
    keep: values.keep === true,
  };
}

const out = (text = '') => process.stdout.write(`${text}\n`);
const note = (text: string) => process.stderr.write(`${text}\n`);

const APP_SECRET = randomBytes(24).toString('hex');
const PAGE_TOKEN = `EAABench${randomBytes(16).toString('hex')}`;
const PAGE_ID = '1234567890';
/** Four digits in every PSID of this run, so no sender repeats across runs sharing a database. */
const RUN_DIGITS = String(1000 + Math.floor(Math.random() * 9000));

type TargetName = 'ideal' | 'app';

interface Target {
  name: TargetName;
  label: string;
  child: Child;
  url: string;
}

interface Measurement {
  rate: number;
  target: TargetName;
  stats: LatencyStats;
  /** Time to the webhook's answer, p50 and p99, ms; and answers other than 200. */
  answerP50: number;
  answerP99: number;
  non200: number;
  /** How late the load generator was for its schedule at worst, ms. */
  lateMaxMs: number;
  /** Cores the rest of the machine used meanwhile (not the target, not the mock). */
  cpuOther: number | undefined;
}

interface Memory {
  idle: TreeSample | undefined;
  peakLoadMb: number;
  backlog: { events: number; postedInS: number; drainedInS: number | undefined; peakMb: number; endMb: number | undefined } | undefined;
  processes: TreeSample['processes'];
}

/** The app's start script (package.json `start`) as node arguments: `node ARGS... SCRIPT`. */
function startCommand(appDir: string): { nodeArgs: string[]; script: string; text: string } {
  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const text = pkg.scripts?.start ?? '';
  const words = text.split(/\s+/).filter(Boolean);
  if (words[0] !== 'node' || words.length < 2) throw new BenchError(`package.json "start" is "${text}": expected "node [options] SCRIPT"`);
  return { nodeArgs: words.slice(1, -1), script: words.at(-1) as string, text };
}

async function startApp(o: Options, mockPort: number, databaseUrl: string): Promise<Target> {
  const port = await freePort();
  const start = startCommand(o.appDir);
  note(`app: ${start.text} (${o.db}) on :${port}`);
  const child = spawnNode({
    name: 'app',
    cwd: o.appDir,
    script: start.script,
    tsx: false,
    nodeArgs: start.nodeArgs,
    env: {
      PORT: String(port),
      PAGE_ACCESS_TOKEN: PAGE_TOKEN,
      APP_SECRET,
      VERIFY_TOKEN: randomBytes(12).toString('hex'),
      APP_ID: '100000000000001',
      PAGE_ID,
      IG_ACCOUNT_ID: '',
      ACCOUNTS_FILE: '',
      APP_URL: 'https://shopbot-bench.invalid',
      GRAPH_API_URL: `http://127.0.0.1:${mockPort}`,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DASHBOARD_TOKEN: '',
      METRICS_TOKEN: '',
      // The mock Graph API has no webhook subscriptions to check.
      WATCHDOG_INTERVAL: 'off',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/healthz`);
  return { name: 'app', label: `app (${o.db})`, child, url };
}

async function startIdeal(mockPort: number): Promise<Target> {
  const port = await freePort();
  const child = spawnNode({
    name: 'ideal bot',
    script: 'scripts/bench/ideal-bot.ts',
    env: { PORT: String(port), APP_SECRET, PAGE_ACCESS_TOKEN: PAGE_TOKEN, GRAPH_API_URL: `http://127.0.0.1:${mockPort}` },
  });
  await waitForReady(child);
  return { name: 'ideal', label: 'ideal bot', child, url: `http://127.0.0.1:${port}` };
}

/** The mock's first-message times (process.hrtime ns by recipient), taken and forgotten there. */
async function takeArrivals(mockPort: number): Promise<Record<string, string>> {
  const res = await fetch(`http://127.0.0.1:${mockPort}/__bench/first-messages`, { method: 'POST' });
  return (await res.json()) as Record<string, string>;
}

/** Waits until every sender's reply arrived (or `settleS` passed); returns the arrival times. */
async function collectArrivals(mockPort: number, psids: readonly string[], settleS: number): Promise<Map<string, bigint>> {
  const wanted = new Set(psids);
  const arrivals = new Map<string, bigint>();
  const deadline = Date.now() + settleS * 1000;
  for (;;) {
    for (const [psid, ns] of Object.entries(await takeArrivals(mockPort))) if (wanted.has(psid)) arrivals.set(psid, BigInt(ns));
    if (arrivals.size >= wanted.size || Date.now() > deadline) return arrivals;
    await sleep(100);
  }
}

let phase = 10;
/** Digits no other phase of this run uses: target, phase, run. */
function psidPrefix(target: TargetName): string {
  phase += 1;
  return `2${target === 'ideal' ? 1 : 2}${phase}${RUN_DIGITS}`;
}

function quantile(values: number[], p: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

async function measure(o: Options, target: Target, rate: number, mock: Child, mockPort: number): Promise<Measurement> {
  if (o.warmup > 0) {
    const warm = await runOpenLoop({ url: target.url, appSecret: APP_SECRET, pageId: PAGE_ID, rate, durationS: o.warmup, psidPrefix: psidPrefix(target.name) });
    await collectArrivals(mockPort, warm.sent.map((s) => s.psid), o.settle);
  }
  const cpu = openCpuWindow([target.child.pid], [mock.pid]);
  const startedAt = new Date().toISOString().slice(11, 23);
  const load: OpenLoopResult = await runOpenLoop({ url: target.url, appSecret: APP_SECRET, pageId: PAGE_ID, rate, durationS: o.duration, psidPrefix: psidPrefix(target.name) });
  const arrivals = await collectArrivals(mockPort, load.sent.map((s) => s.psid), o.settle);
  const cpuOther = cpu.close().others;
  const latencies: number[] = [];
  const slow: number[] = [];
  const t0 = load.sent[0]?.startNs ?? 0n;
  for (const s of load.sent) {
    const at = arrivals.get(s.psid);
    if (at === undefined) continue;
    const ms = Number(at - s.startNs) / 1e6;
    latencies.push(ms);
    if (ms > SLOW_MS) slow.push(Number(s.startNs - t0) / 1e9);
  }
  const stats = latencyStats(latencies, load.sent.length - latencies.length);
  const answers = load.sent.map((s) => s.answerMs);
  const result: Measurement = {
    rate,
    target: target.name,
    stats,
    answerP50: quantile(answers, 50),
    answerP99: quantile(answers, 99),
    non200: load.sent.filter((s) => s.status !== 200).length,
    lateMaxMs: load.lateMaxMs,
    cpuOther,
  };
  note(`  ${target.label} at ${rate}/s: p50 ${msText(stats.p50)} ms, p99 ${msText(stats.p99)} ms, max ${msText(stats.max)} ms, ${stats.missing} missing, CPU other ${cpuOther?.toFixed(2) ?? '?'}`);
  if (slow.length > 0) note(`    ${slow.length} over ${SLOW_MS} ms, posted at ${clusters(slow)} s into the measurement (which started at ${startedAt} UTC, to match with a server log)`);
  return result;
}

/** A reply later than this is noted with when it was posted: a stall shows as one cluster, a slow path as many. */
const SLOW_MS = 50;

/** Ascending times (s) as clusters a second or more apart: "3.1–3.4 (12), 17.9 (1)". */
function clusters(times: readonly number[]): string {
  const out: string[] = [];
  let first = times[0] ?? 0;
  let last = first;
  let n = 0;
  const flush = (): void => {
    out.push(`${first.toFixed(1)}${last > first ? `–${last.toFixed(1)}` : ''} (${n})`);
  };
  for (const t of times) {
    if (n > 0 && t - last >= 1) {
      flush();
      first = t;
      n = 0;
    }
    last = t;
    n += 1;
  }
  if (n > 0) flush();
  return out.join(', ');
}

interface Backlog {
  received?: number;
  inbox: number;
  outbox: number;
}

async function backlogOf(app: Target): Promise<Backlog | undefined> {
  try {
    const res = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    return ((await res.json()) as { backlog: Backlog | null }).backlog ?? undefined;
  } catch {
    return undefined;
  }
}

/** Posts `events` first-contact messages as fast as the app takes them, then watches the tree's RSS until the backlog is gone. */
async function drainBacklog(o: Options, app: Target, mockPort: number): Promise<NonNullable<Memory['backlog']>> {
  const perBody = 100;
  const bodies = Math.ceil(o.backlog / perBody);
  note(`\n== backlog: ${int(bodies * perBody)} events in ${perBody}-event notifications, then the drain ==`);
  const watch = watchTree(app.child.pid, 100);
  const started = performance.now();
  const prefix = psidPrefix('app');
  const url = new URL('/webhook', app.url);
  let next = 0;
  let refused = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies) {
      const b = next++;
      const senders = Array.from({ length: perBody }, (_, i) => ({ psid: `${prefix}${String(b * perBody + i).padStart(8, '0')}`, text: TEXTS[i % TEXTS.length] as string }));
      const body = firstContactBody(PAGE_ID, senders, Date.now());
      if ((await post(url, body, sign(APP_SECRET, body))).status !== 200) refused += 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const postedInS = (performance.now() - started) / 1000;
  if (refused > 0) note(`  ${refused} notifications were not answered 200`);
  note(`  posted in ${postedInS.toFixed(1)} s; draining (rate-limited sends)…`);
  // Every event is one reply at the app's SEND_RATE_LIMIT (250/s by default); allow twice that.
  const deadline = performance.now() + ((2 * bodies * perBody) / 250 + 120) * 1000;
  let drainedInS: number | undefined;
  let lastNote = 0;
  while (performance.now() < deadline) {
    await sleep(500);
    const b = await backlogOf(app);
    const left = b ? (b.received ?? 0) * perBody + b.inbox + b.outbox : Number.NaN;
    if (performance.now() - lastNote > 10_000) {
      lastNote = performance.now();
      note(`  ${int(left)} left (notifications × ${perBody} + events + replies), RSS peak so far ${watch.peakMb().toFixed(0)} MB`);
    }
    if (left === 0) {
      drainedInS = (performance.now() - started) / 1000;
      break;
    }
  }
  await takeArrivals(mockPort);
  const peakMb = watch.peakMb();
  watch.stop();
  return { events: bodies * perBody, postedInS, drainedInS, peakMb, endMb: treeMemory(app.child.pid)?.rssMb };
}

export async function runLatency(argv: string[]): Promise<number> {
  const o = options(argv);
  if (o === 'help') {
    out(USAGE);
    return 0;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'shopbot-latency-'));
  process.once('exit', () => {
    if (!o.keep) rmSync(tmp, { recursive: true, force: true });
  });
  let pgDb: BenchDatabase | undefined;
  const stops: Child[] = [];
  try {
    pgDb = o.db === 'postgres' ? await createBenchDatabase(o.pgUrl, `shopbot_bench_latency_${randomBytes(4).toString('hex')}`) : undefined;
    const databaseUrl = pgDb ? pgDb.url : `sqlite:${join(tmp, 'latency.db')}`;
    const mockPort = await freePort();
    const mock = spawnNode({ name: 'mock Graph API', script: 'scripts/bench/mock-graph.ts', env: { PORT: String(mockPort), MOCK_LATENCY_MS: '0' } });
    stops.push(mock);
    await waitForReady(mock);
    const ideal = await startIdeal(mockPort);
    stops.push(ideal.child);
    const app = await startApp(o, mockPort, databaseUrl);
    stops.push(app.child);
    await sleep(o.idle * 1000);
    const idle = treeMemory(app.child.pid);
    note(`app idle ${o.idle} s after start: RSS ${idle?.rssMb.toFixed(0) ?? '?'} MB in ${idle?.processes.length ?? '?'} process(es)`);

    const measurements: Measurement[] = [];
    const loadWatch = watchTree(app.child.pid, 100);
    for (const rate of o.rates) {
      note(`\n== ${rate} events/s: warm-up ${o.warmup} s, ${o.duration} s measured, per target ==`);
      measurements.push(await measure(o, ideal, rate, mock, mockPort));
      measurements.push(await measure(o, app, rate, mock, mockPort));
    }
    const peakLoadMb = loadWatch.peakMb();
    const processes = loadWatch.processes();
    loadWatch.stop();
    const backlog = o.backlog > 0 ? await drainBacklog(o, app, mockPort) : undefined;
    const memory: Memory = { idle, peakLoadMb, backlog, processes };
    if (app.child.hasExited()) throw new BenchError(`the app exited during the run (${await app.child.exited}); its output:\n${app.child.output().slice(-4000)}`);
    const errors = app.child.logLevels.error ?? 0;
    printReport(o, measurements, memory, { warn: app.child.logLevels.warn ?? 0, error: errors, messages: app.child.logMessages, samples: app.child.errorSamples });
    if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, measurements, memory }, null, 2));
    return 0;
  } finally {
    for (const child of stops.reverse()) await stopChild(child, 15_000);
    await pgDb?.drop().catch((err: unknown) => note(`could not drop ${pgDb?.name}: ${err instanceof Error ? err.message : String(err)}`));
    if (o.keep) note(`kept ${tmp}`);
  }
}

/** p50 ≤ 2× and p99 ≤ 3× the ideal bot's on SQLite; p99 ≤ 5× on PostgreSQL (issue #15). */
function limitsFor(db: Options['db']): { p50: number | undefined; p99: number } {
  return db === 'sqlite' ? { p50: 2, p99: 3 } : { p50: undefined, p99: 5 };
}

function printReport(o: Options, ms: Measurement[], memory: Memory, log: { warn: number; error: number; messages: Record<string, number>; samples: Record<string, string> }): void {
  out(`# Reply latency — ${new Date().toISOString()}`);
  out(`node ${process.version}, ${cpus().length} CPUs; first-contact text messages, one per POST, open loop; ${o.duration} s per rate and target (+${o.warmup} s warm-up); the app on ${o.db}`);
  out();
  out('## Latency: start of the POST → the first Send API call with a message for that sender, at the mock Graph API');
  out();
  out(
    table(
      ['rate/s', 'target', 'events', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'missing', 'non-200', '200 p50/p99 ms', 'gen late max', 'CPU other'],
      ms.map((m) => [
        m.rate,
        m.target === 'ideal' ? 'ideal bot' : `app (${o.db})`,
        int(m.stats.events),
        msText(m.stats.p50),
        msText(m.stats.p90),
        msText(m.stats.p99),
        msText(m.stats.max),
        m.stats.missing,
        m.non200,
        `${msText(m.answerP50)}/${msText(m.answerP99)}`,
        msText(m.lateMaxMs),
        m.cpuOther?.toFixed(2) ?? '?',
      ]),
      2,
    ),
  );
  out('"missing": no reply within the settle time, counted as infinitely late. "CPU other": cores busy elsewhere on the machine during the load.');
  out();
  const limit = limitsFor(o.db);
  const checks: [string, string, boolean][] = [];
  out('## The app against the ideal bot');
  out();
  const rows: string[][] = [];
  for (const rate of o.rates) {
    const ideal = ms.find((m) => m.rate === rate && m.target === 'ideal');
    const app = ms.find((m) => m.rate === rate && m.target === 'app');
    if (!ideal || !app) continue;
    const r = (k: 'p50' | 'p90' | 'p99' | 'max') => app.stats[k] / ideal.stats[k];
    rows.push([String(rate), ratioText(r('p50')), ratioText(r('p90')), ratioText(r('p99')), ratioText(r('max'))]);
    if (limit.p50 !== undefined) checks.push([`${rate}/s: p50 ≤ ${limit.p50}× the ideal bot's`, `${ratioText(r('p50'))} (${msText(app.stats.p50)} vs ${msText(ideal.stats.p50)} ms)`, r('p50') <= limit.p50]);
    checks.push([`${rate}/s: p99 ≤ ${limit.p99}× the ideal bot's`, `${ratioText(r('p99'))} (${msText(app.stats.p99)} vs ${msText(ideal.stats.p99)} ms)`, r('p99') <= limit.p99]);
  }
  out(table(['rate/s', 'p50 app/ideal', 'p90 app/ideal', 'p99 app/ideal', 'max app/ideal'], rows));
  out();
  out('## The app\'s memory (RSS of the process tree `npm start` starts)');
  out();
  const b = memory.backlog;
  out(
    table(
      ['processes', `idle (${o.idle} s after start)`, 'peak under the load', b ? `peak draining ${int(b.events)} events` : 'backlog', 'posted in', 'drained in', 'after the drain'],
      [
        [
          memory.processes.map((p) => `${p.name} ${p.rssMb.toFixed(0)} MB`).join(' + ') || '?',
          `${memory.idle?.rssMb.toFixed(0) ?? '?'} MB`,
          `${memory.peakLoadMb.toFixed(0)} MB`,
          b ? `${b.peakMb.toFixed(0)} MB` : 'skipped',
          b ? `${b.postedInS.toFixed(1)} s` : '',
          b ? (b.drainedInS === undefined ? 'NOT drained' : `${b.drainedInS.toFixed(0)} s`) : '',
          b?.endMb === undefined ? '' : `${b.endMb.toFixed(0)} MB`,
        ],
      ],
    ),
  );
  const helpers = memory.processes.filter((p) => p.name !== 'node');
  if (helpers.length > 0) {
    out(`Besides node: ${helpers.map((p) => p.name).join(', ')}: whatever the start left running counts as the app's memory.`);
  }
  if (o.db === 'sqlite' && memory.idle) checks.push(['idle RSS ≤ 120 MB (SQLite, threaded)', `${memory.idle.rssMb.toFixed(0)} MB`, memory.idle.rssMb <= 120]);
  const peak = Math.max(memory.peakLoadMb, b?.peakMb ?? 0);
  checks.push(['peak RSS ≤ 250 MB (load and backlog drain)', `${peak.toFixed(0)} MB`, peak <= 250]);
  checks.push(['one process', `${memory.processes.length}`, memory.processes.length === 1]);
  if (b) checks.push([`backlog of ${int(b.events)} drained`, b.drainedInS === undefined ? 'no' : `in ${b.drainedInS.toFixed(0)} s`, b.drainedInS !== undefined]);
  const top = Object.entries(log.messages).sort((x, y) => y[1] - x[1]).slice(0, 3);
  out(`app log: ${log.warn} warnings, ${log.error} errors${top.length ? `; most frequent: ${top.map(([m, n]) => `${int(n)}× "${m}"`).join(', ')}` : ''}`);
  for (const sample of Object.values(log.samples)) out(`  first: ${sample}`);
  out();
  out('## Against the targets');
  out();
  out(table(['target', 'measured', 'met'], checks.map(([what, got, ok]) => [what, got, ok ? 'yes' : 'NO'])));
  const noisy = ms.filter((m) => (m.cpuOther ?? 0) > 0.3);
  if (noisy.length > 0) out(`\nWARNING: other processes used more than 0.3 cores during ${noisy.length} of ${ms.length} measurements: latency is noisy; repeat on a quiet machine.`);
}
