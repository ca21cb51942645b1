// The bot's sent messages move sent → delivered → read, changed only with the outcome of the
// event that told (a delivery or a read), in completeEvent's transaction: the same in every store.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import { emptyOutcome, type BotStore, type EventOutcome, type StatusChange } from '../../services/state/store.ts';
import { tempDir } from '../reliability/helpers.ts';
import { claimAll, OWNER } from '../support/claims.ts';

const USER = '1234567890/messenger:42';
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const stores: [string, () => BotStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'SQLite',
    () => {
      const dir = tempDir('sent-status');
      const store = createSqliteStore(join(dir.path, 'bot.db'));
      cleanups.push(() => store.close(), dir.remove);
      return store;
    },
  ],
];

describe.each(stores)('%s store: message statuses', (_name, open) => {
  let events = 0;
  /** Completes one event in USER's lane whose outcome carries these status changes (USER's, unless `outcome` says). */
  async function complete(store: BotStore, statusUpdates: StatusChange[], outcome: Partial<EventOutcome> = {}): Promise<void> {
    events += 1;
    const event = { kind: 'unknown' as const, channel: 'messenger' as const, object: 'page' as const, entry_id: '1', entry_time: events, standby: false, reason: 'test', raw: {} };
    const [row] = await store.addToInbox([{ key: `k${events}`, lane: USER, timestamp: events, event }], events);
    await claimAll(store, OWNER, events);
    await store.completeEvent((row as { id: number }).id, { ...emptyOutcome(), userKey: USER, user: {}, statusUpdates, ...outcome }, events, OWNER);
  }

  async function withSent() {
    const store = open();
    await store.recordSent(USER, 'm1', 1000);
    await store.recordSent(USER, 'm2', 2000);
    await store.recordSent(USER, 'm3', 3000);
    const statuses = async () => Promise.all(['m1', 'm2', 'm3'].map(async (mid) => (await store.getSent(USER, mid))?.status));
    return { store, statuses };
  }

  it('covers messages sent at or before the watermark', async () => {
    const { store, statuses } = await withSent();
    await complete(store, [{ update: { watermark: 2000 }, status: 'delivered' }]);
    expect(await statuses()).toEqual(['delivered', 'delivered', 'sent']);
  });

  it('covers listed mids whatever the watermark', async () => {
    const { store, statuses } = await withSent();
    await complete(store, [{ update: { mids: ['m3'], watermark: 0 }, status: 'delivered' }]);
    expect(await statuses()).toEqual(['sent', 'sent', 'delivered']);
  });

  it('only moves statuses forward, and applies several changes of one outcome in order', async () => {
    const { store, statuses } = await withSent();
    await complete(store, [
      { update: { watermark: 2000 }, status: 'read' },
      { update: { watermark: 3000 }, status: 'delivered' },
    ]);
    expect(await statuses()).toEqual(['read', 'read', 'delivered']);
    await complete(store, [{ update: { mids: ['m1', 'm3'] }, status: 'sent' }]);
    expect(await statuses()).toEqual(['read', 'read', 'delivered']);
  });

  it("changes only the outcome's user's messages, and nothing without a user", async () => {
    const { store, statuses } = await withSent();
    await complete(store, [{ update: { watermark: 5000 }, status: 'read' }], { userKey: '1234567890/messenger:43' });
    await complete(store, [{ update: { watermark: 5000 }, status: 'read' }], { userKey: undefined, user: undefined });
    expect(await statuses()).toEqual(['sent', 'sent', 'sent']);
  });

  it('getSent returns a copy, and undefined for unknown mids', async () => {
    const { store, statuses } = await withSent();
    const sent = await store.getSent(USER, 'm1');
    if (sent) sent.status = 'read';
    expect(await statuses()).toEqual(['sent', 'sent', 'sent']);
    expect(await store.getSent(USER, 'nope')).toBeUndefined();
  });
});
