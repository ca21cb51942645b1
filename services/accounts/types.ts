// The accounts one deployment speaks for. A `page` is a Facebook Page, optionally with the
// Instagram professional account linked to it (Messenger API for Instagram, the Page token); an
// `instagram` account is an Instagram professional account on Instagram Login, with its own token.
// Field names are the accounts file's (and Meta's): page_id, instagram_account_id, access_token.

export interface PageAccount {
  type: 'page';
  /** The account's key everywhere (user keys, outbox rows, pauses): its `page_id`. */
  key: string;
  page_id: string;
  /** The Page access token. */
  access_token: string;
  /** The linked Instagram professional account, answered with the Page token. */
  instagram_account_id: string | undefined;
  /** A label for logs, setup output and the emulator; never used for routing. */
  name: string | undefined;
}

export interface InstagramLoginAccount {
  type: 'instagram';
  /** Its `instagram_account_id`. */
  key: string;
  instagram_account_id: string;
  /** The long-lived Instagram User access token (60 days, refreshed by the bot). */
  access_token: string;
  name: string | undefined;
}

export type Account = PageAccount | InstagramLoginAccount;

/** Which API an account's calls go through: the Graph API (Pages) or the Instagram API (Instagram Login). */
export type AccountApi = 'graph' | 'instagram';

export function apiOf(account: Account): AccountApi {
  return account.type === 'page' ? 'graph' : 'instagram';
}

/** Every id Meta may put in `entry.id` or `sender.id` for this account. */
export function idsOf(account: Account): string[] {
  if (account.type === 'instagram') return [account.instagram_account_id];
  return account.instagram_account_id === undefined ? [account.page_id] : [account.page_id, account.instagram_account_id];
}

/** How an account is named in logs and output: `page 111 (Tidewater)`, `instagram 1784… `. */
export function describeAccount(account: Account): string {
  const what = account.type === 'page' ? `page ${account.page_id}` : `instagram ${account.instagram_account_id}`;
  return account.name === undefined ? what : `${what} (${account.name})`;
}
