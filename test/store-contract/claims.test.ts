// The store contract, part 2: inbox lanes claimed with leases, for every store. Two owners never
// hold one lane; a lease that runs out lets another owner take the lane over (takenOver), after
// which the first owner's fenced writes are LOST and change nothing; release, requeue, renew,
// release all, and recovery at start-up (memory and SQLite) versus never stealing (PostgreSQL).
import { expect, it } from '@jest/globals';
import { expandBody } from '../../services/inbox/expand.ts';
import { LOST } from '../../services/state/store.ts';
import { body, claimLane, complete, laneOf, laneTexts, nothing, outcome, receive, sleep } from './fixtures.ts';
import { describeEachStore } from './stores.ts';

const A = 'host-a:101:aaaa';
const B = 'host-b:202:bbbb';
const C = 'host-c:303:cccc';

describeEachStore('inbox lanes claimed with leases', (subject) => {
  it('claims lanes with events waiting, longest waiting first, up to the limit; a held lane goes to nobody else', async () => {
    const store = await subject().open();
    for (const user of [1, 2, 3]) {
      await receive(store, [user, 'hi']);
      await sleep(5);
    }
    expect(await store.claimInboxLanes(A, 2, 10_000, Date.now())).toEqual([
      { lane: laneOf(1), takenOver: false },
      { lane: laneOf(2), takenOver: false },
    ]);
    expect(await store.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([{ lane: laneOf(3), takenOver: false }]);
    expect(await store.claimInboxLanes(C, 10, 10_000, Date.now())).toEqual([]);
    // New events in a held lane do not make it claimable.
    await receive(store, [1, 'again']);
    expect(await store.claimInboxLanes(C, 10, 10_000, Date.now())).toEqual([]);
    expect(await store.claimsOf(A)).toEqual({ inbox: 2, outbox: 0 });
    expect(await store.claimsOf(B)).toEqual({ inbox: 1, outbox: 0 });
    expect(await store.claimsOf(C)).toEqual({ inbox: 0, outbox: 0 });
  });

  it('a lane without events waiting is not claimable', async () => {
    const store = await subject().open();
    expect(await store.claimInboxLanes(A, 10, 10_000, Date.now())).toEqual([]);
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 10);
    await complete(store, row, nothing, A);
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe('released');
    expect(await store.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
  });

  it('two instances claiming at once never get the same lane, and between them get every lane', async () => {
    const a = await subject().open();
    const b = await subject().open();
    for (let user = 1; user <= 30; user++) await a.addNotification({ body: body([user, 'x']) }, Date.now());
    while ((await a.expandNotifications(1000, expandBody, Date.now())).notifications > 0);
    const takeAll = async (store: typeof a, owner: string): Promise<string[]> => {
      const got: string[] = [];
      for (;;) {
        const claimed = await store.claimInboxLanes(owner, 3, 10_000, Date.now());
        if (claimed.length === 0) return got;
        got.push(...claimed.map((c) => c.lane));
      }
    };
    const [fromA, fromB] = await Promise.all([takeAll(a, A), takeAll(b, B)]);
    const all = [...fromA, ...fromB];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(Array.from({ length: 30 }, (_, i) => laneOf(i + 1)).sort());
    expect((await a.claimsOf(A)).inbox + (await a.claimsOf(B)).inbox).toBe(30);
  });

  it('when a lease runs out another owner takes the lane over; the first owner’s completeEvent and setAsideEvent are LOST and change nothing', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await receive(a, [1, 'a'], [1, 'b']);
    await claimLane(a, A, 1, 200);
    const [row] = await a.laneEvents(laneOf(1), 1);
    expect(await b.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
    await sleep(600);
    expect(await b.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([{ lane: laneOf(1), takenOver: true }]);

    expect(await a.completeEvent(row?.id ?? 0, outcome(1, ['reply to a'], { step: 'awaiting_order_number' }), Date.now(), A)).toBe(LOST);
    expect(await a.setAsideEvent(row?.id ?? 0, 'kept failing', Date.now(), A)).toBe(LOST);
    // Nothing changed: the event waits, the user is not saved, no reply is queued, nothing set aside.
    expect(await laneTexts(b, 1)).toEqual(['a', 'b']);
    expect(await b.getUser(laneOf(1))).toEqual({});
    expect(await b.outboxLanes()).toEqual([]);
    expect(await b.backlog()).toMatchObject({ inbox: 2, outbox: 0, failed_events: 0 });
    expect(await b.claimsOf(A)).toEqual({ inbox: 0, outbox: 0 });

    // The new owner goes on.
    const replies = await complete(b, row, outcome(1, ['reply to a']), B);
    expect(replies).toHaveLength(1);
    expect(await laneTexts(b, 1)).toEqual(['b']);
  });

  it('completing an event that is no longer there is LOST and queues nothing (nothing twice)', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await complete(store, row, outcome(1, ['once']), A);
    expect(await store.completeEvent(row?.id ?? 0, outcome(1, ['once']), Date.now(), A)).toBe(LOST);
    expect(await store.backlog()).toMatchObject({ inbox: 0, outbox: 1 });
  });

  it('completeEvent removes the event and saves the user; release succeeds once the lane is empty, and new events make it claimable again', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 10);
    await complete(store, row, outcome(1, [], { step: 'awaiting_order_number', locale: 'es_ES' }), A);
    expect(await store.inboxEvent(row?.id ?? 0)).toBeUndefined();
    expect(await store.getUser(laneOf(1))).toEqual({ step: 'awaiting_order_number', locale: 'es_ES' });
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe('released');
    expect(await store.claimsOf(A)).toEqual({ inbox: 0, outbox: 0 });
    // Releasing again, or a lane never held: not ours.
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe(LOST);
    expect(await store.releaseInboxLane(laneOf(7), A, Date.now())).toBe(LOST);
    await receive(store, [1, 'b']);
    expect(await store.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([{ lane: laneOf(1), takenOver: false }]);
  });

  it('release is busy when events arrived meanwhile: the owner keeps the lane and goes on', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await receive(a, [1, 'a']);
    await claimLane(a, A, 1);
    const [row] = await a.laneEvents(laneOf(1), 10);
    await receive(b, [1, 'b']);
    await complete(a, row, nothing, A);
    expect(await a.releaseInboxLane(laneOf(1), A, Date.now())).toBe('busy');
    expect(await a.claimsOf(A)).toEqual({ inbox: 1, outbox: 0 });
    expect(await b.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
    expect(await laneTexts(a, 1)).toEqual(['b']);
  });

  it('requeue gives a lane back with events waiting, behind the lanes already waiting', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a'], [1, 'b']);
    await sleep(5);
    await receive(store, [2, 'c']);
    expect(await store.claimInboxLanes(A, 1, 10_000, Date.now())).toEqual([{ lane: laneOf(1), takenOver: false }]);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await complete(store, row, nothing, A);
    await sleep(5);
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now(), { requeue: true })).toBe('released');
    expect(await store.claimInboxLanes(B, 1, 10_000, Date.now())).toEqual([{ lane: laneOf(2), takenOver: false }]);
    expect(await store.claimInboxLanes(C, 1, 10_000, Date.now())).toEqual([{ lane: laneOf(1), takenOver: false }]);
    expect(await laneTexts(store, 1)).toEqual(['b']);
    // Requeue by someone who does not hold the lane: not theirs.
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now(), { requeue: true })).toBe(LOST);
  });

  it('renewClaims keeps the owner’s lanes past their first lease, and says how many it holds', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await receive(a, [1, 'a'], [2, 'b']);
    expect(await a.claimInboxLanes(A, 10, 300, Date.now())).toHaveLength(2);
    expect(await a.renewClaims(A, 60_000, Date.now())).toEqual({ inbox: 2, outbox: 0 });
    expect(await a.renewClaims(B, 60_000, Date.now())).toEqual({ inbox: 0, outbox: 0 });
    await sleep(700);
    expect(await b.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
    const [row] = await a.laneEvents(laneOf(1), 1);
    expect(await a.completeEvent(row?.id ?? 0, nothing, Date.now(), A)).toEqual({ replies: [], held: [] });
  });

  it('releaseClaims gives back every lane of the owner at once: another owner takes them without waiting, not as a takeover', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await receive(a, [1, 'a'], [2, 'b']);
    await a.claimInboxLanes(A, 10, 60_000, Date.now());
    await a.releaseClaims(A);
    expect(await a.claimsOf(A)).toEqual({ inbox: 0, outbox: 0 });
    const taken = await b.claimInboxLanes(B, 10, 10_000, Date.now());
    expect(taken.map((c) => c.lane).sort()).toEqual([laneOf(1), laneOf(2)]);
    expect(taken.every((c) => !c.takenOver)).toBe(true);
    // A's fenced writes are LOST now.
    const [row] = await a.laneEvents(laneOf(1), 1);
    expect(await a.completeEvent(row?.id ?? 0, nothing, Date.now(), A)).toBe(LOST);
  });

  it('a set-aside event leaves the inbox and its lane; setting aside an event that is gone changes nothing', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a'], [1, 'b']);
    await claimLane(store, A, 1);
    const [first] = await store.laneEvents(laneOf(1), 1);
    expect(await store.setAsideEvent(first?.id ?? 0, 'handling did not finish in 5 attempts: SyntaxError: bad row', Date.now(), A)).toBeUndefined();
    expect(await store.inboxEvent(first?.id ?? 0)).toBeUndefined();
    expect(await laneTexts(store, 1)).toEqual(['b']);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 1, outbox: 0, failed: 0, unreadable: 0, failed_events: 1 });
    expect(await store.setAsideEvent(first?.id ?? 0, 'again', Date.now(), A)).toBeUndefined();
    expect(await store.backlog()).toMatchObject({ inbox: 1, failed_events: 1 });
    const [second] = await store.laneEvents(laneOf(1), 1);
    await store.setAsideEvent(second?.id ?? 0, 'also', Date.now(), A);
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe('released');
  });

  if (subject().kind === 'PostgreSQL') {
    it('recoverClaims never takes a live claim of another instance (PostgreSQL: leases expire by themselves)', async () => {
      const a = await subject().open();
      const b = await subject().open();
      await receive(a, [1, 'a']);
      await claimLane(a, A, 1, 60_000);
      await b.recoverClaims(Date.now());
      expect(await b.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
      expect(await a.claimsOf(A)).toEqual({ inbox: 1, outbox: 0 });
    });
  } else {
    it('recoverClaims at start-up expires every claim an earlier run left, so its lanes are taken over at once', async () => {
      const store = await subject().open();
      await receive(store, [1, 'a']);
      await claimLane(store, A, 1, 60_000);
      await store.recoverClaims(Date.now());
      expect(await store.claimInboxLanes(B, 10, 10_000, Date.now())).toEqual([{ lane: laneOf(1), takenOver: true }]);
    });
  }
});
