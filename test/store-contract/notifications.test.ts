// The store contract, part 1: stored notifications and their expansion into inbox lanes, for every
// store. Order (inbox ids follow the bodies' arrival), the event budget, dedup across instances,
// each notification and each event isolated (set aside with the reason), and received_at.
import { expect, it } from '@jest/globals';
import type { WebhookEvent } from '../../services/events/types.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import type { ExpandedNotification, NotificationExpander } from '../../services/state/store.ts';
import { body, fixedBody, laneOf, laneTexts, psid, receive, textOf } from './fixtures.ts';
import { describeEachStore } from './stores.ts';

const empty = { notifications: 0, stored: 0, duplicates: 0, unreadable: [] };

describeEachStore('stored notifications and expansion', (subject) => {
  it('expands oldest first, stopping once the event budget is reached (at least one body); inbox ids follow arrival order', async () => {
    const store = await subject().open();
    const t = Date.now();
    await store.addNotification({ body: body([1, 'a'], [1, 'b']) }, t);
    await store.addNotification({ body: body([2, 'c'], [2, 'd']) }, t + 1);
    await store.addNotification({ body: body([3, 'e']) }, t + 2);
    expect(await store.backlog()).toEqual({ received: 3, inbox: 0, outbox: 0, failed: 0, unreadable: 0, failed_events: 0 });

    // 2 events < 3, so a second body is taken; 4 ≥ 3 stops there.
    expect(await store.expandNotifications(3, expandBody, t + 10)).toEqual({ notifications: 2, stored: 4, duplicates: 0, unreadable: [] });
    expect(await store.backlog()).toMatchObject({ received: 1, inbox: 4 });
    // A budget of 0 still takes one body, so a caller always makes progress.
    expect(await store.expandNotifications(0, expandBody, t + 11)).toMatchObject({ notifications: 1, stored: 1 });
    expect(await store.expandNotifications(100, expandBody, t + 12)).toEqual(empty);

    const rows = await store.inboxAfter(0, 10);
    expect(await Promise.all(rows.map((r) => textOf(store, r)))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(rows.map((r) => r.lane)).toEqual([1, 1, 2, 2, 3].map(laneOf));
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((x, y) => x - y));
    // Each event keeps when the webhook stored its notification.
    expect(rows.map((r) => r.received_at)).toEqual([t, t, t + 1, t + 1, t + 2]);
    expect(rows.map((r) => r.attempts)).toEqual([0, 0, 0, 0, 0]);
  });

  it('pages through waiting events by id; laneEvents gives one lane’s events in order, up to a limit', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a'], [2, 'b'], [1, 'c'], [1, 'd']);
    const [first, ...rest] = await store.inboxAfter(0, 1);
    expect(rest).toEqual([]);
    expect(await textOf(store, first)).toBe('a');
    expect((await store.inboxAfter(first?.id ?? 0, 10)).length).toBe(3);
    expect(await laneTexts(store, 1)).toEqual(['a', 'c', 'd']);
    expect(await laneTexts(store, 1, 2)).toEqual(['a', 'c']);
    expect(await laneTexts(store, 2)).toEqual(['b']);
    expect(await store.laneEvents(laneOf(9), 10)).toEqual([]);
    expect(await store.inboxEvent(987_654)).toBeUndefined();
  });

  it('drops a redelivered body’s events by key, whichever instance stored the first copy', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const t = Date.now();
    const same = fixedBody([
      [1, 'a', t],
      [1, 'b', t + 1],
    ]);
    await a.addNotification({ body: same }, t);
    expect(await a.expandNotifications(100, expandBody, t)).toEqual({ notifications: 1, stored: 2, duplicates: 0, unreadable: [] });
    await b.addNotification({ body: same }, t + 1000);
    expect(await b.expandNotifications(100, expandBody, t + 1000)).toEqual({ notifications: 1, stored: 0, duplicates: 2, unreadable: [] });
    // Twice in one batch: the first copy is stored, the second is a duplicate.
    const again = fixedBody([[2, 'c', t + 2]]);
    await b.addNotification({ body: again }, t);
    await a.addNotification({ body: again }, t);
    expect(await a.expandNotifications(100, expandBody, t + 2000)).toEqual({ notifications: 2, stored: 1, duplicates: 1, unreadable: [] });
    expect(await a.backlog()).toMatchObject({ received: 0, inbox: 3 });
  });

  it('two instances expanding at once take each body once, and the inbox keeps the bodies’ order', async () => {
    const a = await subject().open();
    const b = await subject().open();
    const texts: string[] = [];
    for (let i = 0; i < 30; i++) {
      texts.push(`t${i}`);
      await (i % 2 === 0 ? a : b).addNotification({ body: body([i % 5, `t${i}`]) }, Date.now());
    }
    const drain = async (store: typeof a): Promise<{ stored: number; duplicates: number }> => {
      const total = { stored: 0, duplicates: 0 };
      for (;;) {
        const result = await store.expandNotifications(4, expandBody, Date.now());
        if (result.notifications === 0) return total;
        total.stored += result.stored;
        total.duplicates += result.duplicates;
      }
    };
    const [fromA, fromB] = await Promise.all([drain(a), drain(b)]);
    expect(fromA.stored + fromB.stored).toBe(30);
    expect(fromA.duplicates + fromB.duplicates).toBe(0);
    const rows = await a.inboxAfter(0, 100);
    expect(await Promise.all(rows.map((r) => textOf(a, r)))).toEqual(texts);
  });

  it('a body the expander throws on is set aside; the bodies before and after it are expanded in the same call', async () => {
    const store = await subject().open();
    await store.addNotification({ body: body([1, 'a']) }, Date.now());
    await store.addNotification({ body: body([1, 'POISON']) }, Date.now());
    await store.addNotification({ body: body([1, 'c']) }, Date.now());
    const throwing: NotificationExpander = (bytes, receivedAt) => {
      if (Buffer.from(bytes).includes('POISON')) throw new RangeError('Maximum call stack size exceeded');
      return expandBody(bytes, receivedAt);
    };
    const result = await store.expandNotifications(100, throwing, Date.now());
    expect(result).toEqual({ notifications: 3, stored: 2, duplicates: 0, unreadable: [{ id: expect.any(Number), reason: 'RangeError: Maximum call stack size exceeded' }] });
    expect(await laneTexts(store, 1)).toEqual(['a', 'c']);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 2, outbox: 0, failed: 0, unreadable: 1, failed_events: 0 });
    expect(await store.expandNotifications(100, throwing, Date.now())).toEqual(empty);
  });

  it('a body that is not JSON is set aside with the reason, the others are expanded', async () => {
    const store = await subject().open();
    await store.addNotification({ body: Buffer.from('{"object":"page","entry":[') }, Date.now());
    await store.addNotification({ body: body([1, 'a']) }, Date.now());
    const result = await store.expandNotifications(100, expandBody, Date.now());
    expect(result).toMatchObject({ notifications: 2, stored: 1, duplicates: 0 });
    expect(result.unreadable).toEqual([{ id: expect.any(Number), reason: expect.stringMatching(/JSON/) }]);
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 1, unreadable: 1 });
  });

  it('an event that cannot be stored is set aside by position: the body is kept with the reason, the other events are stored, its key is not taken', async () => {
    const store = await subject().open();
    const t = Date.now();
    const messages: [number, string, number][] = [
      [1, 'a', t + 1],
      [1, 'b', t + 2],
      [1, 'c', t + 3],
    ];
    await store.addNotification({ body: fixedBody(messages) }, t);
    // A value no store can keep: JSON cannot hold the cycle, structuredClone cannot copy the function.
    const poison: Record<string, unknown> = { run: () => undefined };
    poison.self = poison;
    const poisoned = (bytes: Uint8Array, receivedAt: number): ExpandedNotification => {
      const expanded = expandBody(bytes, receivedAt);
      return { ...expanded, events: expanded.events.map((e, i) => (i === 1 ? { ...e, event: { ...e.event, poison } as unknown as WebhookEvent } : e)) };
    };
    const result = await store.expandNotifications(100, poisoned, t + 5);
    expect(result).toMatchObject({ notifications: 1, stored: 2, duplicates: 0, unreadable: [{ events: [1] }] });
    expect(result.unreadable[0]?.reason).toMatch(/^event 2: could not be stored: \w+Error: ./);
    expect(await laneTexts(store, 1)).toEqual(['a', 'c']);
    expect(await store.backlog()).toEqual({ received: 0, inbox: 2, outbox: 0, failed: 0, unreadable: 1, failed_events: 0 });
    // The key of the one set aside was not taken: a fixed redelivery stores it.
    await store.addNotification({ body: fixedBody(messages.slice(0, 2)) }, t + 10);
    expect(await store.expandNotifications(100, expandBody, t + 10)).toMatchObject({ stored: 1, duplicates: 1, unreadable: [] });
  });

  it('an event that cannot be keyed is named by its position and the others are stored', async () => {
    const store = await subject().open();
    await store.addNotification({ body: body([1, 'a'], [2, 'b']) }, Date.now());
    const unkeyable: NotificationExpander = (bytes, receivedAt) => {
      const expanded = expandBody(bytes, receivedAt);
      return { events: expanded.events.filter((e) => e.position !== 0), unreadable: [{ position: 0, reason: 'message event in entry 1 could not be keyed: RangeError: too deep' }] };
    };
    const result = await store.expandNotifications(100, unkeyable, Date.now());
    expect(result).toMatchObject({ notifications: 1, stored: 1, unreadable: [{ events: [0], reason: 'event 1: message event in entry 1 could not be keyed: RangeError: too deep' }] });
    expect(await laneTexts(store, 2)).toEqual(['b']);
  });

  it('many unreadable bodies are taken a bounded number per call', async () => {
    const store = await subject().open();
    for (let i = 0; i < 30; i++) await store.addNotification({ body: Buffer.from('not json') }, Date.now());
    const first = await store.expandNotifications(10, expandBody, Date.now());
    expect(first).toMatchObject({ notifications: 10, stored: 0 });
    expect(first.unreadable).toHaveLength(10);
    expect(await store.backlog()).toMatchObject({ received: 20, unreadable: 10 });
  });

  it('keeps its own copy of the body', async () => {
    const store = await subject().open();
    const bytes = body([1, 'a']);
    const stored = store.addNotification({ body: bytes }, Date.now());
    bytes.fill(0x20);
    await stored;
    expect(await store.expandNotifications(100, expandBody, Date.now())).toMatchObject({ stored: 1, unreadable: [] });
  });

  it('bodies stored at once by many callers are all kept, each resolved after it is stored', async () => {
    const a = await subject().open();
    const b = await subject().open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).addNotification({ body: body([i % 7, `m${i}`]) }, Date.now())));
    expect(await b.backlog()).toMatchObject({ received: 200 });
    let stored = 0;
    for (let r = await a.expandNotifications(1000, expandBody, Date.now()); r.notifications > 0; r = await a.expandNotifications(1000, expandBody, Date.now())) stored += r.stored;
    expect(stored).toBe(200);
  });

  it('addToInbox stores events whose key is new and returns them, in order', async () => {
    const store = await subject().open();
    const event = (text: string) => ({ kind: 'message', channel: 'messenger', text }) as unknown as WebhookEvent;
    const t = Date.now();
    const first = await store.addToInbox(
      [
        { key: 'k1', lane: laneOf(1), timestamp: t, event: event('a') },
        { key: 'k2', lane: laneOf(2), timestamp: t + 1, event: event('b') },
      ],
      t,
    );
    expect(first.map((r) => [r.lane, r.attempts])).toEqual([
      [laneOf(1), 0],
      [laneOf(2), 0],
    ]);
    const second = await store.addToInbox(
      [
        { key: 'k2', lane: laneOf(2), timestamp: t + 1, event: event('b') },
        { key: 'k3', lane: laneOf(1), timestamp: t + 2, event: event('c') },
      ],
      t,
    );
    expect(second).toHaveLength(1);
    expect(second[0]?.id).toBeGreaterThan(first[1]?.id ?? Infinity);
    expect((await store.laneEvents(laneOf(1), 10)).map((r) => r.id)).toEqual([first[0]?.id, second[0]?.id]);
    expect(await store.inboxEvent(second[0]?.id ?? 0)).toEqual(event('c'));
  });

  it('counts handling attempts per event, shows them on the waiting rows, and answers 0 for an event that is gone', async () => {
    const store = await subject().open();
    await receive(store, [1, 'a'], [2, 'b']);
    const [a] = await store.laneEvents(laneOf(1), 1);
    const id = a?.id ?? 0;
    expect(await store.countAttempt(id)).toBe(1);
    expect(await store.countAttempt(id)).toBe(2);
    expect((await store.inboxAfter(0, 10)).map((r) => r.attempts)).toEqual([2, 0]);
    expect((await store.laneEvents(laneOf(1), 1))[0]?.attempts).toBe(2);
    expect(await store.countAttempt(987_654)).toBe(0);
  });

  it('users and lanes of Instagram and Messenger stay apart', async () => {
    const store = await subject().open();
    const t = Date.now();
    const ig = { object: 'instagram', entry: [{ id: '17841400000000000', time: t, messaging: [{ sender: { id: psid(1) }, recipient: { id: '17841400000000000' }, timestamp: t, message: { mid: `ig_${t}`, text: 'hi' } }] }] };
    await store.addNotification({ body: Buffer.from(JSON.stringify(ig)) }, t);
    await receive(store, [1, 'hello']);
    const lanes = (await store.inboxAfter(0, 10)).map((r) => r.lane).sort();
    expect(lanes).toEqual([`17841400000000000/instagram:${psid(1)}`, laneOf(1)].sort());
  });
});
