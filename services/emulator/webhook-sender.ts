// Acts as Meta towards the app: serialises a notification the way Meta does (non-ASCII escaped),
// signs the exact bytes with the app secret, POSTs them over real HTTP, and times the answer.
import { signatureFor, toMetaJson } from '../signature.ts';

export interface WebhookSenderDeps {
  /** The app's own webhook, e.g. http://127.0.0.1:3000/webhook. */
  url: string;
  appSecret: string;
  fetch: typeof fetch;
  timeoutMs?: number;
}

export interface WebhookOutcome {
  status: number | undefined;
  ms: number;
  error?: string;
}

/** POSTs one notification, signed with `secret` (the app secret unless given: an Instagram Login account's use the Instagram app secret). */
export type WebhookSender = (body: unknown, secret?: string) => Promise<WebhookOutcome>;

export function createWebhookSender({ url, appSecret, fetch, timeoutMs = 15_000 }: WebhookSenderDeps): WebhookSender {
  return async (body, secret = appSecret) => {
    const raw = toMetaJson(body);
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signatureFor(secret, raw), 'User-Agent': 'facebookexternalua' },
        body: raw,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection is released; its text is never needed.
      await response.arrayBuffer();
      return { status: response.status, ms: elapsed() };
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'could not reach the webhook';
      return { status: undefined, ms: elapsed(), error: reason };
    }
  };
}
