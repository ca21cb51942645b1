// The checkpointer thread moves the WAL of connections that never checkpoint themselves into the
// database file, ends with a last checkpoint, and says so when it cannot open the file.
import { afterEach, describe, expect, it } from '@jest/globals';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../services/logger.ts';
import { startCheckpointer } from '../../services/state/sqlite-checkpointer.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import { tempDir } from '../reliability/helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((fn) => fn()));

const size = (path: string): number => statSync(path).size;

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A store that never checkpoints (as the threaded bot opens its two), holding ~2 MB of bodies in its WAL. */
async function storeWithFullWal(dir: string): Promise<{ path: string; close: () => Promise<void> }> {
  const path = join(dir, 'bot.db');
  const store = createSqliteStore(path, { checkpoint: false });
  for (let i = 0; i < 200; i++) await store.addNotification({ body: Buffer.alloc(10_000, i % 251) }, 1_000 + i);
  return { path, close: () => store.close() };
}

describe('the SQLite checkpointer', () => {
  it('moves the WAL into the database file on its own thread while the writer keeps its connection open', async () => {
    const dir = tempDir('checkpointer');
    cleanups.push(dir.remove);
    const store = await storeWithFullWal(dir.path);
    // Without a checkpoint the bodies are only in the WAL.
    expect(size(`${store.path}-wal`)).toBeGreaterThan(2_000_000);
    expect(size(store.path)).toBeLessThan(500_000);

    const lines: string[] = [];
    const checkpointer = startCheckpointer(store.path, { log: createLogger({ level: 'debug', write: (line) => lines.push(line) }), everyMs: 50 });
    await until(() => size(store.path) > 2_000_000);
    await checkpointer.close();
    expect(lines.join('')).not.toContain('checkpointer');
    await store.close();
  });

  it('runs a last checkpoint when it is closed, before its first tick', async () => {
    const dir = tempDir('checkpointer-close');
    cleanups.push(dir.remove);
    const store = await storeWithFullWal(dir.path);
    const checkpointer = startCheckpointer(store.path, { log: createLogger({ level: 'silent' }), everyMs: 60_000 });
    await checkpointer.close();
    expect(size(store.path)).toBeGreaterThan(2_000_000);
    await store.close();
  });

  it('logs why it failed, keeps trying, and still closes at once', async () => {
    const dir = tempDir('checkpointer-fails');
    cleanups.push(dir.remove);
    const lines: string[] = [];
    // A directory cannot be opened as a database.
    const checkpointer = startCheckpointer(dir.path, { log: createLogger({ level: 'debug', write: (line) => lines.push(line) }), everyMs: 50 });
    await until(() => lines.some((line) => line.includes('restarting it')));
    expect(lines.join('\n')).toContain('the SQLite checkpointer failed');
    const started = Date.now();
    await checkpointer.close();
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});
