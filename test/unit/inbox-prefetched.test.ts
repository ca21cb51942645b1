// Events a store reads with the claim (ClaimedLane.rows, InboxRow.event, as PostgreSQL does): the
// inbox handles them without reading the lane or the event again, and a retry after a failure
// reads the event anew (an earlier try may have completed it, its answer lost). A slot that frees
// claims again only when lanes may have been left waiting.
import { describe, expect, it } from '@jest/globals';
import { createInbox, type InboxDeps } from '../../services/inbox/inbox.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore, ClaimedLane, PreloadedUser, UserState } from '../../services/state/store.ts';
import { emptyOutcome } from '../../services/state/store.ts';
import { OWNER, quietOutbox } from '../support/claims.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { body, laneOf } from '../store-contract/fixtures.ts';

/** The memory store, claiming as PostgreSQL does (events read with the claim), counting the reads the inbox makes. */
function prefetchingStore(): { store: BotStore; reads: string[] } {
  const base = createMemoryStore();
  const reads: string[] = [];
  const store: BotStore = {
    ...base,
    async claimInboxLanes(owner, limit, leaseMs, now, options = {}) {
      const claimed = await base.claimInboxLanes(owner, limit, leaseMs, now);
      if (!options.withEvents) return claimed;
      return Promise.all(
        claimed.map(async (c): Promise<ClaimedLane> => {
          const rows = await base.laneEvents(c.lane, options.withEvents ?? 0);
          return { ...c, rows: await Promise.all(rows.map(async (r) => ({ ...r, event: (await base.inboxEvent(r.id)) as WebhookEvent }))) };
        }),
      );
    },
    laneEvents: (lane, limit) => {
      reads.push('laneEvents');
      return base.laneEvents(lane, limit);
    },
    inboxEvent: (id) => {
      reads.push('inboxEvent');
      return base.inboxEvent(id);
    },
  };
  return { store, reads };
}

const textOf = (event: WebhookEvent): string => (event.kind === 'message' ? (event.message.text ?? '') : event.kind);

/** An inbox on `store` that notes each event's text in `handled`; `more` adds or overrides deps. */
const recordingInbox = (store: BotStore, handled: string[], more: Partial<InboxDeps> = {}) =>
  createInbox({
    store,
    handleEvent: (event) => {
      handled.push(textOf(event));
      return Promise.resolve(emptyOutcome());
    },
    outbox: quietOutbox,
    log: silentLogger,
    now: () => Date.now(),
    owner: OWNER,
    ...more,
  });

describe('events read with the claim', () => {
  it('are handled as read: no lane read, no event read', async () => {
    const { store, reads } = prefetchingStore();
    const handled: string[] = [];
    const inbox = recordingInbox(store, handled);
    await inbox.accept(body([1, 'a'], [1, 'b'], [2, 'c']));
    await inbox.idle();
    expect(handled.sort()).toEqual(['a', 'b', 'c']);
    expect(reads).toEqual([]);
    await inbox.stop();
  });

  it('a try after a failure reads the event again; the first try used the one read with the claim', async () => {
    const { store, reads } = prefetchingStore();
    let tries = 0;
    const inbox = recordingInbox(store, [], {
      handleEvent: () => {
        tries += 1;
        return tries === 1 ? Promise.reject(new Error('Graph is down')) : Promise.resolve(emptyOutcome());
      },
      retry: { baseMs: 10, maxMs: 20, maxAttempts: 3 },
    });
    await inbox.accept(body([1, 'a']));
    await inbox.idle();
    expect(tries).toBe(2);
    expect(reads.filter((r) => r === 'inboxEvent')).toHaveLength(1);
    expect(await store.backlog()).toMatchObject({ inbox: 0, failed_events: 0 });
    await inbox.stop();
  });
});

describe('a user read with the claim', () => {
  /** As prefetchingStore, and the first row of each claimed lane carries its user as `users` has it. */
  const withUsers = (users: Record<string, UserState>) => {
    const { store, reads } = prefetchingStore();
    const claim = store.claimInboxLanes.bind(store);
    store.claimInboxLanes = async (...args) =>
      (await claim(...args)).map((c) => ({ ...c, rows: c.rows?.map((r, i) => (i === 0 ? { ...r, user: structuredClone(users[c.lane] ?? {}) } : r)) }));
    return { store, reads };
  };

  it('goes to the handler with the lane’s first event only, under the lane’s key', async () => {
    const { store } = withUsers({ [laneOf(1)]: { locale: 'id_ID' } });
    const seen: [string, PreloadedUser | undefined][] = [];
    const inbox = recordingInbox(store, [], {
      handleEvent: (event, user) => {
        seen.push([textOf(event), user]);
        return Promise.resolve(emptyOutcome());
      },
    });
    await inbox.accept(body([1, 'a'], [1, 'b'], [2, 'c']));
    await inbox.idle();
    expect(new Map(seen)).toEqual(
      new Map<string, PreloadedUser | undefined>([
        ['a', { key: laneOf(1), state: { locale: 'id_ID' } }],
        ['b', undefined],
        ['c', { key: laneOf(2), state: {} }],
      ]),
    );
    await inbox.stop();
  });

  it('is not used by a try after a failure: that try reads the user again', async () => {
    const { store } = withUsers({ [laneOf(1)]: { locale: 'id_ID' } });
    const given: (PreloadedUser | undefined)[] = [];
    const inbox = recordingInbox(store, [], {
      handleEvent: (_event, user) => {
        given.push(user);
        return given.length === 1 ? Promise.reject(new Error('Graph is down')) : Promise.resolve(emptyOutcome());
      },
      retry: { baseMs: 10, maxMs: 20, maxAttempts: 3 },
    });
    await inbox.accept(body([1, 'a']));
    await inbox.idle();
    expect(given).toEqual([{ key: laneOf(1), state: { locale: 'id_ID' } }, undefined]);
    await inbox.stop();
  });
});

describe('a freed slot', () => {
  const counting = (): { store: BotStore; claims: () => number } => {
    const base = createMemoryStore();
    let claims = 0;
    const store: BotStore = {
      ...base,
      claimInboxLanes: (...args) => {
        claims += 1;
        return base.claimInboxLanes(...args);
      },
    };
    return { store, claims: () => claims };
  };
  const inboxOn = (store: BotStore, concurrency: number, handled: string[]) => recordingInbox(store, handled, { concurrency });

  it('claims the lanes that waited while every slot was busy, without any other wake-up', async () => {
    const { store } = counting();
    const handled: string[] = [];
    const inbox = inboxOn(store, 1, handled);
    await inbox.accept(body([1, 'a'], [2, 'b'], [3, 'c']));
    const until = Date.now() + 3000;
    while (handled.length < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handled.sort()).toEqual(['a', 'b', 'c']);
    await inbox.stop();
  });

  it('claims nothing when the last claim took fewer lanes than it asked for (none was left)', async () => {
    const { store, claims } = counting();
    const handled: string[] = [];
    const inbox = inboxOn(store, 8, handled);
    await inbox.accept(body([1, 'a']));
    const until = Date.now() + 3000;
    while (handled.length < 1 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handled).toEqual(['a']);
    expect(claims()).toBe(1);
    expect(inbox.running).toBe(0);
    await inbox.stop();
  });
});
