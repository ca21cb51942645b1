// Several real app processes on one database, the way the README runs them: `app.ts` started the
// same way for each (same environment, its own PORT), DATABASE_URL pointing at one PostgreSQL
// database (or, to check this harness itself, one instance on a SQLite file), GRAPH_API_URL at one
// mock Graph server. Each process reaches the mock through its own `/via/NAME` prefix (`i1.0`: slot
// 1, first process; `i1.1` after a restart), so every recorded call says which process made it.
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import { startMockGraph, type GraphCall, type MockGraph } from '../support/mock-graph-server.ts';
import { postgresRequired, postgresServer, skipNotice, failureMessage, suiteMode, withTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { noteOnce } from '../support/run-notices.ts';
import { spawnApp, type Exit, type SpawnedApp } from '../support/spawn-app.ts';
import { sleep, tempDir } from '../reliability/helpers.ts';
import { createRoundRobinTarget, type RoundRobinTarget } from '../reliability/load.ts';

export type Backend = 'sqlite' | 'postgres';

/** One way to run the scenarios: three instances on PostgreSQL, or one on SQLite (the harness check). */
export interface Setup {
  backend: Backend;
  instances: number;
  title: string;
}

export const SETUPS: readonly Setup[] = [
  { backend: 'sqlite', instances: 1, title: '1 instance, SQLite' },
  { backend: 'postgres', instances: 3, title: '3 instances, PostgreSQL' },
];

/** app.ts gives in-flight work this long after SIGTERM (its close() default). */
export const SHUTDOWN_GRACE_MS = 10_000;
/** The outbox sender's concurrency per instance: at most this many sends are in flight at a kill. */
export const SENDS_IN_FLIGHT_BOUND = 64;
/** The lease of a claimed lane (issue #10 design): a dead instance's lanes are free this long after its last renewal. */
export const LEASE_MS = 10_000;
/** The bound: from a SIGKILL until the others have taken over the dead instance's claims. */
export const CLAIMS_LOST_WITHIN_MS = 15_000;

export interface ClusterOptions {
  /** Extra environment for every instance (the same for all), e.g. SEND_RATE_LIMIT. */
  env?: Record<string, string>;
  latencyMs?: (call: GraphCall) => number;
}

export interface KilledInstance extends Exit {
  slot: number;
  /** The process's name in the calls' `via`. */
  name: string;
  /** performance.now() when the signal was sent, and when the exit was seen. */
  signalledAt: number;
  exitedAt: number;
}

export interface Cluster {
  setup: Setup;
  mock: MockGraph;
  target: RoundRobinTarget;
  /** The name in the calls' `via` of the slot's current (or last) process. */
  name(slot: number): string;
  /** Starts the slot's instance (again) on the shared database and puts it in rotation. */
  start(slot: number): Promise<SpawnedApp>;
  /**
   * Signals the slot's instance and waits for the exit. A SIGTERM (a rolling restart) takes it out
   * of rotation first, as a load balancer would; after a SIGKILL it stays in rotation a little
   * longer (until health checks would notice), so posts in flight or just sent fail and go elsewhere.
   */
  stop(slot: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<KilledInstance>;
  /** The instances that are up. */
  live(): SpawnedApp[];
  /** Every instance's output (log lines at warn and above), for a failure message. */
  output(): string;
}

const SPAWN_TIMEOUT_MS = 45_000;
const KILLED_IN_ROTATION_MS = 150;

/**
 * Registers a cluster for the enclosing describe: the mock, the database and `instances` running
 * instances are ready in beforeAll-time calls to `create()`; everything is torn down after.
 */
export function useCluster(setup: Setup): { create: (options?: ClusterOptions) => Promise<Cluster> } {
  const teardown: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const step of teardown.splice(0).reverse()) await step();
  }, 60_000);

  const create = async (options: ClusterOptions = {}): Promise<Cluster> => {
    const dir = tempDir(`multi-${setup.backend}`);
    teardown.push(dir.remove);
    let db: TestDatabase | undefined;
    if (setup.backend === 'postgres') {
      db = await withTestDatabase();
      const dropping = db;
      teardown.push(() => dropping.drop());
    }
    const mock = await startMockGraph(options.latencyMs ? { latencyMs: options.latencyMs } : {});
    teardown.push(() => mock.close());
    const target = createRoundRobinTarget(setup.instances);
    const slots: (SpawnedApp | undefined)[] = Array.from({ length: setup.instances }, () => undefined);
    const generations: number[] = Array.from({ length: setup.instances }, () => -1);
    const all: SpawnedApp[] = [];
    teardown.push(async () => {
      target.close();
      for (const app of all) await app.kill('SIGKILL');
    });
    const databaseUrl = db?.url;
    const cluster: Cluster = {
      setup,
      mock,
      target,
      name: (slot) => `i${slot}.${generations[slot] ?? -1}`,
      async start(slot) {
        generations[slot] = (generations[slot] ?? -1) + 1;
        const common = { graphUrl: mock.urlFor(cluster.name(slot)), cwd: dir.path, env: { ...options.env }, startTimeoutMs: SPAWN_TIMEOUT_MS };
        const app = await spawnApp(databaseUrl ? { ...common, databaseUrl } : { ...common, databasePath: join(dir.path, 'bot.db') });
        all.push(app);
        slots[slot] = app;
        target.up(slot, app);
        return app;
      },
      async stop(slot, signal) {
        const app = slots[slot];
        if (!app) throw new Error(`instance ${slot} is not running`);
        if (signal === 'SIGTERM') target.down(slot);
        slots[slot] = undefined;
        const signalledAt = performance.now();
        const exit = await app.kill(signal, SHUTDOWN_GRACE_MS + 10_000);
        if (signal === 'SIGKILL') {
          await sleep(KILLED_IN_ROTATION_MS);
          target.down(slot);
        }
        return { ...exit, slot, name: cluster.name(slot), signalledAt, exitedAt: signalledAt + exit.ms };
      },
      live: () => slots.filter((app): app is SpawnedApp => app !== undefined),
      output: () => all.map((app, i) => `--- instance process ${i} (${app.url}) ---\n${app.output().slice(-4000)}`).join('\n'),
    };
    await Promise.all(slots.map((_, slot) => cluster.start(slot)));
    return cluster;
  };
  return { create };
}

/**
 * `describe` for one setup: SQLite always runs; PostgreSQL runs when the server answers, is
 * skipped with a notice otherwise, and fails under REQUIRE_POSTGRES=1 when the server is
 * unreachable. An app that does not start on PostgreSQL fails the suite's own tests.
 */
export function describeSetup(setup: Setup, name: string, fn: () => void): void {
  const title = `${name} (${setup.title})`;
  if (setup.backend === 'sqlite') return describe(title, fn);
  const mode = suiteMode(postgresServer, postgresRequired());
  if (mode === 'skip') {
    // As describePostgres: no server and none required, skipped with a notice; CI requires one.
    noteOnce(skipNotice(postgresServer));
    return describe.skip(title, fn);
  }
  if (mode === 'fail') {
    return describe(title, () => {
      it('needs a reachable PostgreSQL server', () => {
        throw new Error(failureMessage(postgresServer));
      });
    });
  }
  return describe(title, fn);
}
