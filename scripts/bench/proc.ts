// Memory and CPU of a child process, from /proc (Linux); `ps` where there is no /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MemSample {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB; undefined without /proc. */
  hwmMb: number | undefined;
}

const KB_PER_MB = 1024;

export function memOf(pid: number): MemSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m?.[1] ? Number(m[1]) / KB_PER_MB : undefined;
    };
    const rss = field('VmRSS');
    return rss === undefined ? undefined : { rssMb: rss, hwmMb: field('VmHWM') };
  } catch {
    try {
      const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
      return Number.isFinite(kb) && kb > 0 ? { rssMb: kb / KB_PER_MB, hwmMb: undefined } : undefined;
    } catch {
      return undefined;
    }
  }
}

/** CPU seconds (user + system) the process has used so far; undefined without /proc. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** Samples a process's memory every `everyMs` until stopped; keeps the peak and the last value. */
export function watchMemory(pid: number, everyMs = 200): { peakMb(): number; lastMb(): number; hwmMb(): number | undefined; stop(): void } {
  let peak = 0;
  let last = 0;
  let hwm: number | undefined;
  const sample = () => {
    const m = memOf(pid);
    if (!m) return;
    last = m.rssMb;
    peak = Math.max(peak, m.rssMb);
    hwm = m.hwmMb ?? hwm;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peakMb: () => (sample(), Math.max(peak, hwm ?? 0)),
    lastMb: () => (sample(), last),
    hwmMb: () => (sample(), hwm),
    stop: () => clearInterval(timer),
  };
}

/** Busy CPU seconds of the whole machine (all cores) so far; undefined without /proc. */
export function machineCpuSeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / 100;
  } catch {
    return undefined;
  }
}

export interface CpuWindow {
  /** Cores busy on average since the window opened: the server, this process (the load generator), and everything else. */
  close(): { server: number | undefined; loadGen: number; others: number | undefined };
}

/**
 * Opens a window over the CPU used by `serverPids` (summed), this process, and the rest of the
 * machine, less `helperPids` (the bench's own mock, counted nowhere).
 */
export function openCpuWindow(serverPids: number[], helperPids: number[] = []): CpuWindow {
  const started = performance.now();
  const server0 = serverPids.map(cpuSecondsOf);
  const helpers = () => helperPids.map(cpuSecondsOf).reduce<number>((sum, v) => sum + (v ?? 0), 0);
  const helpers0 = helpers();
  const self0 = process.cpuUsage();
  const machine0 = machineCpuSeconds();
  return {
    close() {
      const seconds = (performance.now() - started) / 1000;
      const serverNow = serverPids.map(cpuSecondsOf);
      const server = serverNow.every((v, i) => v !== undefined && server0[i] !== undefined)
        ? serverNow.reduce<number>((sum, v, i) => sum + ((v as number) - (server0[i] as number)), 0) / seconds
        : undefined;
      const self = process.cpuUsage(self0);
      const loadGen = (self.user + self.system) / 1e6 / seconds;
      const machine = machineCpuSeconds();
      const helper = (helpers() - helpers0) / seconds;
      const others = machine === undefined || machine0 === undefined || server === undefined ? undefined : Math.max(0, (machine - machine0) / seconds - server - loadGen - helper);
      return { server, loadGen, others };
    },
  };
}
