// Picks the store from DATABASE_URL: `memory:`, `sqlite:PATH` (relative paths from the working
// directory) or `postgres://…` / `postgresql://…` (several instances on one database). The
// PostgreSQL store (and its driver) is loaded only for a PostgreSQL URL.
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createMemoryStore } from './memory-store.ts';
import { describeDatabase, isPostgresUrl } from './database-url.ts';
import { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import type { BotStore } from './store.ts';

export { isPostgresUrl } from './database-url.ts';

export interface OpenStoreOptions {
  /** PostgreSQL connections (DATABASE_POOL_SIZE for the worker, 2 for the webhook's thread). */
  poolSize: number;
  /** Shown in pg_stat_activity: which instance and thread a connection belongs to. */
  applicationName: string;
  log: Logger;
  /** For a SQLite file, e.g. `checkpoint: false` where a checkpointer of its own moves the WAL (the threaded bot). */
  sqlite?: SqliteStoreOptions;
  /** For PostgreSQL: the payload of the store's wake-up notifications (PostgresStoreOptions.wakeTag). */
  wakeTag?: string;
  /** For PostgreSQL: open every connection of the pool at start (PostgresStoreOptions.openAllConnections). */
  openAllConnections?: boolean;
}

/** The stores that open at once (memory, SQLite); a PostgreSQL URL needs `openStoreAsync`. */
export function openStore(databaseUrl: string, sqlite: SqliteStoreOptions = {}): BotStore {
  if (databaseUrl === 'memory:') return createMemoryStore();
  if (databaseUrl.startsWith('sqlite:')) return createSqliteStore(databaseUrl.slice('sqlite:'.length), sqlite);
  if (isPostgresUrl(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', `${describeDatabase(databaseUrl)} is opened asynchronously`, 'open it with openStoreAsync (it connects and applies the migrations first)');
  }
  throw new ConfigError('DATABASE_URL', 'is not a supported store', 'use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or memory:');
}

/** Any store; a PostgreSQL one resolves once it is connected and its schema is up to date. */
export async function openStoreAsync(databaseUrl: string, options: OpenStoreOptions): Promise<BotStore> {
  const { sqlite, ...postgres } = options;
  if (isPostgresUrl(databaseUrl)) return (await import('./postgres-store.ts')).createPostgresStore({ url: databaseUrl, ...postgres });
  return openStore(databaseUrl, sqlite);
}
