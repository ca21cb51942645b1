// The memory of a process and everything it started (Linux /proc): `npm start` should be one
// process, but whatever it spawns (a tsx CLI, an esbuild service) is the app's memory too.
import { readdirSync, readFileSync } from 'node:fs';
import { memOf } from './proc.ts';

export interface TreeSample {
  /** RSS of the process and all its descendants, MB. */
  rssMb: number;
  /** The processes counted: pid and command name. */
  processes: { pid: number; name: string; rssMb: number }[];
}

/** Direct children of `pid`, from every thread's `children` list. */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) kids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone, or no /proc
  }
  return kids;
}

function nameOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The tree's RSS now; undefined once the root is gone. */
export function treeMemory(root: number): TreeSample | undefined {
  const processes: TreeSample['processes'] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const mem = memOf(pid);
    if (!mem) continue;
    processes.push({ pid, name: nameOf(pid), rssMb: mem.rssMb });
    queue.push(...childrenOf(pid));
  }
  if (processes.length === 0) return undefined;
  return { rssMb: processes.reduce((sum, p) => sum + p.rssMb, 0), processes };
}

/** Samples the tree every `everyMs` until stopped, keeping the peak and the most processes seen. */
export function watchTree(root: number, everyMs = 100): { peakMb(): number; processes(): TreeSample['processes']; stop(): void } {
  let peak = 0;
  let widest: TreeSample['processes'] = [];
  const sample = (): void => {
    const s = treeMemory(root);
    if (!s) return;
    peak = Math.max(peak, s.rssMb);
    if (s.processes.length > widest.length) widest = s.processes;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peakMb: () => (sample(), peak),
    processes: () => widest,
    stop: () => clearInterval(timer),
  };
}
