// Picks the store from DATABASE_URL: `memory:` or `sqlite:PATH` (relative paths from the working directory).
import { ConfigError } from '../errors.ts';
import { createMemoryStore } from './memory-store.ts';
import { createSqliteStore } from './sqlite-store.ts';
import type { BotStore } from './store.ts';

export function openStore(databaseUrl: string): BotStore {
  if (databaseUrl === 'memory:') return createMemoryStore();
  if (databaseUrl.startsWith('sqlite:')) return createSqliteStore(databaseUrl.slice('sqlite:'.length));
  throw new ConfigError('DATABASE_URL', `"${databaseUrl}" is not a supported store`, 'use sqlite:PATH or memory:');
}
