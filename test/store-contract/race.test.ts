// The store contract, part 6: owners racing for lanes, for every store. Three owners (on three
// store objects where the store allows) claim, handle and release lanes with short leases while
// some of them stall past their lease, so lanes are taken over mid-event and fenced writes are
// lost. However it interleaves: every event is completed exactly once, and each user's replies
// are queued in the order the user's events arrived.
import { expect, it } from '@jest/globals';
import { expandBody } from '../../services/inbox/expand.ts';
import { LOST, type BotStore } from '../../services/state/store.ts';
import { body, laneOf, outcome, replyText, sleep, textOf } from './fixtures.ts';
import { describeEachStore } from './stores.ts';

const USERS = 12;
const EVENTS_PER_USER = 10;
const LEASE_MS = 150;

/** A tiny deterministic random source (the interleaving still varies with timing). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

async function work(store: BotStore, owner: string, seed: number, finished: () => boolean, stats: { lost: number; completed: number }): Promise<void> {
  const next = random(seed);
  const handleLane = async (lane: string): Promise<void> => {
    for (;;) {
      const rows = await store.laneEvents(lane, 3);
      for (const row of rows) {
        // Now and then a stall longer than the lease: another owner may take the lane meanwhile.
        if (next() < 0.08) await sleep(LEASE_MS * 2);
        const text = (await textOf(store, row)) ?? '?';
        const user = Number(text.split('-')[0]);
        const result = await store.completeEvent(row.id, outcome(user, [text]), Date.now(), owner);
        if (result === LOST) {
          stats.lost += 1;
          return;
        }
        stats.completed += 1;
      }
      if ((await store.releaseInboxLane(lane, owner, Date.now(), { requeue: next() < 0.3 })) !== 'busy') return;
      await sleep(0);
    }
  };
  while (!finished()) {
    const claimed = await store.claimInboxLanes(owner, 3, LEASE_MS, Date.now());
    if (claimed.length === 0) await sleep(5);
    await Promise.all(claimed.map((c) => handleLane(c.lane)));
  }
}

describeEachStore('owners racing for lanes', (subject) => {
  it('every event is completed exactly once and each user’s replies are queued in arrival order, even when owners stall past their lease', async () => {
    const stores = [await subject().open(), await subject().open(), await subject().open()];
    const [first] = stores as [BotStore];
    for (let round = 0; round < EVENTS_PER_USER; round++) {
      for (let user = 1; user <= USERS; user++) await (stores[user % 3] as BotStore).addNotification({ body: body([user, `${user}-${round}`]) }, Date.now());
    }
    while ((await first.expandNotifications(1000, expandBody, Date.now())).notifications > 0);

    const stats = { lost: 0, completed: 0 };
    const finished = (): boolean => stats.completed >= USERS * EVENTS_PER_USER;
    await Promise.all(stores.map((store, i) => work(store, `owner-${i}`, 7 + i, finished, stats)));
    expect(stats.completed).toBe(USERS * EVENTS_PER_USER);
    expect(await first.backlog()).toMatchObject({ inbox: 0, outbox: USERS * EVENTS_PER_USER });

    // Drain the replies: every owner lets go, one drainer sends lane by lane, head first.
    for (let i = 0; i < 3; i++) await first.releaseClaims(`owner-${i}`);
    const lanes = await first.claimOutboxLanes('drainer', 100, 60_000, Date.now());
    expect(lanes.sort()).toEqual(Array.from({ length: USERS }, (_, i) => laneOf(i + 1)).sort());
    for (let user = 1; user <= USERS; user++) {
      const texts: (string | undefined)[] = [];
      for (let head = await first.outboxHead(laneOf(user)); head; head = await first.outboxHead(laneOf(user))) {
        texts.push(replyText(head));
        await first.outboxSent(head.id, { userKey: laneOf(user), mid: undefined }, Date.now(), 'drainer');
      }
      expect(texts).toEqual(Array.from({ length: EVENTS_PER_USER }, (_, round) => `${user}-${round}`));
    }
  }, 60_000);
});
