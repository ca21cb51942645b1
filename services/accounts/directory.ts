// Which account an event belongs to. Every notification entry is matched by `entry.id`: a Page id
// under `object: "page"`, an Instagram account id (linked to a Page, or on Instagram Login) under
// `object: "instagram"`. An entry of any other id is not ours: logged and acknowledged, never
// answered. Pure lookups over the configured accounts; nothing here does I/O.
import type { Channel } from '../events/types.ts';
import type { Account } from './types.ts';
import { idsOf } from './types.ts';

export interface AccountDirectory {
  /** Every account, in the configured order; the first is the default. */
  readonly accounts: readonly Account[];
  /** The account rows from an older release (without an account) belong to: the first one. */
  readonly defaultKey: string;
  /** The account keys (page_id, or instagram_account_id for Instagram Login), in order. */
  keys(): string[];
  get(key: string): Account | undefined;
  /** The account an entry of this channel with this `entry.id` is for, if it is one of ours. */
  byEntry(channel: Channel, entryId: string): Account | undefined;
  /** True for any id of any of our accounts (Pages and Instagram accounts): never answered as a user. */
  isOwnId(id: string): boolean;
}

export function createAccountDirectory(accounts: readonly Account[]): AccountDirectory {
  const first = accounts[0];
  if (first === undefined) throw new Error('an account directory needs at least one account');
  const byKey = new Map(accounts.map((a) => [a.key, a]));
  const byPageId = new Map<string, Account>();
  const byInstagramId = new Map<string, Account>();
  for (const account of accounts) {
    if (account.type === 'page') byPageId.set(account.page_id, account);
    if (account.instagram_account_id !== undefined) byInstagramId.set(account.instagram_account_id, account);
  }
  const own = new Set(accounts.flatMap(idsOf));
  return {
    accounts,
    defaultKey: first.key,
    keys: () => [...byKey.keys()],
    get: (key) => byKey.get(key),
    byEntry: (channel, entryId) => (channel === 'messenger' ? byPageId : byInstagramId).get(entryId),
    isOwnId: (id) => own.has(id),
  };
}

/**
 * The key of the account an event is for, or undefined when it is none of ours. Pure, so the
 * inbox can derive lanes from a stored event with the same answer as the processor.
 */
export function accountKeyOf(event: { channel: Channel; entry_id: string }, directory: AccountDirectory): string | undefined {
  return directory.byEntry(event.channel, event.entry_id)?.key;
}
