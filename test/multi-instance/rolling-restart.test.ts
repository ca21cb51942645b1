// A rolling restart under load: each instance in turn is taken out of rotation, sent SIGTERM and
// started again, while users keep posting. Just before each stop a burst of replies is queued, so
// the stopping instance holds lanes with work left. Nothing is lost and nothing repeated (exactly
// one reply per input), each instance exits 0 within its grace period, and the work it held carries
// on at once elsewhere: it released its claims, so nobody waits for a lease to expire. On SQLite
// (one instance) the work carries on as soon as the instance is back.
import { beforeAll, expect, it } from '@jest/globals';
import { messageText, recipientOf } from '../support/mock-graph-server.ts';
import { expectedStream, orderStatusItem, pageNotification, psid, sleep, streamsByUser, textItem, waitFor } from '../reliability/helpers.ts';
import { allAnswered, allNotes, buildLoad, delivered, postAll, progress, repliesTo, runPoster, type Load, type Note, type PostStats } from '../reliability/load.ts';
import { describeSetup, LEASE_MS, SETUPS, SHUTDOWN_GRACE_MS, useCluster, type Cluster, type KilledInstance, type Setup } from './cluster.ts';
import { drainAll, expectHealthyAfterDrain } from './health.ts';

/**
 * Well under the lease. A lane the stopped instance did not release waits until its lease expires:
 * ≥ 7 s after the stop (10 s leases renewed every ~3 s), plus up to a 2 s poll. Released lanes are
 * taken at once (or at the next 2 s poll), and the burst takes ~1 s to send.
 */
const DRAIN_BOUND_MS = LEASE_MS - 4000;

interface Restart {
  stopped: KilledInstance;
  /** When another instance could take over: the signal (several instances), or the restart (one). */
  resumeFrom: number;
  /** Notifications acknowledged before the signal: each must be answered soon after resumeFrom. */
  ackedBefore: number;
  /** Sends of the burst queued just before the stop that had not arrived at its exit. */
  burstLeft: number;
  drainMs: number;
}

interface RollingRun {
  load: Load;
  /** The load's notifications and the bursts'. */
  notes: Note[];
  restarts: Restart[];
  posting: PostStats;
  ackedAtLastStop: number;
}

/** From `from` until every input of the notifications acknowledged before `signalledAt` had its reply delivered. */
function drainTime(notes: readonly Note[], cluster: Cluster, signalledAt: number, from: number): number {
  const firstDelivery = new Map<string, number>();
  for (const call of delivered(cluster.mock.sends())) {
    const key = `${recipientOf(call) ?? '?'} ${messageText(call) ?? ''}`;
    if (!firstDelivery.has(key)) firstDelivery.set(key, call.at);
  }
  let last = from;
  for (const note of notes) {
    if (note.ackedAt === undefined || note.ackedAt >= signalledAt) continue;
    for (const { user, text } of repliesTo(note)) last = Math.max(last, firstDelivery.get(`${user} ${text}`) ?? Infinity);
  }
  return last - from;
}

/** 12 new users, each with a quick reply and 4 texts in one notification: 120 sends queued at once. */
function burst(load: Load, round: number): Note[] {
  const stamp = Date.now() - 60_000;
  return Array.from({ length: 12 }, (_, j) => {
    const user = psid(5000 + round * 100 + j);
    const texts = [1, 2, 3, 4].map((n) => `r${round}u${j}-${n}`);
    load.users.push(user);
    load.inputs.set(user, texts);
    const items = [orderStatusItem(user, stamp + j * 10), ...texts.map((text, n) => textItem(user, text, stamp + j * 10 + n + 1))];
    return { body: pageNotification(items), ackedBy: undefined, ackedAt: undefined, failures: 0 };
  });
}

async function rollingRestart(cluster: Cluster): Promise<RollingRun> {
  const { mock, target, setup } = cluster;
  const load = buildLoad(48, 16, 6);
  const loadNotes = allNotes(load);
  const notes = [...loadNotes];
  const acked = () => loadNotes.filter((n) => n.ackedBy !== undefined).length;
  // Each restart takes a start-up (2–6 s on two busy cores) and 12 % of the load: with three
  // instances the load must last longer than all three, however fast the webhooks answer.
  const posting = postAll(load, target, 150 * setup.instances);
  const pending: Omit<Restart, 'drainMs' | 'burstLeft'>[] = [];
  const burstLeft: number[] = [];
  const sentTo = (queued: readonly Note[], before: number): number => {
    const users = new Set(queued.flatMap(repliesTo).map((r) => r.user));
    return mock.sends().filter((c) => c.at <= before && users.has(recipientOf(c) ?? '')).length;
  };
  let ackedAtLastStop = 0;
  for (let slot = 0; slot < setup.instances; slot += 1) {
    // Let the load flow (and the previous restart settle) before each stop.
    const before = acked();
    await waitFor(() => acked() >= before + loadNotes.length * 0.12, 60_000, () => progress(load, mock.sends()), 50);
    const queued = burst(load, slot);
    notes.push(...queued);
    await runPoster(queued, target, 0, { posts: 0, failed: 0 });
    const stopped = await cluster.stop(slot, 'SIGTERM');
    ackedAtLastStop = acked();
    await cluster.start(slot);
    pending.push({ stopped, resumeFrom: setup.instances > 1 ? stopped.signalledAt : performance.now(), ackedBefore: notes.filter((n) => n.ackedAt !== undefined && n.ackedAt < stopped.signalledAt).length });
    // Some of the burst was still waiting to be sent when the instance stopped.
    burstLeft.push(queued.flatMap(repliesTo).length - sentTo(queued, stopped.exitedAt));
    await sleep(1000);
  }
  await posting.done;
  await waitFor(() => allAnswered(load, mock.sends()), 60_000, () => `${progress(load, mock.sends())}\n${cluster.output()}`, 250);
  await drainAll(cluster);
  const restarts = pending.map((r, i) => ({ ...r, burstLeft: burstLeft[i] ?? 0, drainMs: drainTime(notes, cluster, r.stopped.signalledAt, r.resumeFrom) }));
  return { load, notes, restarts, posting: posting.stats, ackedAtLastStop };
}

function describeRolling(setup: Setup): void {
  describeSetup(setup, 'a SIGTERM rolling restart under load', () => {
    const { create } = useCluster(setup);
    let cluster: Cluster;
    let run: RollingRun;
    beforeAll(async () => {
      const began = performance.now();
      cluster = await create({ env: { SEND_RATE_LIMIT: '200' }, latencyMs: (call) => (call.method === 'POST' ? 2 + (call.seq % 13) : 5) });
      run = await rollingRestart(cluster);
      process.stdout.write(
        `rolling restart, ${setup.title}: ${run.load.events} events in ${allNotes(run.load).length} notifications; ` +
          run.restarts.map((r) => `${r.stopped.name} exited ${r.stopped.code} after ${r.stopped.ms} ms leaving ${r.burstLeft} burst sends, work carried on within ${Math.round(r.drainMs)} ms`).join('; ') +
          `; ${run.posting.failed} posts went elsewhere; ${cluster.mock.sends().length} sends; ${Math.round(performance.now() - began)} ms in all\n`,
      );
    }, 180_000);

    it('restarted every instance while the load was still being posted', () => {
      expect(run.restarts.map((r) => r.stopped.slot)).toEqual(Array.from({ length: setup.instances }, (_, s) => s));
      expect(run.ackedAtLastStop).toBeLessThan(run.notes.length);
    });

    it(`each instance exited 0 within its grace period (${SHUTDOWN_GRACE_MS / 1000} s)`, () => {
      for (const { stopped } of run.restarts) {
        expect({ name: stopped.name, code: stopped.code, signal: stopped.signal, forced: stopped.forced ?? false }).toEqual({ name: stopped.name, code: 0, signal: null, forced: false });
        expect(stopped.ms).toBeLessThan(SHUTDOWN_GRACE_MS);
      }
    });

    it('answers every input exactly once, in order per user', () => {
      const streams = streamsByUser(delivered(cluster.mock.sends()));
      for (const user of run.load.users) expect({ user, stream: streams.get(user) }).toEqual({ user, stream: expectedStream(run.load.inputs.get(user) ?? []) });
      // Graceful: nothing was left half-sent, so nothing was sent twice.
      expect(cluster.mock.sends().filter((c) => c.status !== 200)).toEqual([]);
    });

    it(`carries on the stopped instance's work without waiting for its lease (within ${DRAIN_BOUND_MS / 1000} s)`, () => {
      for (const r of run.restarts) {
        expect(r.ackedBefore).toBeGreaterThan(0);
        // There was work left to carry on: part of the burst had not been sent at the exit.
        expect(r.burstLeft).toBeGreaterThan(0);
        expect(r.drainMs).toBeLessThan(DRAIN_BOUND_MS);
      }
    });

    it('ends healthy: no backlog, no claims left', async () => {
      await expectHealthyAfterDrain(cluster);
    });
  });
}

for (const setup of SETUPS) describeRolling(setup);
