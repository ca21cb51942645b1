// The lane of an event: a user's events (and replies) share one, per account.
import { describe, it, expect } from '@jest/globals';
import { createAccountDirectory } from '../../services/accounts/directory.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import { laneOf } from '../../services/inbox/lanes.ts';
import { userKey } from '../../services/state/store.ts';

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
