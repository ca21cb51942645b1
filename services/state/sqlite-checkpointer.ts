// Moves SQLite's write-ahead log into the database file on a thread of its own. SQLite's automatic
// checkpoint runs inside the commit that takes the log past 1,000 pages, on the thread that
// commits: on the bot worker it held up the reply being handled for 10–20 ms every hundred events
// or so, which was the whole tail of the reply latency (p99 20 ms with it, 8 ms without, in
// docs/benchmark.md "Reply latency"). Here a PASSIVE checkpoint runs every CHECKPOINT_EVERY_MS on
// its own connection: it never takes the write lock, so neither the webhook's commits nor the
// worker's wait for it, and the log stays bounded by what a second of traffic writes.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';

export const CHECKPOINT_EVERY_MS = 1000;
const RESTART_DELAY_MS = 1000;
/** How long close() waits for the last checkpoint before it ends the thread. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * The thread's whole program (plain CommonJS, so it needs no TypeScript loader and stays small):
 * a connection with a small cache, a PASSIVE checkpoint per tick, and a last one when told to stop.
 * A checkpoint that finds the log in use ends early and the next tick carries on.
 */
const PROGRAM = `const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('cache_size = -256');
const checkpoint = () => { db.pragma('wal_checkpoint(PASSIVE)'); };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });`;

export interface Checkpointer {
  /** Runs a last checkpoint and ends the thread. */
  close(): Promise<void>;
}

export interface CheckpointerOptions {
  log: Logger;
  everyMs?: number;
}

/** Starts checkpointing the database file at `path` (whose connections set `checkpoint: false`). */
export function startCheckpointer(path: string, { log, everyMs = CHECKPOINT_EVERY_MS }: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let closing = false;
  let alive = false;
  let worker = start();

  function start(): Worker {
    const w = new Worker(PROGRAM, { eval: true, workerData: { driver, path, everyMs }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    alive = true;
    w.on('error', (err) => log.error('the SQLite checkpointer failed', { err }));
    w.on('exit', () => {
      alive = false;
      if (closing) return;
      // Until it is back the log only grows; nothing is lost, and the next checkpoint catches up.
      log.error('the SQLite checkpointer stopped; restarting it', { restart_in_ms: RESTART_DELAY_MS });
      setTimeout(() => {
        if (!closing) worker = start();
      }, RESTART_DELAY_MS).unref();
    });
    // It must never keep the process alive on its own.
    w.unref();
    return w;
  }

  return {
    close() {
      closing = true;
      if (!alive) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('close');
      });
    },
  };
}
