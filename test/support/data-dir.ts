// A throwaway copy of data/ with some files replaced, to load the shop's data the way start-up
// does and see what a broken file reports.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));

/** Runs `use` with a copy of data/ (as a path ending in /) where `files` replace the originals. */
export function withDataDir<T>(files: Record<string, unknown>, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'shop-data-'));
  try {
    for (const name of ['shop.json', 'products.json', 'orders.json', 'comment-replies.json']) cpSync(join(DATA, name), join(dir, name));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return use(`${dir}/`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
