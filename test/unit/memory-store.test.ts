import { describe, it, expect } from '@jest/globals';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { UserState } from '../../services/state/store.ts';

const USER = 'messenger:42';

describe('createMemoryStore users', () => {
  it('returns copies: changes stay local until putUser', async () => {
    const store = createMemoryStore();
    await store.putUser(USER, { locale: 'es_ES', profile: { first_name: 'Ana', fetched_at: 1 } });
    const copy = await store.getUser(USER);
    copy.locale = 'zh_TW';
    if (copy.profile) copy.profile.first_name = 'Eve';
    expect(await store.getUser(USER)).toEqual({ locale: 'es_ES', profile: { first_name: 'Ana', fetched_at: 1 } });
    await store.putUser(USER, copy);
    expect(await store.getUser(USER)).toMatchObject({ locale: 'zh_TW', profile: { first_name: 'Eve' } });
  });

  it('keeps a copy of what was put, and gives unknown users an empty state', async () => {
    const store = createMemoryStore();
    const state: UserState = { locale: 'id_ID' };
    await store.putUser(USER, state);
    state.locale = 'es_ES';
    state.step = 'awaiting_order_number';
    expect(await store.getUser(USER)).toEqual({ locale: 'id_ID' });
    expect(await store.getUser('messenger:unknown')).toEqual({});
  });
});

describe('createMemoryStore message statuses', () => {
  async function withSent() {
    const store = createMemoryStore();
    await store.recordSent(USER, 'm1', 1000);
    await store.recordSent(USER, 'm2', 2000);
    await store.recordSent(USER, 'm3', 3000);
    const status = async (mid: string) => (await store.getSent(USER, mid))?.status;
    return { store, status };
  }

  it('covers messages sent at or before the watermark', async () => {
    const { store, status } = await withSent();
    expect(await store.updateStatus(USER, { watermark: 2000 }, 'delivered')).toBe(2);
    expect([await status('m1'), await status('m2'), await status('m3')]).toEqual(['delivered', 'delivered', 'sent']);
  });

  it('covers listed mids regardless of the watermark', async () => {
    const { store, status } = await withSent();
    expect(await store.updateStatus(USER, { mids: ['m3'], watermark: 0 }, 'delivered')).toBe(1);
    expect([await status('m1'), await status('m3')]).toEqual(['sent', 'delivered']);
  });

  it('only moves statuses forward', async () => {
    const { store, status } = await withSent();
    await store.updateStatus(USER, { watermark: 3000 }, 'read');
    expect(await store.updateStatus(USER, { watermark: 3000 }, 'delivered')).toBe(0);
    expect(await store.updateStatus(USER, { mids: ['m1'] }, 'sent')).toBe(0);
    expect([await status('m1'), await status('m2'), await status('m3')]).toEqual(['read', 'read', 'read']);
  });

  it('getSent returns a copy and undefined for unknown mids', async () => {
    const { store, status } = await withSent();
    const sent = await store.getSent(USER, 'm1');
    if (sent) sent.status = 'read';
    expect(await status('m1')).toBe('sent');
    expect(await store.getSent(USER, 'nope')).toBeUndefined();
  });
});

describe('createMemoryStore claimThanks', () => {
  it('is true once per message, then false', async () => {
    const store = createMemoryStore();
    await store.recordSent(USER, 'm1', 1000);
    await store.recordSent(USER, 'm2', 2000);
    expect(await store.claimThanks(USER, 'm1')).toBe(true);
    expect(await store.claimThanks(USER, 'm1')).toBe(false);
    expect(await store.claimThanks(USER, 'm2')).toBe(true);
  });

  it('is false for an unknown mid or user', async () => {
    const store = createMemoryStore();
    await store.recordSent(USER, 'm1', 1000);
    expect(await store.claimThanks(USER, 'unknown')).toBe(false);
    expect(await store.claimThanks('instagram:42', 'm1')).toBe(false);
  });
});
