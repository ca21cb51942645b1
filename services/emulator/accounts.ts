// The accounts the emulator plays, as its users see them: which conversations each one offers
// (a Page on Messenger, its linked Instagram account, an Instagram Login account on Instagram),
// which id their notifications carry in `entry.id`, and which emulated API answers its calls.
// Made from the config's accounts, so the bot and the emulator agree on ids and tokens.
import type { Account, AccountApi } from '../accounts/types.ts';
import { apiOf } from '../accounts/types.ts';
import type { Channel } from '../events/types.ts';

export interface EmulatedAccount {
  /** The account key (page_id, or instagram_account_id for Instagram Login). */
  key: string;
  type: Account['type'];
  api: AccountApi;
  /** The name its users see. */
  name: string;
  /** Its Instagram handle, for the Instagram conversations it offers. */
  username: string | undefined;
  page_id: string | undefined;
  instagram_account_id: string | undefined;
  /** Every token it accepts: the configured one, then each refreshed one. */
  tokens: string[];
}

/** One conversation a user can start: an account on a channel, and the id Meta puts in `entry.id`. */
export interface ConversationTarget {
  account: string;
  channel: Channel;
  /** The Page id (Messenger) or the Instagram account id (Instagram). */
  entry_id: string;
}

export function emulatedAccounts(accounts: readonly Account[]): EmulatedAccount[] {
  return accounts.map((account, i) => {
    const name = account.name ?? (account.type === 'page' ? `Page ${i + 1}` : `Instagram account ${i + 1}`);
    return {
      key: account.key,
      type: account.type,
      api: apiOf(account),
      name,
      username: account.instagram_account_id === undefined ? undefined : handleOf(name),
      page_id: account.type === 'page' ? account.page_id : undefined,
      instagram_account_id: account.instagram_account_id,
      tokens: [account.access_token],
    };
  });
}

/** The channels an account offers: a Page Messenger (and Instagram when linked), an Instagram Login account Instagram. */
export function channelsOf(account: EmulatedAccount): Channel[] {
  if (account.type === 'instagram') return ['instagram'];
  return account.instagram_account_id === undefined ? ['messenger'] : ['messenger', 'instagram'];
}

/** The conversation with this account on this channel, or undefined when it does not offer the channel. */
export function targetOf(account: EmulatedAccount, channel: Channel): ConversationTarget | undefined {
  if (!channelsOf(account).includes(channel)) return undefined;
  const entryId = channel === 'messenger' ? account.page_id : account.instagram_account_id;
  return entryId === undefined ? undefined : { account: account.key, channel, entry_id: entryId };
}

/** `Matcha Corner` → `matcha.corner`. */
function handleOf(name: string): string {
  const handle = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 30);
  return handle === '' ? 'shop' : handle;
}
