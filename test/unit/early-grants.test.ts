// Grants asked for while a reply is stored (services/outbox/early-grants.ts): the send takes the
// one asked for instead of asking again, one nobody takes is given back (done) in time, a refused
// one leaves the send to ask itself, and the sender asks early only with a shared gate, for a
// reply that will go out at once.
import { describe, expect, it } from '@jest/globals';
import { createEarlyGrants, EARLY_GRANTS_MAX } from '../../services/outbox/early-grants.ts';
import { createOutboxSender } from '../../services/outbox/sender.ts';
import type { AcquireOptions, Grant, RateGate } from '../../services/outbox/rate-gate.ts';
import { realTimers } from '../../services/outbox/timers.ts';
import type { SendApi } from '../../services/graph/send-api.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { OWNER } from '../support/claims.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { claimLane, completion, laneOf, outcome, receive } from '../store-contract/fixtures.ts';
import { sleep } from '../reliability/helpers.ts';

interface CountingGate extends RateGate {
  asked: { account: string; options: AcquireOptions }[];
  done: number[];
  /** The next acquire is refused. */
  refuseNext(): void;
}

function countingGate(shared = true): CountingGate {
  let refuse = false;
  const gate: CountingGate = {
    asked: [],
    done: [],
    shared,
    refuseNext: () => {
      refuse = true;
    },
    acquire(account, options = {}) {
      const n = gate.asked.push({ account, options });
      if (refuse) {
        refuse = false;
        return Promise.reject(new Error('the database is down'));
      }
      const grant: Grant = { done: () => void gate.done.push(n) };
      return Promise.resolve(grant);
    },
    now: () => Date.now(),
    close: () => Promise.resolve(),
  };
  return gate;
}

describe('early grants', () => {
  it('the send takes the grant asked for early: the gate is asked once', async () => {
    const gate = countingGate();
    const early = createEarlyGrants(gate, 1_000);
    early.ask('page', {});
    const grant = await early.take('page', {});
    expect(grant).toBeDefined();
    expect(gate.asked).toHaveLength(1);
    expect(early.take('page', {})).toBeUndefined();
    grant?.done();
    expect(gate.done).toEqual([1]);
    early.close();
  });

  it('one nobody takes is given back (done) after its time; a take after that finds none', async () => {
    const gate = countingGate();
    const early = createEarlyGrants(gate, 30);
    early.ask('page', {});
    await sleep(80);
    expect(gate.done).toEqual([1]);
    expect(early.take('page', {})).toBeUndefined();
    expect(early.waiting()).toBe(0);
  });

  it('only the same account and limit take it', async () => {
    const gate = countingGate();
    const early = createEarlyGrants(gate, 1_000);
    early.ask('page', { media: true });
    expect(early.take('page', {})).toBeUndefined();
    expect(early.take('other', { media: true })).toBeUndefined();
    expect(await early.take('page', { media: true })).toBeDefined();
    early.close();
  });

  it('a refused early ask leaves the send to ask the gate itself', async () => {
    const gate = countingGate();
    const early = createEarlyGrants(gate, 1_000);
    gate.refuseNext();
    early.ask('page', {});
    expect(await early.take('page', {})).toBeDefined();
    expect(gate.asked).toHaveLength(2);
    early.close();
  });

  it(`asks for at most ${EARLY_GRANTS_MAX} ahead per limit; close gives every one back`, async () => {
    const gate = countingGate();
    const early = createEarlyGrants(gate, 1_000);
    for (let i = 0; i < EARLY_GRANTS_MAX + 5; i++) early.ask('page', {});
    expect(gate.asked).toHaveLength(EARLY_GRANTS_MAX);
    early.close();
    await sleep(0);
    expect(gate.done.sort((a, b) => a - b)).toEqual(Array.from({ length: EARLY_GRANTS_MAX }, (_, i) => i + 1));
    expect(early.waiting()).toBe(0);
  });
});

describe('the sender asks early', () => {
  const sendApi = (sends: string[]): SendApi => ({
    perform: (action) => {
      sends.push(action.type);
      return Promise.resolve({ message_id: `m_${sends.length}` });
    },
    getUserProfile: () => Promise.reject(new Error('not used')),
  });

  const handled = async () => {
    const store = createMemoryStore();
    await receive(store, [1, 'hi']);
    await claimLane(store, OWNER, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    return { store, row, result: outcome(1, ['r1'], { last_inbound_at: Date.now() }) };
  };

  it('with a shared gate: the grant asked for while the reply is stored is the one its send uses', async () => {
    const { store, row, result } = await handled();
    const gate = countingGate(true);
    const sends: string[] = [];
    const sender = createOutboxSender({ store, sendApi: sendApi(sends), log: silentLogger, gate, timers: realTimers, owner: OWNER });
    sender.prepare(result.userKey, result.actions);
    expect(gate.asked).toHaveLength(1); // before the completion is written
    const done = await completion(store, row, result, OWNER);
    sender.notify(done.held, { heads: done.heads, lastInboundAt: Date.now() });
    await sender.idle();
    expect(sends).toEqual(['message']);
    expect(gate.asked).toHaveLength(1);
    expect(gate.done).toEqual([1]);
    await sender.stop();
  });

  it('with a local gate, or once stopped, it does not ask ahead', async () => {
    const { store, result } = await handled();
    const local = countingGate(false);
    const sender = createOutboxSender({ store, sendApi: sendApi([]), log: silentLogger, gate: local, timers: realTimers, owner: OWNER });
    sender.prepare(result.userKey, result.actions);
    expect(local.asked).toHaveLength(0);
    await sender.stop();
    const shared = countingGate(true);
    const stopped = createOutboxSender({ store, sendApi: sendApi([]), log: silentLogger, gate: shared, timers: realTimers, owner: OWNER });
    await stopped.stop();
    stopped.prepare(result.userKey, result.actions);
    expect(shared.asked).toHaveLength(0);
  });
});
