// The PostgreSQL store's shortcuts on a reply's path (see ARCHITECTURE.md, "Where each millisecond
// of a reply goes"): an expansion that claims the lanes it filled and reads their events in its own
// transaction, claims and lane reads that carry the events, a completion that says which replies
// head their lane, a sent-record that gives back the lane it emptied, and an expansion that needs
// nothing of a session (it works on a new connection).
import { expect, it } from '@jest/globals';
import { expandBody } from '../../services/inbox/expand.ts';
import { LOCK_CLASS } from '../../services/state/migrations/postgres.ts';
import { EXPAND_LOCK, isPostgresStore, LANES_CHANNEL, type PostgresStore } from '../../services/state/postgres-store.ts';
import type { BotStore, InboxRow } from '../../services/state/store.ts';
import { LEASE_MS } from '../../services/state/store.ts';
import { recipientOf } from '../support/mock-graph-server.ts';
import { psid, sleep, textItem, waitFor } from '../reliability/helpers.ts';
import { createRig } from '../reliability/in-process.ts';
import { body, completion, laneOf, outcome, receive } from './fixtures.ts';
import { describePostgresStore } from './stores.ts';
import pg from 'pg';

const A = 'host-a:101:aaaa';
const B = 'host-b:202:bbbb';
const claimFor = (owner: string, limit: number) => ({ claim: { owner, limit, leaseMs: LEASE_MS, withEvents: 8 } });
const textsOf = (rows: readonly InboxRow[] | undefined): (string | undefined)[] =>
  (rows ?? []).map((r) => (r.event?.kind === 'message' ? r.event.message.text : undefined));

describePostgresStore('round trips on the reply path', (subject) => {
  const open = async (): Promise<PostgresStore> => {
    const store = await subject().open();
    if (!isPostgresStore(store)) throw new Error('expected the PostgreSQL store');
    return store;
  };
  const listenLanes = async (store: PostgresStore): Promise<{ heard: string[]; stop: () => Promise<void> }> => {
    const heard: string[] = [];
    const stop = await store.listen([LANES_CHANNEL], (channel, payload) => heard.push(`${channel}:${payload ?? ''}`));
    return { heard, stop };
  };

  it('an expansion asked to claim takes the lanes it filled, with their events, in its transaction; it wakes nobody when it took them all', async () => {
    const store = await open();
    const other = await open();
    const { heard, stop } = await listenLanes(other);
    await store.addNotification({ body: body([1, 'a'], [2, 'b'], [1, 'c']) }, Date.now());
    const result = await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8));
    expect(result).toMatchObject({ notifications: 1, stored: 3, duplicates: 0 });
    const claimed = result.claimed ?? [];
    expect(claimed.map((c) => c.lane).sort()).toEqual([laneOf(1), laneOf(2)].sort());
    expect(claimed.every((c) => !c.takenOver)).toBe(true);
    const byLane = new Map(claimed.map((c) => [c.lane, c.rows]));
    expect(textsOf(byLane.get(laneOf(1)))).toEqual(['a', 'c']);
    expect(textsOf(byLane.get(laneOf(2)))).toEqual(['b']);
    // The rows are the inbox's own: the ids the lane reads give, the events as stored.
    const lane1 = await store.laneEvents(laneOf(1), 10);
    expect(byLane.get(laneOf(1))?.map((r) => r.id)).toEqual(lane1.map((r) => r.id));
    for (const row of lane1) expect(row.event).toEqual(await store.inboxEvent(row.id));
    expect(await store.claimsOf(A)).toEqual({ inbox: 2, outbox: 0 });
    expect(await other.claimInboxLanes(B, 10, LEASE_MS, Date.now())).toEqual([]);
    await sleep(300);
    expect(heard).toEqual([]);
    await stop();
  });

  it('an expansion that claims gives the first row of each lane it filled its user, read after the claim: stored state, or {} for a new user', async () => {
    const store = await open();
    await receive(store, [1, 'earlier']);
    const [held] = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    await completion(store, held?.rows?.[0], outcome(1, [], { locale: 'es_ES', last_inbound_at: 1234 }), A);
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe('released');

    await store.addNotification({ body: body([1, 'again'], [2, 'new'], [1, 'more']) }, Date.now());
    const claimed = (await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8))).claimed ?? [];
    const byLane = new Map(claimed.map((c) => [c.lane, c.rows ?? []]));
    expect(byLane.get(laneOf(1))?.map((r) => r.user)).toEqual([{ locale: 'es_ES', last_inbound_at: 1234 }, undefined]);
    expect(byLane.get(laneOf(2))?.map((r) => r.user)).toEqual([{}]);
    // What it carries is what the handler would have read.
    expect(byLane.get(laneOf(1))?.[0]?.user).toEqual(await store.getUser(laneOf(1)));
    // A claim made outside an expansion, and a lane the expansion did not fill, carry none.
    await receive(store, [3, 'plain']);
    const plain = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    expect(plain.flatMap((c) => (c.rows ?? []).map((r) => r.user))).toEqual([undefined]);
  });

  it('a lane another instance holds is not claimed, and its user goes with no row; a stored state that cannot be read goes with none', async () => {
    const store = await open();
    const other = await open();
    await receive(store, [1, 'held by B']);
    expect(await other.claimInboxLanes(B, 10, LEASE_MS, Date.now())).toHaveLength(1);
    await subject().sql?.('INSERT INTO users (key, state) VALUES ($1, $2)', [laneOf(2), '{not json']);
    await store.addNotification({ body: body([1, 'for B'], [2, 'damaged user']) }, Date.now());
    const claimed = (await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8))).claimed ?? [];
    expect(claimed.map((c) => c.lane)).toEqual([laneOf(2)]);
    expect(claimed[0]?.rows?.map((r) => r.user)).toEqual([undefined]);
    await expect(store.getUser(laneOf(2))).rejects.toThrow(SyntaxError);
  });

  it('an expansion that could claim only some of its lanes wakes the other instances, which take the rest', async () => {
    const store = await open();
    const other = await open();
    const { heard, stop } = await listenLanes(other);
    await store.addNotification({ body: body([1, 'a'], [2, 'b'], [3, 'c']) }, Date.now());
    const result = await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 1));
    expect(result.claimed).toHaveLength(1);
    await waitFor(() => heard.length > 0, 5000, () => 'no wake-up on bot_lanes');
    const rest = await other.claimInboxLanes(B, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    expect(rest).toHaveLength(2);
    expect(new Set([...(result.claimed ?? []), ...rest].map((c) => c.lane))).toEqual(new Set([laneOf(1), laneOf(2), laneOf(3)]));
    expect(rest.flatMap((c) => textsOf(c.rows))).toHaveLength(2);
    await stop();
  });

  it('with nothing to expand, the claim still happens (in the same transaction); while another expands, nothing is claimed and the answer is busy', async () => {
    const store = await open();
    await receive(store, [1, 'waiting']);
    const idle = await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8));
    expect(idle).toMatchObject({ notifications: 0, stored: 0 });
    expect(idle.claimed?.map((c) => [c.lane, textsOf(c.rows)])).toEqual([[laneOf(1), ['waiting']]]);

    await receive(store, [2, 'next']);
    const holder = new pg.Client({ connectionString: subject().url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, EXPAND_LOCK]);
      const busy = await store.expandNotifications(100, expandBody, Date.now(), { ifFree: true, ...claimFor(A, 8) });
      expect(busy).toMatchObject({ busy: true, notifications: 0 });
      expect(busy.claimed).toBeUndefined();
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect((await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 })).map((c) => [c.lane, textsOf(c.rows)])).toEqual([[laneOf(2), ['next']]]);
  });

  it('a claim with events gives each lane its first events in order, at most as many as asked; without, none', async () => {
    const store = await open();
    await receive(store, [1, 'a'], [1, 'b'], [1, 'c'], [2, 'd']);
    const claimed = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 2 });
    expect(claimed.map((c) => [c.lane, textsOf(c.rows)])).toEqual([
      [laneOf(1), ['a', 'b']],
      [laneOf(2), ['d']],
    ]);
    await store.releaseClaims(A);
    const plain = await store.claimInboxLanes(B, 10, LEASE_MS, Date.now());
    expect(plain.every((c) => c.rows === undefined)).toBe(true);
  });

  it('an event whose stored JSON cannot be read comes without it, and reading it alone gives the error', async () => {
    const store = await open();
    await receive(store, [1, 'fine'], [1, 'damaged']);
    const [, damaged] = await store.laneEvents(laneOf(1), 10);
    await subject().sql?.('UPDATE inbox SET event = $1 WHERE id = $2', ['{not json', damaged?.id]);
    const [claimed] = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    expect(textsOf(claimed?.rows)).toEqual(['fine', undefined]);
    expect(claimed?.rows?.[1]?.event).toBeUndefined();
    await expect(store.inboxEvent(damaged?.id ?? 0)).rejects.toThrow(SyntaxError);
  });

  it('a completion names the replies that head their lane, and none while an earlier reply still waits in it', async () => {
    const store = await open();
    await receive(store, [1, 'first'], [1, 'second']);
    const [claimed] = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    const [first, second] = claimed?.rows ?? [];
    const done = await completion(store, first, outcome(1, ['r1', 'r2']), A);
    expect(done.heads?.map((r) => r.id)).toEqual([done.replies[0]?.id]);
    expect(await store.outboxHead(laneOf(1))).toMatchObject({ id: done.replies[0]?.id });
    const later = await completion(store, second, outcome(1, ['r3']), A);
    expect(later.held).toEqual([laneOf(1)]);
    expect(later.heads).toBeUndefined();
  });

  it('a sent-record asked to give the lane back does so with the lane’s last reply, not before; another instance may take it at once', async () => {
    const store = await open();
    const other = await open();
    await receive(store, [1, 'hi']);
    const [claimed] = await store.claimInboxLanes(A, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    const done = await completion(store, claimed?.rows?.[0], outcome(1, ['r1', 'r2']), A);
    const [r1, r2] = done.replies;
    expect(await store.outboxSent(r1?.id ?? 0, { userKey: laneOf(1), mid: 'm1' }, Date.now(), A, { releaseIfEmpty: true })).toBeUndefined();
    expect(await store.claimsOf(A)).toMatchObject({ outbox: 1 });
    expect(await store.outboxSent(r2?.id ?? 0, { userKey: laneOf(1), mid: 'm2' }, Date.now(), A, { releaseIfEmpty: true })).toBe('released');
    expect(await store.claimsOf(A)).toMatchObject({ outbox: 0 });
    expect(await store.getSent(laneOf(1), 'm2')).toMatchObject({ status: 'sent' });
    // Not A's any more: its fenced writes are refused, and the next reply goes to whoever takes it.
    expect(await store.releaseOutboxLane(laneOf(1), A, Date.now())).toBe('lost');
    expect(await store.releaseInboxLane(laneOf(1), A, Date.now())).toBe('released');
    await receive(store, [1, 'again']);
    const [next] = await other.claimInboxLanes(B, 10, LEASE_MS, Date.now(), { withEvents: 8 });
    const later = await completion(other, next?.rows?.[0], outcome(1, ['r3']), B);
    expect(later.held).toEqual([laneOf(1)]);
    expect(later.heads?.map((r) => r.id)).toEqual([later.replies[0]?.id]);
    // Without the option the lane stays held, as the other stores do.
    expect(await other.outboxSent(later.replies[0]?.id ?? 0, { userKey: laneOf(1), mid: 'm3' }, Date.now(), B)).toBeUndefined();
    expect(await other.claimsOf(B)).toMatchObject({ outbox: 1 });
  });

  it('after its connections were ended, an expansion that claims works on new ones (nothing it needs lives in a session)', async () => {
    const store = await open();
    await store.addNotification({ body: body([1, 'before']) }, Date.now());
    expect((await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8))).stored).toBe(1);
    const ended = await subject().sql?.("SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'store-contract' AND pid <> pg_backend_pid()");
    expect(ended?.length).toBeGreaterThan(0);
    await sleep(100);
    await store.addNotification({ body: body([2, 'after']) }, Date.now());
    const again = await store.expandNotifications(100, expandBody, Date.now(), claimFor(A, 8));
    expect(again).toMatchObject({ stored: 1 });
    expect(again.claimed?.map((c) => c.lane)).toEqual([laneOf(2)]);
  });

  it('a first-contact message through the real bot: its event is read with the claim and its reply sent without reading the lane, the event, the outbox head or the user again', async () => {
    const base = await open();
    const calls: { name: string; at: number }[] = [];
    const counted = new Set(['laneEvents', 'inboxEvent', 'outboxHead', 'getUser', 'claimInboxLanes', 'claimOutboxLanes', 'releaseOutboxLane', 'expandNotifications']);
    const store = new Proxy(base, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (typeof name !== 'string' || !counted.has(name) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push({ name, at: performance.now() });
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as BotStore;
    const rig = await createRig({ bot: { store } });
    try {
      const user = psid(7001);
      await rig.h.bot.idle();
      const posted = performance.now();
      await rig.post(textItem(user, 'hello', Date.now()));
      await waitFor(() => rig.mock.sends().some((c) => recipientOf(c) === user), 10_000, () => 'no reply');
      await rig.h.bot.idle();
      const firstSend = rig.issued.find((c) => c.url.endsWith('/messages'))?.at ?? Number.POSITIVE_INFINITY;
      const before = calls.filter((c) => c.at >= posted && c.at < firstSend).map((c) => c.name);
      // The user came with the claim (read after it, in its transaction); nothing is read between the claim and the send.
      expect(before).not.toContain('getUser');
      expect(before).not.toContain('laneEvents');
      expect(before).not.toContain('inboxEvent');
      expect(before).not.toContain('outboxHead');
      expect(before).not.toContain('claimInboxLanes');
      // The webhook's wake-up is the inbox's news: no claim of reply lanes on the way.
      expect(before).not.toContain('claimOutboxLanes');
      expect(calls.map((c) => c.name)).not.toContain('inboxEvent');
      // The last reply's sent-record gave the reply lane back: no head read to find it empty, no release.
      const after = calls.filter((c) => c.at >= firstSend).map((c) => c.name);
      expect(after).not.toContain('releaseOutboxLane');
    } finally {
      await rig.close();
    }
  });
});
