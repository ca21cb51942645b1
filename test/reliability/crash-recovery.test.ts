// Real processes: app.ts spawned on a SQLite file, a local mock Graph API, a few thousand signed
// events from many users. The app is killed mid-stream (SIGKILL: no chance to clean up; SIGTERM:
// graceful stop), restarted on the same DATABASE_URL, and every input must end up answered, in
// order per user, with duplicates only for sends that were in flight at the kill.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { recipientOf, startMockGraph, type GraphCall, type MockGraph } from '../support/mock-graph-server.ts';
import { spawnApp, type SpawnedApp } from '../support/spawn-app.ts';
import { ASK_ORDER, collapseRepeats, expectedStream, label, orderStatusItem, pageNotification, psid, sleep, streamsByUser, tempDir, textItem, waitFor } from './helpers.ts';
import { healthOfInstance } from './health-shape.ts';
import { buildLoad, createTarget, redeliver, runPoster, type Load, type Note, type PostStats, type Target } from './load.ts';

/** The outbox sender's default concurrency: at most this many sends are in flight at any instant. */
const SENDS_IN_FLIGHT_BOUND = 64;
/** app.ts gives in-flight work this long after SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

const live = new Set<SpawnedApp>();
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const app of live) await app.kill('SIGKILL');
  live.clear();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  for (const app of live) await app.kill('SIGKILL');
});

/** A little latency on every call, so that sends are in flight when the app is killed. */
const baseLatency = (call: GraphCall): number => (call.method === 'POST' ? 2 + (call.seq % 13) : 5);

async function setUp(prefix: string): Promise<{ mock: MockGraph; start: () => Promise<SpawnedApp> }> {
  const dir = tempDir(prefix);
  const mock = await startMockGraph({ latencyMs: baseLatency });
  cleanups.push(() => mock.close(), dir.remove);
  const start = async () => {
    const app = await spawnApp({ graphUrl: mock.url, databasePath: join(dir.path, 'bot.db'), cwd: dir.path, env: { SEND_RATE_LIMIT: '300' } });
    live.add(app);
    return app;
  };
  return { mock, start };
}

/**
 * Sends Graph accepted (answered 200). A send still hanging when the app was killed never got an
 * answer: it counts as not delivered, so it must be sent again after the restart.
 */
const delivered = (mock: MockGraph): GraphCall[] => mock.sends().filter((c) => c.status === 200);

/** True once every input of every user has a reply. */
function allAnswered(load: Load, mock: MockGraph): boolean {
  const streams = streamsByUser(delivered(mock));
  return load.users.every((user) => {
    const got = new Set(streams.get(user) ?? []);
    return expectedStream(load.inputs.get(user) ?? []).every((text) => got.has(text));
  });
}

function progress(load: Load, mock: MockGraph): string {
  const expected = load.users.reduce((n, u) => n + expectedStream(load.inputs.get(u) ?? []).length, 0);
  return `(${mock.sends().length} of ${expected} sends arrived)`;
}

async function drain(app: SpawnedApp): Promise<void> {
  await waitFor(async () => {
    const { body } = await app.health();
    return body.backlog?.inbox === 0 && body.backlog.outbox === 0;
  }, 20_000);
}

function postAll(load: Load, target: Target, paceMs: number): { stats: PostStats; done: Promise<void> } {
  const stats: PostStats = { posts: 0, failed: 0 };
  const done = Promise.all(load.posters.map((notes) => runPoster(notes, target, paceMs, stats))).then(() => undefined);
  return { stats, done };
}

const allNotes = (load: Load): Note[] => load.posters.flat();

describe('crash recovery with real processes', () => {
  it('SIGKILL mid-stream, restart on the same database: every event answered, in order per user, duplicates within the in-flight bound', async () => {
    const began = performance.now();
    const { mock, start } = await setUp('crash-kill');
    const load = buildLoad(40, 50, 8);
    const target = createTarget();
    cleanups.unshift(() => target.close());
    const first = await start();
    target.up(first);

    // Two groups of users write first thing and then stay quiet, so that only recovery can answer
    // them: one whose reply waits in the outbox, its send hanging until the kill; one whose second
    // event waits in the inbox behind the profile lookup that follows the first one's reply, which
    // hangs until the kill.
    const outboxWaiting = [0, 1, 2, 3, 4].map((i) => psid(2000 + i));
    const inboxWaiting = [0, 1, 2, 3, 4].map((i) => psid(2100 + i));
    for (const user of [...outboxWaiting, ...inboxWaiting]) {
      load.users.push(user);
      load.inputs.set(user, inboxWaiting.includes(user) ? ['w-1'] : []);
    }
    mock.setLatency((call) => {
      const user = call.method === 'GET' ? call.path.split('/').pop() : recipientOf(call);
      if (call.method === 'POST' && outboxWaiting.includes(user ?? '')) return 600_000;
      if (call.method === 'GET' && inboxWaiting.includes(user ?? '')) return 600_000;
      return baseLatency(call);
    });
    const stamp0 = Date.now() - 60_000;
    expect(await first.post(pageNotification(outboxWaiting.map((u, i) => orderStatusItem(u, stamp0 + i))))).toBe(200);
    expect(await first.post(pageNotification(inboxWaiting.flatMap((u, i) => [orderStatusItem(u, stamp0 + 2 * i), textItem(u, 'w-1', stamp0 + 2 * i + 1)])))).toBe(200);
    await waitFor(() => outboxWaiting.every((u) => mock.sends().some((c) => recipientOf(c) === u)), 10_000);
    await waitFor(() => inboxWaiting.every((u) => mock.calls.some((c) => c.method === 'GET' && c.path.endsWith(u))), 10_000);

    const posting = postAll(load, target, 20);

    // Kill once replies are flowing and posters are still going.
    const acked = () => allNotes(load).filter((n) => n.ackedBy !== undefined).length;
    await waitFor(() => mock.sends().length >= 300 || acked() >= allNotes(load).length * 0.4, 30_000, () => progress(load, mock));
    const inFlightAtKill = mock.sends().filter((c) => c.answeredAt === undefined).length;
    // Posters keep posting to the dead app until it is marked down: those posts fail, as Meta's would.
    const exit = await first.kill('SIGKILL');
    await sleep(100);
    target.down();
    live.delete(first);
    const ackedAtKill = acked();
    const sendsAtKill = mock.sends().length;
    expect(exit.signal).toBe('SIGKILL');
    expect(sendsAtKill).toBeGreaterThan(50);
    expect(ackedAtKill).toBeLessThan(allNotes(load).length);
    // Still waiting at the kill: the first group's question hangs on its way; the second group got
    // its question, and its answer to it waits in the inbox.
    expect(mock.sends().filter((c) => outboxWaiting.includes(recipientOf(c) ?? '')).map((c) => [label(c), c.answeredAt])).toEqual(outboxWaiting.map(() => [ASK_ORDER, undefined]));
    expect(mock.sends().filter((c) => inboxWaiting.includes(recipientOf(c) ?? '')).map(label)).toEqual(inboxWaiting.map(() => ASK_ORDER));
    mock.setLatency(baseLatency);

    // Restart on the same DATABASE_URL; posters redeliver whatever got no 200.
    const restartedAt = performance.now();
    const second = await start();
    target.up(second);
    const upAfterMs = performance.now() - restartedAt;
    // Meta also redelivers some notifications that did get a 200: every 8th from before the kill, now.
    const early = allNotes(load).filter((n, i) => n.ackedBy === 0 && i % 8 === 0);
    const redeliveredEarly = redeliver(early, target);
    await posting.done;
    const redelivered = (await redeliveredEarly) + (await redeliver(allNotes(load).filter((n, i) => n.ackedBy === 1 && i % 8 === 1), target));

    await waitFor(() => allAnswered(load, mock), 80_000, () => progress(load, mock), 250);
    await drain(second);
    const health = await second.health();

    const streams = streamsByUser(delivered(mock));
    let duplicates = 0;
    for (const user of load.users) {
      const { collapsed, repeats } = collapseRepeats(streams.get(user) ?? []);
      duplicates += repeats;
      // In input order, each answered once: a resend can only repeat the send just before it.
      expect({ user, stream: collapsed }).toEqual({ user, stream: expectedStream(load.inputs.get(user) ?? []) });
    }
    process.stdout.write(
      `SIGKILL run: ${load.events} events in ${allNotes(load).length} notifications from ${load.users.length - 10} users, ` +
        `and 10 more users whose replies or events waited in the outbox or inbox at the kill; ` +
        `killed after ${sendsAtKill} sends with ${ackedAtKill} notifications acknowledged and ${inFlightAtKill} sends unanswered at the mock; ` +
        `${posting.stats.failed} posts failed and were redelivered, ${redelivered} acknowledged notifications redelivered; ` +
        `restart answered /healthz after ${Math.round(upAfterMs)} ms; ${delivered(mock).length} sends delivered, ${duplicates} duplicates ` +
        `(bound ${SENDS_IN_FLIGHT_BOUND}); ${Math.round(performance.now() - began)} ms in all\n`,
    );
    expect(posting.stats.failed).toBeGreaterThan(0);
    expect(redelivered).toBeGreaterThan(50);
    expect(duplicates).toBeLessThanOrEqual(SENDS_IN_FLIGHT_BOUND);
    expect(health).toEqual({ status: 200, body: { status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: { received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 }, ...healthOfInstance('sqlite') } });
  }, 150_000);

  it('SIGTERM mid-load: exits 0 within the grace period; after a restart everything is answered exactly once', async () => {
    const began = performance.now();
    const { mock, start } = await setUp('crash-term');
    const load = buildLoad(20, 20, 5);
    const target = createTarget();
    cleanups.unshift(() => target.close());
    target.up(await start());
    const posting = postAll(load, target, 10);

    await waitFor(() => mock.sends().length >= 75, 30_000, () => progress(load, mock));
    const first = target.current() as SpawnedApp;
    const exit = await first.kill('SIGTERM', SHUTDOWN_GRACE_MS + 5000);
    await sleep(100);
    target.down();
    live.delete(first);
    const ackedAtStop = allNotes(load).filter((n) => n.ackedBy !== undefined).length;
    const sendsAtStop = mock.sends().length;
    expect(exit).toEqual({ code: 0, signal: null, ms: expect.any(Number) });
    expect(exit.ms).toBeLessThan(SHUTDOWN_GRACE_MS);
    expect(ackedAtStop).toBeLessThan(allNotes(load).length);
    // Graceful: nothing was left half-sent.
    expect(mock.sends().filter((c) => c.answeredAt === undefined)).toEqual([]);

    const second = await start();
    target.up(second);
    await posting.done;
    await waitFor(() => allAnswered(load, mock), 50_000, () => progress(load, mock), 250);
    await drain(second);

    const streams = streamsByUser(delivered(mock));
    for (const user of load.users) {
      expect({ user, stream: streams.get(user) }).toEqual({ user, stream: expectedStream(load.inputs.get(user) ?? []) });
    }
    process.stdout.write(
      `SIGTERM run: ${load.events} events; stopped after ${sendsAtStop} sends with ${ackedAtStop} of ${allNotes(load).length} notifications acknowledged; ` +
        `exit code ${exit.code} after ${exit.ms} ms; ${posting.stats.failed} posts redelivered; ${mock.sends().length} sends, 0 duplicates; ` +
        `${Math.round(performance.now() - began)} ms in all\n`,
    );
  }, 90_000);
});
