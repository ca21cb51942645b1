// Builds and sends a correctly signed test notification to a running bot, as Meta would: the
// documented unsigned curl POST is (rightly) refused by the signature check.
import axios from 'axios';
import type { Account } from './accounts/types.ts';
import { idsOf } from './accounts/types.ts';
import type { Config } from './config.ts';
import { signatureFor, toMetaJson } from './signature.ts';

export interface TestTarget {
  /** The id the notification is addressed to (`entry.id`): a Page id, or an Instagram account id. */
  accountId: string;
  /** The secret Meta signs it with: the Instagram app secret for an Instagram Login account. */
  secret: string;
}

/**
 * Which account a test event goes to on this channel: the one `only` names (any of its ids), or
 * the first that has the channel. A string says why there is none.
 */
export function testTargetOf(config: Pick<Config, 'accounts' | 'APP_SECRET' | 'INSTAGRAM_APP_SECRET'>, channel: 'messenger' | 'instagram', only?: string): TestTarget | string {
  const offers = (a: Account) => (channel === 'messenger' ? a.type === 'page' : a.instagram_account_id !== undefined);
  const candidates = config.accounts.filter((a) => (only === undefined || idsOf(a).includes(only)) && offers(a));
  const account = candidates[0];
  if (account === undefined) {
    if (only !== undefined) return `no configured account with id ${only} has ${channel === 'messenger' ? 'Messenger (a Page)' : 'an Instagram account'}`;
    return channel === 'messenger' ? 'no Page is configured (PAGE_ID, or a "page" entry in ACCOUNTS_FILE)' : 'no Instagram account is configured (IG_ACCOUNT_ID, or an instagram_account_id in ACCOUNTS_FILE)';
  }
  const accountId = channel === 'messenger' && account.type === 'page' ? account.page_id : (account.instagram_account_id as string);
  return { accountId, secret: account.type === 'instagram' ? config.INSTAGRAM_APP_SECRET : config.APP_SECRET };
}

export interface TestEventOptions {
  /** Message text, or a postback payload when `postback` is true. */
  text: string;
  postback?: boolean;
  channel: 'messenger' | 'instagram';
  /** The Page ID (Messenger) or Instagram account ID the event is addressed to. */
  accountId: string;
  /** The simulated user's PSID / IGSID. */
  senderId: string;
  now: number;
}

export function buildTestNotification(o: TestEventOptions): Record<string, unknown> {
  const base = { sender: { id: o.senderId }, recipient: { id: o.accountId }, timestamp: o.now };
  const mid = `m_test_${o.now}`;
  const item = o.postback ? { ...base, postback: { mid, title: o.text, payload: o.text } } : { ...base, message: { mid, text: o.text } };
  return { object: o.channel === 'instagram' ? 'instagram' : 'page', entry: [{ id: o.accountId, time: o.now, messaging: [item] }] };
}

export interface SendOutcome {
  status: number;
  body: string;
  ms: number;
}

/** POSTs the notification signed with the app secret; resolves with the app's answer. */
export async function sendTestEvent(url: string, appSecret: string, notification: unknown): Promise<SendOutcome> {
  const raw = toMetaJson(notification);
  const started = Date.now();
  const res = await axios.post<string>(url, raw, {
    headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signatureFor(appSecret, raw) },
    responseType: 'text',
    timeout: 10_000,
    validateStatus: () => true,
  });
  return { status: res.status, body: String(res.data), ms: Date.now() - started };
}
