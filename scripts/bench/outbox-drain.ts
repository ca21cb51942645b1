// node --import tsx scripts/bench/outbox-drain.ts [--replies 10000] [--limit-mb 400]
//
// Memory while a large outbox drains: the app (app.ts through tsx with a SQLite file, so the webhook
// and the bot worker run as two threads, as `npm start` does) answers users while the Graph API
// is down, so every reply waits in the outbox; then Graph comes back and the backlog drains at
// SEND_RATE_LIMIT. Samples the RSS of the app process (all threads) and its children through both
// phases and prints the peaks. With `--limit-mb`, exits 1 if a peak goes over it (a check for CI,
// or for a change to try).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMockGraph } from '../../test/support/mock-graph-server.ts';
import { spawnApp, type SpawnedApp } from '../../test/support/spawn-app.ts';
import { memOf } from './proc.ts';

const USAGE = `usage: node --import tsx scripts/bench/outbox-drain.ts [--replies N] [--batch N] [--send-rate N] [--log-level L] [--limit-mb MB]
  --replies N    replies queued while Graph is down, one per user (default 10000)
  --batch N      users per notification (default 100)
  --send-rate N  the app's SEND_RATE_LIMIT (default 300)
  --log-level L  the app's LOG_LEVEL (default info, as npm start runs it)
  --limit-mb MB  fail when the peak RSS goes over MB`;

const PAGE = '1234567890';

interface Options {
  replies: number;
  batch: number;
  sendRate: number;
  limitMb: number | undefined;
  logLevel: string;
}

function options(): Options {
  const { values } = parseArgs({ options: { replies: { type: 'string' }, batch: { type: 'string' }, 'send-rate': { type: 'string' }, 'limit-mb': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, fallback: number): number => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} ${raw}: expected a whole number ≥ 1\n${USAGE}`);
    return n;
  };
  return {
    replies: num('replies', values.replies, 10_000),
    batch: num('batch', values.batch, 100),
    sendRate: num('send-rate', values['send-rate'], 300),
    limitMb: values['limit-mb'] === undefined ? undefined : num('limit-mb', values['limit-mb'], 0),
    logLevel: values['log-level'] ?? 'info',
  };
}

/** The process and its descendants (the esbuild service tsx starts for each thread), from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const all: number[] = [];
  for (let todo = [root]; todo.length > 0; ) {
    const pid = todo.pop() as number;
    all.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return all;
}

/** RSS of the process and its descendants, MB (the process alone where there is no /proc). */
function treeRssMb(root: number): number | undefined {
  let pids = [root];
  try {
    pids = processTree(root);
  } catch {
    // no /proc: the process alone
  }
  const samples = pids.map((pid) => memOf(pid)?.rssMb ?? 0);
  return samples[0] === 0 ? undefined : samples.reduce((a, b) => a + b, 0);
}

const psid = (i: number): string => `2500000${String(i).padStart(10, '0')}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One notification with `count` users each tapping "Order status" (the bot answers with a typing indicator and a question). */
function notification(first: number, count: number): unknown {
  const now = Date.now();
  const messaging = Array.from({ length: count }, (_, k) => {
    const user = psid(first + k);
    return { sender: { id: user }, recipient: { id: PAGE }, timestamp: now - 60_000 + k, message: { mid: `m_${user}_${now}`, text: 'Order status', quick_reply: { payload: 'ORDER_STATUS' } } };
  });
  return { object: 'page', entry: [{ id: PAGE, time: now, messaging }] };
}

async function until(app: SpawnedApp, what: string, check: (backlog: { received: number; inbox: number; outbox: number }) => boolean, timeoutMs: number, sample: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    sample();
    const { body } = await app.health();
    if (body.backlog && check(body.backlog)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(body)}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const o = options();
  // Each user taps "Order status": the bot answers with a typing indicator and a question. With
  // Graph down the typing indicator is skipped (worth nothing late), the question waits.
  const users = o.replies;
  const dir = mkdtempSync(join(tmpdir(), 'outbox-drain-'));
  const mock = await startMockGraph({ fault: () => ({ kind: 'status', status: 503 }) });
  let app: SpawnedApp | undefined;
  try {
    app = await spawnApp({ graphUrl: mock.url, databasePath: join(dir, 'bot.db'), cwd: dir, env: { SEND_RATE_LIMIT: String(o.sendRate), LOG_LEVEL: o.logLevel } });
    const running = app;
    let peak = 0;
    let last = 0;
    const sample = (): void => {
      const rss = treeRssMb(running.pid);
      if (rss === undefined) return;
      last = rss;
      peak = Math.max(peak, rss);
    };
    const sampler = setInterval(sample, 100);
    process.stdout.write(`queueing ${users} replies (one per user) while Graph answers 503...\n`);
    for (let first = 0; first < users; first += o.batch) {
      const status = await running.post(notification(first, Math.min(o.batch, users - first)));
      if (status !== 200) throw new Error(`webhook answered ${status}`);
    }
    await until(running, 'every event handled', (b) => b.received === 0 && b.inbox === 0 && b.outbox >= users, 600_000, sample);
    const queuedPeak = peak;
    const queuedLast = last;
    process.stdout.write(`queued: RSS ${queuedLast.toFixed(0)} MB (peak so far ${queuedPeak.toFixed(0)} MB)\ngraph back: draining...\n`);
    peak = 0;
    const started = Date.now();
    mock.setFault(undefined);
    await until(running, 'the outbox to drain', (b) => b.outbox === 0, 900_000, sample);
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const sends = mock.sends().filter((c) => c.status === 200).length;
    process.stdout.write(`drained: ${sends} sends in ${seconds.toFixed(1)} s; RSS peak while draining ${peak.toFixed(0)} MB, at the end ${last.toFixed(0)} MB\n`);
    const overall = Math.max(peak, queuedPeak);
    if (o.limitMb !== undefined && overall > o.limitMb) {
      process.stdout.write(`FAIL: peak RSS ${overall.toFixed(0)} MB is over the limit of ${o.limitMb} MB\n`);
      process.exitCode = 1;
    }
  } finally {
    if (app) await app.kill('SIGTERM');
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
