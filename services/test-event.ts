// Builds and sends a correctly signed test notification to a running bot, as Meta would: the
// documented unsigned curl POST is (rightly) refused by the signature check.
import axios from 'axios';
import { signatureFor, toMetaJson } from './signature.ts';

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
