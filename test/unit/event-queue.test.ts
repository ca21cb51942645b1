import { describe, it, expect } from '@jest/globals';
import { createAccountDirectory } from '../../services/accounts/directory.ts';
import { createEventQueue, laneOf } from '../../services/event-queue.ts';
import type { MessageEvent, WebhookEvent } from '../../services/events/types.ts';
import { createLogger } from '../../services/logger.ts';
import { userKey } from '../../services/state/store.ts';

function message(sender: string, mid: string): MessageEvent {
  return { kind: 'message', channel: 'messenger', object: 'page', entry_id: '1', entry_time: 0, standby: false, sender: { id: sender }, recipient: { id: '1' }, timestamp: 0, message: { mid } };
}

const midOf = (event: WebhookEvent) => (event.kind === 'message' ? event.message.mid : '?');
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A queue whose `process` waits until the test releases each event by mid. */
function gatedQueue(concurrency?: number, fail: (mid: string) => boolean = () => false) {
  const started: string[] = [];
  const finished: string[] = [];
  const gates = new Map<string, () => void>();
  const active = new Map<string, number>();
  let running = 0;
  const max = { perSender: 0, total: 0 };
  const lines: string[] = [];
  const queue = createEventQueue({
    log: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...(concurrency ? { concurrency } : {}),
    process: async (event) => {
      const mid = midOf(event);
      const sender = event.kind === 'message' ? (event.sender?.id ?? '') : '';
      active.set(sender, (active.get(sender) ?? 0) + 1);
      running += 1;
      max.perSender = Math.max(max.perSender, active.get(sender) ?? 0);
      max.total = Math.max(max.total, running);
      started.push(mid);
      try {
        await new Promise<void>((resolve) => gates.set(mid, resolve));
        if (fail(mid)) throw new Error(`failed ${mid}`);
      } finally {
        active.set(sender, (active.get(sender) ?? 1) - 1);
        running -= 1;
        finished.push(mid);
      }
    },
  });
  const release = async (mid: string) => {
    const gate = gates.get(mid);
    if (!gate) throw new Error(`${mid} has not started`);
    gate();
    // The queue yields to I/O (one setImmediate) between items: two turns reach the next start.
    await flush();
    await flush();
  };
  return { queue, started, finished, max, release, lines };
}

describe('createEventQueue', () => {
  it('runs one sender’s events strictly in order, one at a time', async () => {
    const q = gatedQueue();
    q.queue.enqueue([message('A', 'a1'), message('A', 'a2')]);
    await flush();
    expect(q.started).toEqual(['a1']);
    q.queue.enqueue([message('A', 'a3')]);
    await q.release('a1');
    expect(q.started).toEqual(['a1', 'a2']);
    await q.release('a2');
    await q.release('a3');
    expect(q.finished).toEqual(['a1', 'a2', 'a3']);
    expect(q.max.perSender).toBe(1);
  });

  it('starts a new lane for a sender whose earlier events are done', async () => {
    const q = gatedQueue();
    q.queue.enqueue([message('A', 'a1')]);
    await flush();
    await q.release('a1');
    q.queue.enqueue([message('A', 'a2')]);
    await flush();
    expect(q.started).toEqual(['a1', 'a2']);
    await q.release('a2');
    expect(q.queue.pending).toBe(0);
  });

  it('runs different senders side by side, never more than the concurrency bound', async () => {
    const q = gatedQueue(2);
    q.queue.enqueue([message('A', 'a1'), message('B', 'b1'), message('C', 'c1'), message('A', 'a2')]);
    await flush();
    expect(q.started).toEqual(['a1', 'b1']);
    await q.release('b1');
    expect(q.started).toEqual(['a1', 'b1', 'c1']);
    await q.release('a1');
    expect(q.started).toEqual(['a1', 'b1', 'c1', 'a2']);
    await q.release('c1');
    await q.release('a2');
    expect(q.max.total).toBe(2);
    expect(q.finished).toHaveLength(4);
  });

  it('logs a failing event and carries on with the sender’s next one', async () => {
    const q = gatedQueue(undefined, (mid) => mid === 'a1');
    q.queue.enqueue([message('A', 'a1'), message('A', 'a2')]);
    await flush();
    await q.release('a1');
    expect(q.started).toEqual(['a1', 'a2']);
    await q.release('a2');
    await q.queue.onIdle();
    const logged = q.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual([expect.objectContaining({ level: 'error', msg: 'queued work failed', lane: '1/messenger:A', err: { name: 'Error', message: 'failed a1', stack: expect.stringMatching(/event-queue\.test\.ts:\d+:\d+/) } })]);
  });

  it('counts pending events and resolves onIdle only after all of them', async () => {
    const q = gatedQueue(2);
    expect(q.queue.pending).toBe(0);
    await expect(q.queue.onIdle()).resolves.toBeUndefined();
    q.queue.enqueue([message('A', 'a1'), message('A', 'a2'), message('B', 'b1')]);
    let idle = false;
    void q.queue.onIdle().then(() => (idle = true));
    expect(q.queue.pending).toBe(3);
    await flush();
    await q.release('a1');
    expect(q.queue.pending).toBe(2);
    await q.release('b1');
    expect(q.queue.pending).toBe(1);
    expect(idle).toBe(false);
    await q.release('a2');
    expect(q.queue.pending).toBe(0);
    expect(idle).toBe(true);
  });
});

describe('laneOf', () => {
  const directory = createAccountDirectory([
    { type: 'page', key: '111', page_id: '111', access_token: 'EAApage111token0123456789', instagram_account_id: '17841400000000001', name: undefined },
    { type: 'instagram', key: '17841400000000003', instagram_account_id: '17841400000000003', access_token: 'IGAAlogin3token0123456789', name: undefined },
  ]);
  const event = (channel: 'messenger' | 'instagram', entryId: string, sender?: string): WebhookEvent => ({
    kind: 'message',
    channel,
    object: channel === 'messenger' ? 'page' : 'instagram',
    entry_id: entryId,
    entry_time: 0,
    standby: false,
    ...(sender === undefined ? {} : { sender: { id: sender } }),
    recipient: { id: entryId },
    timestamp: 0,
    message: { mid: 'm' },
  });

  it("is the user's key: the account (a linked Instagram account's Page), the channel and the sender", () => {
    expect(laneOf(event('messenger', '111', '24'), directory)).toBe(userKey('111', 'messenger', '24'));
    expect(laneOf(event('instagram', '17841400000000001', '76'), directory)).toBe(userKey('111', 'instagram', '76'));
    expect(laneOf(event('instagram', '17841400000000003', '76'), directory)).toBe(userKey('17841400000000003', 'instagram', '76'));
  });

  it('keeps the same sender of two accounts apart, and falls back to entry.id without a directory or for another account', () => {
    expect(laneOf(event('messenger', '111', '24'), directory)).not.toBe(laneOf(event('messenger', '222', '24'), directory));
    expect(laneOf(event('messenger', '222', '24'), directory)).toBe('222/messenger:24');
    expect(laneOf(event('instagram', '17841400000000001', '76'))).toBe('17841400000000001/instagram:76');
    expect(laneOf(event('messenger', '111'), directory)).toBe('111/messenger:entry:111');
  });
});
