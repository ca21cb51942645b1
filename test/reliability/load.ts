// A Meta-like delivery load for the spawned app: many users, each posting a quick reply then a
// series of distinct texts, from several concurrent posters that keep each user's events in order.
// A notification that does not get a 200 is posted again (as Meta redelivers) once the app is up.
import type { SpawnedApp } from '../support/spawn-app.ts';
import { deferred, orderStatusItem, pageNotification, psid, sleep, textItem, type MessagingItem } from './helpers.ts';

export interface Note {
  body: unknown;
  /** The app run (0, 1, ...) that answered it 200; undefined until then. */
  ackedBy: number | undefined;
  failures: number;
}

export interface Load {
  users: string[];
  /** Each user's texts in the order they were typed. */
  inputs: Map<string, string[]>;
  /** One list of notifications per poster, in posting order. */
  posters: Note[][];
  events: number;
}

/**
 * `users` users × `perUser` texts (plus one quick reply each). Poster p owns the users i with
 * i % posters === p and posts round by round; every third round is one batch holding the round's
 * events of all its users (listed in reverse), the other rounds one notification per event.
 */
export function buildLoad(users: number, perUser: number, posters: number): Load {
  const base = Date.now() - 10 * 60_000;
  const ids = Array.from({ length: users }, (_, i) => psid(i));
  const inputs = new Map(ids.map((id, i) => [id, Array.from({ length: perUser }, (_, n) => `u${i}-${n + 1}`)]));
  const itemOf = (i: number, round: number): MessagingItem => {
    const id = ids[i] as string;
    const timestamp = base + round * 1000 + i;
    return round === 0 ? orderStatusItem(id, timestamp) : textItem(id, (inputs.get(id) as string[])[round - 1] as string, timestamp);
  };
  const lists: Note[][] = Array.from({ length: posters }, () => []);
  for (let p = 0; p < posters; p += 1) {
    const mine = ids.map((_, i) => i).filter((i) => i % posters === p);
    for (let round = 0; round <= perUser; round += 1) {
      const items = mine.map((i) => itemOf(i, round));
      const bodies = round % 3 === 2 ? [pageNotification([...items].reverse())] : items.map((item) => pageNotification([item]));
      for (const body of bodies) lists[p]?.push({ body, ackedBy: undefined, failures: 0 });
    }
  }
  return { users: ids, inputs, posters: lists, events: users * (perUser + 1) };
}

/** Where posters deliver to: the app of the current run, or nothing while it is down. */
export interface Target {
  current(): SpawnedApp | undefined;
  run(): number;
  /** The running app; undefined once the target is closed (posters stop). */
  whenUp(): Promise<SpawnedApp | undefined>;
  down(): void;
  up(app: SpawnedApp): void;
  /** Ends all posting (test over, or failed). */
  close(): void;
}

export function createTarget(): Target {
  let app: SpawnedApp | undefined;
  let run = -1;
  let closed = false;
  let ready = deferred<SpawnedApp | undefined>();
  return {
    current: () => app,
    run: () => run,
    whenUp: () => (closed ? Promise.resolve(undefined) : app ? Promise.resolve(app) : ready.promise),
    down() {
      app = undefined;
      ready = deferred<SpawnedApp | undefined>();
    },
    up(next) {
      app = next;
      run += 1;
      ready.resolve(next);
    },
    close() {
      closed = true;
      app = undefined;
      ready.resolve(undefined);
    },
  };
}

export interface PostStats {
  posts: number;
  failed: number;
}

/** Posts one poster's notifications in order; each one again until it gets a 200. */
export async function runPoster(notes: readonly Note[], target: Target, paceMs: number, stats: PostStats): Promise<void> {
  for (const note of notes) {
    for (;;) {
      const app = await target.whenUp();
      if (!app) return;
      const run = target.run();
      const status = await app.post(note.body).catch(() => 0);
      stats.posts += 1;
      if (status === 200) {
        note.ackedBy = run;
        break;
      }
      note.failures += 1;
      stats.failed += 1;
      // Still the same app (an error answer, not a dead process): try again shortly, as Meta does.
      if (target.current() === app) await sleep(20);
    }
    if (paceMs > 0) await sleep(paceMs);
  }
}

/** Posts already-acknowledged notifications again (Meta redelivers some); returns how many. */
export async function redeliver(notes: readonly Note[], target: Target): Promise<number> {
  let count = 0;
  for (const note of notes) {
    const app = await target.whenUp();
    if (!app) break;
    if ((await app.post(note.body).catch(() => 0)) === 200) count += 1;
  }
  return count;
}
