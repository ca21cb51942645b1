// For tests that drive a store directly: take every waiting lane for one owner, as the inbox and
// the outbox sender do before they complete, set aside or send anything in it.
import type { OutboxSender } from '../../services/outbox/sender.ts';
import type { BotStore } from '../../services/state/store.ts';
import { LEASE_MS } from '../../services/state/store.ts';

export const OWNER = 'test-owner';

export async function claimAll(store: BotStore, owner = OWNER, now = Date.now()): Promise<void> {
  await store.claimInboxLanes(owner, 10_000, LEASE_MS, now);
  await store.claimOutboxLanes(owner, 10_000, LEASE_MS, now);
}

/** An outbox that sends nothing, for inbox tests that only look at handling. */
export const quietOutbox: OutboxSender = {
  prepare: () => undefined,
  notify: () => undefined,
  wake: () => undefined,
  idle: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  tokenValid: () => true,
  pausedAccounts: () => [],
  due: () => 0,
};
