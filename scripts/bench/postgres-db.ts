// A throwaway PostgreSQL database for one bench run (`--db postgres`): created on the server at
// --postgres-url, dropped at the end. It also counts what the app instances stored there and finds
// the server processes that serve them, so their CPU is counted with the app's.
import pg from 'pg';
import { describeDatabase } from '../../services/state/database-url.ts';
import { BenchError } from './children.ts';

export interface BenchDatabase {
  /** The DATABASE_URL the app instances get. */
  url: string;
  name: string;
  /** Events stored: dedup keys plus the events of notifications not yet expanded (`perBody` each). */
  countStored(perBody: number): Promise<number>;
  /** Process ids of the server backends connected to this database (the instances' pools). */
  backendPids(): Promise<number[]>;
  /** Database size, MB. */
  sizeMb(): Promise<number>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new BenchError(`not a database name: ${name}`);
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'shopbot bench' });
  try {
    await admin.connect();
  } catch (err) {
    throw new BenchError(`--db postgres: cannot connect to ${describeDatabase(adminUrl)} (${err instanceof Error ? err.message : String(err)}). Start PostgreSQL or pass --postgres-url.`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  const reader = new pg.Client({ connectionString: url, application_name: 'shopbot bench reader' });
  await reader.connect();
  const count = async (table: string): Promise<number> => {
    const exists = await reader.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [table]);
    if (!exists.rows[0]?.t) return 0;
    return Number((await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
  };
  return {
    url,
    name,
    async countStored(perBody) {
      return (await count('dedup')) + (await count('notifications')) * perBody;
    },
    async backendPids() {
      const rows = await reader.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      return rows.rows.map((r) => r.pid);
    },
    async sizeMb() {
      const rows = await reader.query<{ bytes: string }>('SELECT pg_database_size($1) AS bytes', [name]);
      return Number(rows.rows[0]?.bytes ?? 0) / 1024 / 1024;
    },
    async drop() {
      await reader.end().catch(() => undefined);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]).catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch((err: unknown) => process.stderr.write(`could not drop the bench database ${name}: ${String(err)}\n`));
      await admin.end().catch(() => undefined);
    },
  };
}

/** The same server and credentials, another database. */
function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
