// Summarises a V8 CPU profile (`node --cpu-prof`, written by `npm run bench -- --cpu-prof DIR`):
// where the time went by area (signature, JSON, normalise, SQLite, express, logging, ...), the top
// functions by self time, and the app's own functions by inclusive time.
//   npx tsx scripts/bench/profile-summary.ts FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './children.ts';
import { table } from './report.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Areas, tried on each frame from the sampled leaf towards the root; the first match wins. */
const AREAS: [string, (f: CallFrame) => boolean][] = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['signature (HMAC)', (f) => f.url.includes('/services/signature.ts')],
  ['event keys (digests)', (f) => f.url.includes('/services/inbox/event-key.ts')],
  ['normalise', (f) => f.url.includes('/services/events/')],
  ['SQLite store', (f) => f.url.includes('/services/state/') || f.url.includes('better-sqlite3')],
  ['logging', (f) => f.url.includes('/services/logger.ts')],
  ['webhook route (JSON.parse, …)', (f) => f.url.includes('/routes/webhook.ts')],
  ['inbox and its lanes', (f) => f.url.includes('/services/inbox/')],
  ['handling (handleEvent, dispatch, conversation, i18n)', (f) => /\/services\/(handling\/|profile-cache|conversation\/|i18n|shop\/|payload)/.test(f.url) || f.url.includes('i18next')],
  ['outbox + Graph client (axios)', (f) => f.url.includes('/services/outbox/') || f.url.includes('/services/graph/') || f.url.includes('axios') || f.url.includes('follow-redirects') || f.url.includes('form-data')],
  ['express raw body parser', (f) => /node_modules\/(body-parser|raw-body|iconv-lite|type-is|content-type|bytes|media-typer)\//.test(f.url)],
  ['express + router', (f) => /node_modules\/(express|router|finalhandler|send|etag|fresh|depd|on-finished|mime-types|accepts|vary|statuses|qs|parseurl|encodeurl|path-to-regexp)\//.test(f.url)],
  ['node http', (f) => /node:_?http|node:internal\/http|_http_/.test(f.url)],
  ['node net + streams', (f) => /node:(net|stream|internal\/(streams|stream_base|net))/.test(f.url)],
  ['node internals (timers, promises, …)', (f) => f.url.startsWith('node:')],
  ['V8 / native (program)', (f) => f.functionName === '(program)'],
];

export interface SummaryOptions {
  top: number;
}

export function summarizeProfile(file: string, { top }: SummaryOptions): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stackOf = (id: number): ProfileNode[] => {
    const stack: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) stack.push(node);
    }
    return stack; // leaf first
  };

  const areaTime = new Map<string, number>();
  const selfTime = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const stacks = new Map<number, ProfileNode[]>();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000; // µs → ms
    let stack = stacks.get(id);
    if (!stack) {
      stack = stackOf(id);
      stacks.set(id, stack);
    }
    const leaf = stack[0];
    if (!leaf) return;
    total += dt;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const area = areaOf(stack);
    areaTime.set(area, (areaTime.get(area) ?? 0) + dt);
    const self = frameKey(leaf.callFrame);
    selfTime.set(self, (selfTime.get(self) ?? 0) + dt);
    const seen = new Set<string>();
    for (const node of stack) {
      if (!isProjectCode(node.callFrame.url)) continue;
      const key = frameKey(node.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });
  const busy = total - idle;
  const share = (t: number) => `${((t / busy) * 100).toFixed(1)}%`;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  const lines = [
    `sampled ${(total / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (${((busy / Math.max(total, 1)) * 100).toFixed(0)}% of the thread); shares below are of busy time`,
    '',
    table(['area (leaf frame, or nearest caller that has one)', 'ms', 'share'], sorted(areaTime).map(([k, t]) => [k, Math.round(t), share(t)])),
    '',
    table(['function (self time)', 'ms', 'share'], sorted(selfTime).slice(0, top).map(([k, t]) => [k, Math.round(t), share(t)])),
    '',
    table(['project function (inclusive time)', 'ms', 'share'], sorted(inclusive).slice(0, top).map(([k, t]) => [k, Math.round(t), share(t)])),
  ];
  return lines.join('\n');
}

function areaOf(stack: ProfileNode[]): string {
  for (const node of stack) {
    for (const [area, match] of AREAS) if (match(node.callFrame)) return area;
  }
  return 'other';
}

function isProjectCode(url: string): boolean {
  return url.startsWith('file://') && !url.includes('/node_modules/');
}

function frameKey(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const where = f.url.startsWith('file://') ? shortPath(f.url) : f.url;
  return `${name} ${where}:${f.lineNumber + 1}`;
}

function shortPath(url: string): string {
  const path = fileURLToPath(url);
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return path.slice(inModules + '/node_modules/'.length);
  // The bench's tsc build for profiling lives in a temporary directory: show paths from the checkout.
  const inBuild = /\/shopbot-bench-[^/]+\/build\//.exec(path);
  if (inBuild) return path.slice(inBuild.index + inBuild[0].length);
  return path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length) : path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: npx tsx scripts/bench/profile-summary.ts FILE.cpuprofile [--top 25]\n');
    process.exit(2);
  }
  for (const file of positionals) {
    process.stdout.write(`## ${file}\n\n${summarizeProfile(file, { top: Number(values.top ?? 25) })}\n\n`);
  }
}
