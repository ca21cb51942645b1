// The store contract, part 3: reply lanes, for every store. completeEvent queues the replies and
// gives their lane to the owner that handled the event; sent, retried (the lane comes back when the
// reply is due) and failed replies (dropRest, apologise); fenced writes LOST after another owner
// took the lane; a reply that cannot be read is given up.
import { expect, it } from '@jest/globals';
import { LOST, type BotStore } from '../../services/state/store.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import { body, claimLane, complete, completion, laneOf, outcome, receive, replyText, sleep } from './fixtures.ts';
import { describeEachStore } from './stores.ts';

const A = 'host-a:101:aaaa';
const B = 'host-b:202:bbbb';

/** `user` sends one message and `owner` handles it with `replies`; returns the queued rows. */
async function handled(store: BotStore, owner: string, user: number, replies: string[], apology?: string) {
  return (await handledWith(store, owner, user, replies, apology)).replies;
}

async function handledWith(store: BotStore, owner: string, user: number, replies: string[], apology?: string) {
  await receive(store, [user, `from ${user}`]);
  await claimLane(store, owner, user);
  const [row] = await store.laneEvents(laneOf(user), 1);
  return completion(store, row, outcome(user, replies, {}, apology), owner);
}

describeEachStore('reply lanes', (subject) => {
  it('a reply carries when the webhook that caused it arrived (for the reply-latency metric)', async () => {
    const store = await subject().open();
    const arrived = Date.now() - 5000;
    await store.addNotification({ body: body([1, 'hello']) }, arrived);
    await store.expandNotifications(100, expandBody, Date.now());
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await completion(store, row, outcome(1, ['hi']), A);
    expect(await store.outboxHead(laneOf(1))).toMatchObject({ received_at: arrived });
  });

  it('completeEvent queues the replies in order and gives their lane to the owner that handled the event', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const { replies: rows, held } = await handledWith(a, A, 1, ['one', 'two']);
    expect(held).toEqual([laneOf(1)]);
    expect(rows.map((r) => [r.lane, r.user_key, replyText(r), r.attempts])).toEqual([
      [laneOf(1), laneOf(1), 'one', 0],
      [laneOf(1), laneOf(1), 'two', 0],
    ]);
    expect((rows[1]?.id ?? 0) > (rows[0]?.id ?? 0)).toBe(true);
    expect(await a.claimsOf(A)).toEqual({ inbox: 1, outbox: 1 });
    expect(await b.claimOutboxLanes(B, 10, 10_000, Date.now())).toEqual([]);
    expect(await a.outboxLanes()).toEqual([laneOf(1)]);

    const head = await a.outboxHead(laneOf(1));
    expect(head).toEqual(rows[0]);
    expect(await a.outboxSent(head?.id ?? 0, { userKey: laneOf(1), mid: 'm_sent_1' }, Date.now(), A)).toBeUndefined();
    expect(replyText(await a.outboxHead(laneOf(1)))).toBe('two');
    expect(await a.releaseOutboxLane(laneOf(1), A, Date.now())).toBe('busy');
    await a.outboxSent(rows[1]?.id ?? 0, { userKey: laneOf(1), mid: 'm_sent_2' }, Date.now(), A);
    expect(await a.outboxHead(laneOf(1))).toBeUndefined();
    expect(await a.releaseOutboxLane(laneOf(1), A, Date.now())).toBe('released');
    expect(await a.claimsOf(A)).toEqual({ inbox: 1, outbox: 0 });
    expect(await a.outboxLanes()).toEqual([]);
    // The sent messages are tracked for statuses.
    expect(await b.getSent(laneOf(1), 'm_sent_2')).toMatchObject({ mid: 'm_sent_2', status: 'sent', thanked: false });
  });

  it('a reply lane another owner holds stays theirs: the new replies wait in it', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await handled(a, A, 1, ['first']);
    await a.releaseInboxLane(laneOf(1), A, Date.now());
    const more = await handledWith(b, B, 1, ['second']);
    expect(more.replies.map(replyText)).toEqual(['second']);
    // B does not hold the reply lane: A, which sends this user's earlier reply, sends this one too.
    expect(more.held).toEqual([]);
    expect(await b.claimsOf(B)).toEqual({ inbox: 1, outbox: 0 });
    expect(await a.claimsOf(A)).toEqual({ inbox: 0, outbox: 1 });
    const first = await a.outboxHead(laneOf(1));
    await a.outboxSent(first?.id ?? 0, { userKey: laneOf(1), mid: undefined }, Date.now(), A);
    expect(replyText(await a.outboxHead(laneOf(1)))).toBe('second');
  });

  it('a reply lane nobody holds is claimable when its next reply is due', async () => {
    const store = await subject().open();
    await handled(store, A, 1, ['one']);
    const now = Date.now();
    expect(await store.releaseOutboxLane(laneOf(1), A, now, now)).toBe('released');
    expect(await store.claimOutboxLanes(B, 10, 10_000, now)).toEqual([laneOf(1)]);
    expect(await store.claimOutboxLanes(A, 10, 10_000, now)).toEqual([]);
    expect(await store.claimsOf(B)).toEqual({ inbox: 0, outbox: 1 });
  });

  it('after another owner took the reply lane, outboxSent, outboxRetry and outboxFail are LOST and change nothing', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const [row] = await handled(a, A, 1, ['one'], 'sorry');
    const now = Date.now();
    await a.releaseOutboxLane(laneOf(1), A, now, now);
    expect(await b.claimOutboxLanes(B, 10, 10_000, now)).toEqual([laneOf(1)]);
    const id = row?.id ?? 0;
    expect(await a.outboxSent(id, { userKey: laneOf(1), mid: 'm_x' }, now, A)).toBe(LOST);
    expect(await a.outboxRetry(id, { attempts: 1, nextAttemptAt: now + 5000, error: 'HTTP 500' }, now, A)).toBe(LOST);
    expect(await a.outboxFail(id, { reason: 'code 10', dropRest: true, apologise: true }, now, A)).toBe(LOST);
    expect(await b.outboxHead(laneOf(1))).toEqual(row);
    expect(await b.backlog()).toMatchObject({ outbox: 1, failed: 0 });
    expect(await b.getSent(laneOf(1), 'm_x')).toBeUndefined();
    expect(await b.outboxSent(id, { userKey: laneOf(1), mid: 'm_x' }, now, B)).toBeUndefined();
    expect(await b.backlog()).toMatchObject({ outbox: 0 });
  });

  it('a reply lane whose lease ran out (renewed with a short lease) is taken over; the first owner’s send is LOST', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const [row] = await handled(a, A, 1, ['one']);
    await a.renewClaims(A, 200, Date.now());
    await sleep(600);
    expect(await b.claimOutboxLanes(B, 10, 10_000, Date.now())).toEqual([laneOf(1)]);
    expect(await a.outboxSent(row?.id ?? 0, { userKey: laneOf(1), mid: 'm_late' }, Date.now(), A)).toBe(LOST);
    expect(await b.outboxHead(laneOf(1))).toEqual(row);
  });

  it('outboxRetry reschedules the reply and gives its lane back until the reply is due', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const [row] = await handled(a, A, 1, ['one', 'two']);
    const now = Date.now();
    expect(await a.outboxRetry(row?.id ?? 0, { attempts: 1, nextAttemptAt: now + 60_000, error: 'HTTP 503' }, now, A)).toBeUndefined();
    expect(await a.claimsOf(A)).toEqual({ inbox: 1, outbox: 0 });
    expect(await b.claimOutboxLanes(B, 10, 10_000, now + 1000)).toEqual([]);
    expect(await b.claimOutboxLanes(B, 10, 10_000, now + 60_000)).toEqual([laneOf(1)]);
    expect(await b.outboxHead(laneOf(1))).toMatchObject({ id: row?.id, attempts: 1, next_attempt_at: now + 60_000 });
  });

  it('releaseOutboxLane: busy with replies waiting and no time given; with a time, not claimable before it', async () => {
    const store = await subject().open();
    await handled(store, A, 1, ['one']);
    const now = Date.now();
    expect(await store.releaseOutboxLane(laneOf(1), A, now)).toBe('busy');
    expect(await store.claimsOf(A)).toMatchObject({ outbox: 1 });
    expect(await store.releaseOutboxLane(laneOf(1), B, now, now)).toBe(LOST);
    // A paused account: the lane is given back until the pause ends.
    expect(await store.releaseOutboxLane(laneOf(1), A, now, now + 30_000)).toBe('released');
    expect(await store.claimOutboxLanes(B, 10, 10_000, now + 29_000)).toEqual([]);
    expect(await store.claimOutboxLanes(B, 10, 10_000, now + 30_000)).toEqual([laneOf(1)]);
  });

  it('outboxFail gives a reply up with its reason, drops the event’s later replies (dropRest) and puts the apology in its place (apologise)', async () => {
    const store = await subject().open();
    const rows = await handled(store, A, 1, ['one', 'two', 'three'], 'sorry');
    await store.releaseInboxLane(laneOf(1), A, Date.now());
    // A later event's reply in the same lane is not the failed event's: it stays.
    const later = await handled(store, A, 1, ['next event']);
    expect(await store.outboxFail(rows[0]?.id ?? 0, { reason: 'code 551: not available', dropRest: true, apologise: true }, Date.now(), A)).toBe(2);
    const head = await store.outboxHead(laneOf(1));
    expect(replyText(head)).toBe('sorry');
    expect(head?.apology).toBeUndefined();
    expect(await store.backlog()).toMatchObject({ outbox: 2, failed: 3 });
    await store.outboxSent(head?.id ?? 0, { userKey: laneOf(1), mid: undefined }, Date.now(), A);
    expect(await store.outboxHead(laneOf(1))).toEqual(later[0]);
    // Without dropRest and apologise: only that reply goes (it has no apology anyway).
    expect(await store.outboxFail(later[0]?.id ?? 0, { reason: 'code 551 again', dropRest: false, apologise: true }, Date.now(), A)).toBe(0);
    expect(await store.outboxHead(laneOf(1))).toBeUndefined();
    expect(await store.backlog()).toMatchObject({ outbox: 0, failed: 4 });
    expect(await store.outboxFail(987_654, { reason: 'gone', dropRest: true, apologise: true }, Date.now(), A)).toBe(0);
    expect(await store.releaseOutboxLane(laneOf(1), A, Date.now())).toBe('released');
  });

  it('a reply without a user key goes to a lane of its recipient', async () => {
    const store = await subject().open();
    await receive(store, [1, 'opt-in']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    const toRef = { type: 'message' as const, recipient: { user_ref: 'ref-123' }, message: { text: 'hello' } };
    const done = await completion(store, row, { userKey: undefined, user: undefined, sentUpdates: [], statusUpdates: [], actions: [toRef], apology: undefined }, A);
    expect(done.replies).toEqual([expect.objectContaining({ lane: 'recipient:ref-123', user_key: undefined, action: toRef })]);
    expect(done.held).toEqual(['recipient:ref-123']);
    expect(await store.outboxLanes()).toEqual(['recipient:ref-123']);
    expect(await store.claimsOf(A)).toEqual({ inbox: 1, outbox: 1 });
  });

  it('completeEvent applies the handler’s changes to sent messages (a reaction, and that the bot thanked for it)', async () => {
    const store = await subject().open();
    await store.recordSent(laneOf(1), 'm_bot_1', Date.now());
    await receive(store, [1, 'reaction']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await complete(store, row, { ...outcome(1, ['thanks!']), sentUpdates: [{ mid: 'm_bot_1', reaction: 'love', thanked: true }] }, A);
    expect(await store.getSent(laneOf(1), 'm_bot_1')).toMatchObject({ reaction: 'love', thanked: true });
    await receive(store, [1, 'unreact']);
    const [next] = await store.laneEvents(laneOf(1), 1);
    await complete(store, next, { ...outcome(1, []), sentUpdates: [{ mid: 'm_bot_1', reaction: null }] }, A);
    const message = await store.getSent(laneOf(1), 'm_bot_1');
    expect(message?.reaction).toBeUndefined();
    expect(message?.thanked).toBe(true);
  });

  if (subject().sql) {
    it('outboxHead gives up a reply that cannot be read, with the reason, and returns the next one', async () => {
      const store = await subject().open();
      const rows = await handled(store, A, 1, ['damaged', 'fine']);
      await subject().sql?.('UPDATE outbox SET action = $1 WHERE id = $2', ['{"type":"message",', rows[0]?.id]);
      expect(await store.outboxHead(laneOf(1))).toEqual(rows[1]);
      expect(await store.backlog()).toMatchObject({ outbox: 1, failed: 1 });
      const [failed] = (await subject().sql?.('SELECT reason FROM failed_sends WHERE id = $1', [rows[0]?.id])) ?? [];
      expect(failed?.reason).toMatch(/^unreadable: SyntaxError/);
      await store.outboxSent(rows[1]?.id ?? 0, { userKey: laneOf(1), mid: undefined }, Date.now(), A);
      expect(await store.releaseOutboxLane(laneOf(1), A, Date.now())).toBe('released');
    });
  }
});
