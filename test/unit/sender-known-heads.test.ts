// What the inbox tells the sender about replies it just queued (QueuedReplies): the head of a lane
// nobody is sending goes out without reading the lane's head, a recent inbound time spares the
// 24-hour window's read of the user, and a hint that may be stale (its lane is being sent) is
// never used: a reply is sent once, whatever the hints say.
import { describe, expect, it } from '@jest/globals';
import { createOutboxSender, MESSAGING_WINDOW_MS } from '../../services/outbox/sender.ts';
import type { OutgoingAction } from '../../services/outbox/outgoing-action.ts';
import { createLocalRateGate } from '../../services/outbox/rate-gate.ts';
import { realTimers } from '../../services/outbox/timers.ts';
import type { SendApi } from '../../services/graph/send-api.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore, Completion } from '../../services/state/store.ts';
import { OWNER } from '../support/claims.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { claimLane, completion, laneOf, outcome, receive } from '../store-contract/fixtures.ts';
import { deferred } from '../reliability/helpers.ts';

interface Counted {
  store: BotStore;
  calls: string[];
}

/** The memory store, noting each outboxHead and getUser call (and each send, from the fake Send API). */
function countedStore(): Counted {
  const base = createMemoryStore();
  const calls: string[] = [];
  const store: BotStore = {
    ...base,
    outboxHead: (lane) => {
      calls.push('outboxHead');
      return base.outboxHead(lane);
    },
    getUser: (key) => {
      calls.push('getUser');
      return base.getUser(key);
    },
  };
  return { store, calls };
}

/** One event of user 1 handled: its replies queued in the user's lane, which OWNER holds. */
async function queued(store: BotStore, replies: string[], lastInboundAt = Date.now()): Promise<Completion> {
  await receive(store, [1, 'hi']);
  await claimLane(store, OWNER, 1);
  const [row] = await store.laneEvents(laneOf(1), 1);
  return completion(store, row, outcome(1, replies, { last_inbound_at: lastInboundAt }), OWNER);
}

function senderFor(store: BotStore, perform: (action: OutgoingAction) => Promise<{ message_id: string }>, calls: string[]) {
  const sendApi: SendApi = {
    perform: (action) => {
      calls.push(`send ${textOf(action)}`);
      return perform(action);
    },
    getUserProfile: () => Promise.reject(new Error('not used')),
  };
  return createOutboxSender({ store, sendApi, log: silentLogger, gate: createLocalRateGate({ limit: 1000 }), timers: realTimers, owner: OWNER });
}

const textOf = (action: OutgoingAction): string => (action.type === 'message' && 'text' in action.message ? action.message.text : action.type);
const sent = (n: number) => Promise.resolve({ message_id: `m_${n}` });

describe('the sender and the replies the inbox just queued', () => {
  it('without hints it reads the lane head and the user before the send', async () => {
    const { store, calls } = countedStore();
    const done = await queued(store, ['r1']);
    const sender = senderFor(store, () => sent(1), calls);
    sender.notify(done.held);
    await sender.idle();
    expect(calls.slice(0, 3)).toEqual(['outboxHead', 'getUser', 'send r1']);
    await sender.stop();
  });

  it('with the lane’s head and a recent inbound time it sends at once: no head read, no user read', async () => {
    const { store, calls } = countedStore();
    const done = await queued(store, ['r1', 'r2']);
    const sender = senderFor(store, () => sent(calls.length), calls);
    sender.notify(done.held, { heads: done.replies.slice(0, 1), lastInboundAt: Date.now() });
    await sender.idle();
    expect(calls[0]).toBe('send r1');
    expect(calls.filter((c) => c.startsWith('send'))).toEqual(['send r1', 'send r2']);
    expect(calls).not.toContain('getUser');
    expect(await store.outboxLanes()).toEqual([]);
    await sender.stop();
  });

  it('an inbound time in the hint older than the window is not trusted: the stored user decides (here: within it, so the reply goes)', async () => {
    const { store, calls } = countedStore();
    const done = await queued(store, ['r1']);
    const sender = senderFor(store, () => sent(1), calls);
    sender.notify(done.held, { heads: done.replies, lastInboundAt: Date.now() - MESSAGING_WINDOW_MS - 60_000 });
    await sender.idle();
    expect(calls.slice(0, 2)).toEqual(['getUser', 'send r1']);
    await sender.stop();
  });

  it('a hint for a lane being sent is ignored: the reply it names is sent once', async () => {
    const { store, calls } = countedStore();
    const done = await queued(store, ['r1']);
    const release = deferred<void>();
    let sends = 0;
    const sender = senderFor(
      store,
      async () => {
        sends += 1;
        if (sends === 1) await release.promise;
        return { message_id: `m_${sends}` };
      },
      calls,
    );
    sender.notify(done.held);
    while (sends === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The same head again while it is in flight (a stale hint): it must not be sent a second time.
    sender.notify(done.held, { heads: done.replies, lastInboundAt: Date.now() });
    release.resolve();
    await sender.idle();
    // The lane's next run (a later event's reply) reads its head: r1 is gone, r2 goes.
    await receive(store, [1, 'again']);
    const [row] = await store.laneEvents(laneOf(1), 1);
    const later = await completion(store, row, outcome(1, ['r2']), OWNER);
    sender.notify(later.held);
    await sender.idle();
    expect(calls.filter((c) => c.startsWith('send'))).toEqual(['send r1', 'send r2']);
    expect(await store.outboxLanes()).toEqual([]);
    await sender.stop();
  });
});
