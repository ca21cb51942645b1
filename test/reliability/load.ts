// A Meta-like delivery load for spawned apps: many users, each posting a quick reply then a
// series of distinct texts, from several concurrent posters that keep each user's events in order.
// A notification that does not get a 200 is posted again (as Meta redelivers) once an app is up:
// the same one after a restart, or another instance behind a round-robin target.
import type { GraphCall } from '../support/mock-graph-server.ts';
import type { SpawnedApp } from '../support/spawn-app.ts';
import { ASK_ORDER, deferred, expectedStream, invalidOrder, orderStatusItem, pageNotification, psid, sleep, streamsByUser, textItem, type MessagingItem } from './helpers.ts';

export interface Note {
  body: unknown;
  /** The app run (0, 1, ...) that answered it 200; undefined until then. */
  ackedBy: number | undefined;
  /** performance.now() when it got its 200. */
  ackedAt: number | undefined;
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
      for (const body of bodies) lists[p]?.push({ body, ackedBy: undefined, ackedAt: undefined, failures: 0 });
    }
  }
  return { users: ids, inputs, posters: lists, events: users * (perUser + 1) };
}

/** Where a poster delivers its next notification. */
export interface PostTarget {
  /** An app taking posts and the number of its run; undefined once the target is closed. */
  next(): Promise<{ app: SpawnedApp; run: number } | undefined>;
  /** False once `app` was marked down: a failed post then goes to another app (or waits for one). */
  isUp(app: SpawnedApp): boolean;
}

/** Where posters deliver to: the app of the current run, or nothing while it is down. */
export interface Target extends PostTarget {
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
  const whenUp = (): Promise<SpawnedApp | undefined> => (closed ? Promise.resolve(undefined) : app ? Promise.resolve(app) : ready.promise);
  return {
    next: () => whenUp().then((up) => (up ? { app: up, run } : undefined)),
    isUp: (candidate) => candidate === app,
    current: () => app,
    run: () => run,
    whenUp,
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
export async function runPoster(notes: readonly Note[], target: PostTarget, paceMs: number, stats: PostStats): Promise<void> {
  for (const note of notes) {
    for (;;) {
      const next = await target.next();
      if (!next) return;
      const { app, run } = next;
      const status = await app.post(note.body).catch(() => 0);
      stats.posts += 1;
      if (status === 200) {
        note.ackedBy = run;
        note.ackedAt = performance.now();
        break;
      }
      note.failures += 1;
      stats.failed += 1;
      // Still the same app (an error answer, not a dead process): try again shortly, as Meta does.
      if (target.isUp(app)) await sleep(20);
    }
    if (paceMs > 0) await sleep(paceMs);
  }
}

/** Posts already-acknowledged notifications again (Meta redelivers some); returns how many. */
export async function redeliver(notes: readonly Note[], target: PostTarget): Promise<number> {
  let count = 0;
  for (const note of notes) {
    const next = await target.next();
    if (!next) break;
    if ((await next.app.post(note.body).catch(() => 0)) === 200) count += 1;
  }
  return count;
}

/**
 * Several app instances behind one address, as behind a load balancer: each post goes to the next
 * instance that is up, in turn. A slot is one instance position (restarting it gives a new run).
 */
export interface RoundRobinTarget extends PostTarget {
  /** Marks the slot's app up; returns the number of its run (unique across slots and restarts). */
  up(slot: number, app: SpawnedApp): number;
  /** Takes the slot out of rotation (before it is stopped, as a load balancer would). */
  down(slot: number): void;
  app(slot: number): SpawnedApp | undefined;
  /** The slot a run belonged to. */
  slotOf(run: number): number | undefined;
  close(): void;
}

export function createRoundRobinTarget(slots: number): RoundRobinTarget {
  const apps: ({ app: SpawnedApp; run: number } | undefined)[] = Array.from({ length: slots }, () => undefined);
  const runs: number[] = [];
  let turn = 0;
  let closed = false;
  let ready = deferred<void>();
  const pick = (): { app: SpawnedApp; run: number } | undefined => {
    for (let i = 0; i < slots; i += 1) {
      const chosen = apps[(turn + i) % slots];
      if (chosen) {
        turn = (turn + i + 1) % slots;
        return chosen;
      }
    }
    return undefined;
  };
  return {
    async next() {
      for (;;) {
        if (closed) return undefined;
        const chosen = pick();
        if (chosen) return chosen;
        await ready.promise;
      }
    },
    isUp: (app) => apps.some((a) => a?.app === app),
    up(slot, app) {
      const run = runs.length;
      runs.push(slot);
      apps[slot] = { app, run };
      const woken = ready;
      ready = deferred<void>();
      woken.resolve();
      return run;
    },
    down(slot) {
      apps[slot] = undefined;
    },
    app: (slot) => apps[slot]?.app,
    slotOf: (run) => runs[run],
    close() {
      closed = true;
      apps.fill(undefined);
      ready.resolve();
    },
  };
}

/** Every poster at once; `done` when each has had all its notifications acknowledged (or the target closed). */
export function postAll(load: Load, target: PostTarget, paceMs: number): { stats: PostStats; done: Promise<void> } {
  const stats: PostStats = { posts: 0, failed: 0 };
  const done = Promise.all(load.posters.map((notes) => runPoster(notes, target, paceMs, stats))).then(() => undefined);
  return { stats, done };
}

export const allNotes = (load: Load): Note[] => load.posters.flat();

/** Notifications of one user each, to be posted like the load's (e.g. users added to it later). */
export function singleNotes(items: readonly MessagingItem[]): Note[] {
  return items.map((item) => ({ body: pageNotification([item]), ackedBy: undefined, ackedAt: undefined, failures: 0 }));
}

/** Adds users whose only input is the quick reply (their notifications are posted separately). */
export function addQuietUsers(load: Load, users: readonly string[]): void {
  for (const user of users) {
    load.users.push(user);
    load.inputs.set(user, []);
  }
}

/** What each input of a notification is answered with: the user and the reply's text. */
export function repliesTo(note: Note): { user: string; text: string }[] {
  const entries = (note.body as { entry?: { messaging?: MessagingItem[] }[] }).entry ?? [];
  return entries.flatMap((entry) =>
    (entry.messaging ?? []).flatMap((item) => {
      if (item.message?.quick_reply?.payload === 'ORDER_STATUS') return [{ user: item.sender.id, text: ASK_ORDER }];
      if (item.message) return [{ user: item.sender.id, text: invalidOrder(item.message.text) }];
      return [];
    }),
  );
}

/**
 * Sends Graph accepted (answered 200). A send still hanging when its app was killed never got an
 * answer: it counts as not delivered, so it must be sent again.
 */
export const delivered = (sends: readonly GraphCall[]): GraphCall[] => sends.filter((c) => c.status === 200);

/** True once every input of every user has its reply delivered. */
export function allAnswered(load: Load, sends: readonly GraphCall[]): boolean {
  const streams = streamsByUser(delivered(sends));
  return load.users.every((user) => {
    const got = new Set(streams.get(user) ?? []);
    return expectedStream(load.inputs.get(user) ?? []).every((text) => got.has(text));
  });
}

export function progress(load: Load, sends: readonly GraphCall[]): string {
  const expected = load.users.reduce((n, u) => n + expectedStream(load.inputs.get(u) ?? []).length, 0);
  return `(${delivered(sends).length} of ${expected} sends delivered, ${sends.length} arrived)`;
}
