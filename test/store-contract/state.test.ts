// The store contract, part 4: users, sent messages and their statuses (forward only), account
// pauses shared by every instance, the backlog counts, and pruning, for every store.
import { expect, it } from '@jest/globals';
import { expandBody } from '../../services/inbox/expand.ts';
import type { MessageStatus, StatusUpdate } from '../../services/state/store.ts';
import { DEDUP_RETENTION_MS, LOST, SENT_RETENTION_MS } from '../../services/state/store.ts';
import { claimLane, complete, fixedBody, laneOf, outcome, receive } from './fixtures.ts';
import { describeEachStore } from './stores.ts';

const A = 'host-a:101:aaaa';

describeEachStore('users, statuses, pauses, backlog and pruning', (subject) => {
  it('keeps each user’s state; an unknown user has none; what it returns is a copy', async () => {
    const a = await subject().open();
    const b = await subject().open();
    expect(await a.getUser(laneOf(1))).toEqual({});
    await a.putUser(laneOf(1), { locale: 'es_ES', thread_owner: 'human', profile: { first_name: 'Ana', fetched_at: 1 } });
    const user = await b.getUser(laneOf(1));
    expect(user).toEqual({ locale: 'es_ES', thread_owner: 'human', profile: { first_name: 'Ana', fetched_at: 1 } });
    user.locale = 'zh_TW';
    expect((await a.getUser(laneOf(1))).locale).toBe('es_ES');
    await a.putUser(laneOf(1), { step: 'awaiting_order_number' });
    expect(await b.getUser(laneOf(1))).toEqual({ step: 'awaiting_order_number' });
    expect(await b.getUser(laneOf(1).replace('/messenger:', '/instagram:'))).toEqual({});
  });

  it('caches a profile looked up after an event, only while the user\'s inbox lane is held, changing nothing else', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const B = 'host-b:202:bbbb';
    const key = laneOf(1);
    await receive(a, [1, 'hello']);
    await claimLane(a, A, 1);
    const [row] = await a.laneEvents(key, 1);
    await complete(a, row, outcome(1, ['welcome'], { step: 'awaiting_order_number', last_inbound_at: 5 }), A);
    // Another instance never writes a profile into a lane it does not hold; the holder does.
    expect(await b.putProfile(key, { first_name: 'Eve', fetched_at: 2 }, key, B)).toBe(LOST);
    expect(await b.putProfile(key, { first_name: 'Ana', locale: 'es_MX', fetched_at: 3 }, key, A)).toBeUndefined();
    expect(await a.getUser(key)).toEqual({ step: 'awaiting_order_number', last_inbound_at: 5, profile: { first_name: 'Ana', locale: 'es_MX', fetched_at: 3 } });
    // A failed lookup is cached too (it replaces the profile, not the rest).
    await a.putProfile(key, { first_name: 'Ana', fetched_at: 4, failed: true }, key, A);
    expect(await b.getUser(key)).toEqual({ step: 'awaiting_order_number', last_inbound_at: 5, profile: { first_name: 'Ana', fetched_at: 4, failed: true } });
    // A user with no state yet gets one holding the profile.
    await receive(a, [2, 'hi']);
    await claimLane(a, A, 2);
    expect(await a.putProfile(laneOf(2), { first_name: 'Budi', fetched_at: 6 }, laneOf(2), A)).toBeUndefined();
    expect(await b.getUser(laneOf(2))).toEqual({ profile: { first_name: 'Budi', fetched_at: 6 } });
    // Once the lane is given back, the profile can no longer be written by its former holder.
    expect(await a.releaseInboxLane(key, A, Date.now())).toBe('released');
    expect(await a.putProfile(key, { first_name: 'Late', fetched_at: 7 }, key, A)).toBe(LOST);
    expect((await b.getUser(key)).profile).toEqual({ first_name: 'Ana', fetched_at: 4, failed: true });
  });

  it('statuses only move forward (sent → delivered → read), by message id or by watermark, counting what changed', async () => {
    const store = await subject().open();
    const key = laneOf(1);
    const t = Date.now();
    await store.recordSent(key, 'm1', t);
    await store.recordSent(key, 'm2', t + 10);
    await store.recordSent(key, 'm3', t + 20);
    expect(await store.getSent(key, 'm1')).toEqual({ mid: 'm1', sent_at: t, status: 'sent', thanked: false });
    expect(await store.getSent(key, 'nope')).toBeUndefined();
    expect(await store.getSent(laneOf(2), 'm1')).toBeUndefined();

    // Receipts change statuses only through the outcome of the event that carried them.
    const receipt = async (userKey: string, update: StatusUpdate, status: MessageStatus) => {
      await receive(store, [userKey === key ? 1 : 2, 'a receipt']);
      await claimLane(store, A, userKey === key ? 1 : 2);
      const [row] = await store.laneEvents(userKey, 1);
      await complete(store, row, { ...outcome(userKey === key ? 1 : 2, []), statusUpdates: [{ update, status }] }, A);
      expect(await store.releaseInboxLane(userKey, A, Date.now())).toBe('released');
    };
    const statuses = async () => Promise.all(['m1', 'm2', 'm3'].map(async (mid) => (await store.getSent(key, mid))?.status));
    await receipt(key, { mids: ['m1'] }, 'delivered');
    await receipt(key, { mids: ['m1'] }, 'delivered');
    expect(await statuses()).toEqual(['delivered', 'sent', 'sent']);
    // A watermark covers every message sent at or before it.
    await receipt(key, { watermark: t + 10 }, 'read');
    expect(await statuses()).toEqual(['read', 'read', 'sent']);
    // Never backwards: a late delivery report for a read message changes nothing.
    await receipt(key, { mids: ['m1', 'm2'], watermark: t + 20 }, 'delivered');
    expect(await statuses()).toEqual(['read', 'read', 'delivered']);
    await receipt(key, { mids: ['m3'] }, 'sent');
    expect(await statuses()).toEqual(['read', 'read', 'delivered']);
    // Another user's receipt covers only their messages.
    await receipt(laneOf(2), { watermark: t + 100 }, 'read');
    expect(await statuses()).toEqual(['read', 'read', 'delivered']);
  });

  it('an account pause is seen by every instance until it ends or is lifted', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const now = Date.now();
    expect(await b.pausedAccounts(now)).toEqual(new Map());
    await a.pauseAccount('1234567890', now + 60_000, 'code 190: the token is invalid');
    await a.pauseAccount('17841400000000000', now + 5_000, 'code 190');
    expect(await b.pausedAccounts(now)).toEqual(
      new Map([
        ['1234567890', now + 60_000],
        ['17841400000000000', now + 5_000],
      ]),
    );
    expect(await b.pausedAccounts(now + 5_000)).toEqual(new Map([['1234567890', now + 60_000]]));
    // Pausing again moves the end.
    await b.pauseAccount('1234567890', now + 120_000, 'code 190 again');
    expect((await a.pausedAccounts(now)).get('1234567890')).toBe(now + 120_000);
    await b.resumeAccount('1234567890');
    expect(await a.pausedAccounts(now)).toEqual(new Map([['17841400000000000', now + 5_000]]));
    await b.resumeAccount('not paused');
  });

  it('resumeAccounts (a restart after the token was replaced) lifts every pause and makes every reply lane claimable now', async () => {
    const store = await subject().open();
    const now = Date.now();
    await store.pauseAccount('1234567890', now + 60_000, 'code 190');
    await store.pauseAccount('17841400000000000', now + 60_000, 'code 190');
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await complete(store, row, outcome(1, ['reply']), A);
    expect(await store.releaseOutboxLane(laneOf(1), A, now, now + 60_000)).toBe('released');
    expect(await store.claimOutboxLanes(A, 10, 10_000, now)).toEqual([]);
    await store.resumeAccounts();
    expect(await store.pausedAccounts(now)).toEqual(new Map());
    expect(await store.claimOutboxLanes(A, 10, 10_000, now)).toEqual([laneOf(1)]);
  });

  it('the backlog counts what waits and what was given up', async () => {
    const store = await subject().open();
    expect(await store.backlog()).toEqual({ received: 0, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });
    await receive(store, [1, 'a'], [1, 'b'], [2, 'c']);
    await store.addNotification({ body: Buffer.from('not json') }, Date.now());
    await store.expandNotifications(100, expandBody, Date.now());
    await store.addNotification({ body: fixedBody([[3, 'd', Date.now()]]) }, Date.now());
    await claimLane(store, A, 1);
    const [first, second] = await store.laneEvents(laneOf(1), 2);
    const [reply] = await complete(store, first, outcome(1, ['r1', 'r2']), A);
    await store.setAsideEvent(second?.id ?? 0, 'kept failing', Date.now(), A);
    await store.outboxFail(reply?.id ?? 0, { reason: 'code 551', dropRest: false, apologise: false }, Date.now(), A);
    expect(await store.backlog()).toEqual({ received: 1, inbox: 1, outbox: 1, failed: 1, unreadable: 1, failed_events: 1 });
  });

  it('prune forgets dedup keys and sent messages older than their retention, and keeps the newer ones', async () => {
    const store = await subject().open();
    const t = Date.now();
    const old = fixedBody([[1, 'old', t]]);
    await store.addNotification({ body: old }, t);
    await store.expandNotifications(100, expandBody, t);
    const recent = fixedBody([[2, 'recent', t + 1]]);
    await store.addNotification({ body: recent }, t);
    await store.expandNotifications(100, expandBody, t + DEDUP_RETENTION_MS / 2);
    await store.recordSent(laneOf(1), 'm_old', t - SENT_RETENTION_MS - 1);
    await store.recordSent(laneOf(1), 'm_new', t - 1000);

    await store.prune(t + DEDUP_RETENTION_MS + 1);
    await store.prune(t + DEDUP_RETENTION_MS + 2);
    // The old key is forgotten (a redelivery now would be stored), the recent one is not.
    await store.addNotification({ body: old }, t);
    await store.addNotification({ body: recent }, t);
    expect(await store.expandNotifications(100, expandBody, t + DEDUP_RETENTION_MS + 3)).toMatchObject({ stored: 1, duplicates: 1 });
    expect(await store.getSent(laneOf(1), 'm_old')).toBeUndefined();
    expect(await store.getSent(laneOf(1), 'm_new')).toMatchObject({ mid: 'm_new' });
    // Pruning never touches what waits.
    expect(await store.backlog()).toMatchObject({ inbox: 3 });
  });
});
