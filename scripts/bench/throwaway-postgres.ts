// A throwaway PostgreSQL database for one bench run: created on the server at `serverUrl`, dropped
// at the end. Databases a killed run left behind (named shopbot_bench_<base-36 time>_…) are dropped
// by a later run once they are six hours old.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { BenchError } from './children.ts';

const PREFIX = 'shopbot_bench_';
const STALE_MS = 6 * 60 * 60 * 1000;

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new BenchError(`--db postgres: cannot connect to ${displayUrl(serverUrl)} (${err instanceof Error ? err.message : String(err)}); start PostgreSQL or pass --pg-url`);
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createThrowawayDatabase(serverUrl: string): Promise<ThrowawayDatabase> {
  const name = `${PREFIX}${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin(serverUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
    for (const { datname } of rows) {
      const born = parseInt(datname.slice(PREFIX.length).split('_')[0] ?? '', 36);
      if (Number.isFinite(born) && Date.now() - born > STALE_MS) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${name}"`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a valid URL)';
  }
}
