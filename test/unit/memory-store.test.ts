import { describe, it, expect } from '@jest/globals';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { UserState } from '../../services/state/store.ts';
import { claimAll, OWNER } from '../support/claims.ts';

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

describe('createMemoryStore sent-message updates (applied with completeEvent)', () => {
  async function storeWithEvent() {
    const store = createMemoryStore();
    await store.recordSent(USER, 'm1', 1000);
    const [row] = await store.addToInbox([{ key: 'k1', lane: USER, timestamp: 1, event: { kind: 'unknown', channel: 'messenger', object: 'page', entry_id: '1', entry_time: 1, standby: false, reason: 'test', raw: {} } }], 1);
    await claimAll(store, OWNER, 1);
    return { store, id: (row as { id: number }).id };
  }

  it('records the reaction and the thanks, and clears the reaction on null', async () => {
    const { store, id } = await storeWithEvent();
    await store.completeEvent(id, { userKey: USER, user: {}, sentUpdates: [{ mid: 'm1', reaction: '❤', thanked: true }], statusUpdates: [], actions: [], apology: undefined }, 2, OWNER);
    expect(await store.getSent(USER, 'm1')).toMatchObject({ reaction: '❤', thanked: true });
    const [again] = await store.addToInbox([{ key: 'k2', lane: USER, timestamp: 2, event: { kind: 'unknown', channel: 'messenger', object: 'page', entry_id: '1', entry_time: 2, standby: false, reason: 'test', raw: {} } }], 3);
    await claimAll(store, OWNER, 3);
    await store.completeEvent((again as { id: number }).id, { userKey: USER, user: {}, sentUpdates: [{ mid: 'm1', reaction: null }], statusUpdates: [], actions: [], apology: undefined }, 4, OWNER);
    const sent = await store.getSent(USER, 'm1');
    expect(sent?.reaction).toBeUndefined();
    expect(sent?.thanked).toBe(true);
  });

  it('ignores updates for unknown mids or users', async () => {
    const { store, id } = await storeWithEvent();
    await store.completeEvent(id, { userKey: 'instagram:42', user: {}, sentUpdates: [{ mid: 'm1', thanked: true }, { mid: 'nope', reaction: 'x' }], statusUpdates: [], actions: [], apology: undefined }, 2, OWNER);
    expect(await store.getSent(USER, 'm1')).toMatchObject({ thanked: false });
    expect(await store.getSent('instagram:42', 'm1')).toBeUndefined();
  });
});
