// The verification request Meta sends when subscribing, sent by us: GET APP_URL/webhook with
// hub.mode, our VERIFY_TOKEN and a random challenge, through the public URL (so the tunnel is
// part of the test). The token is in that request only; what we print leaves it out.

export interface WebhookCheck {
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface WebhookCheckOptions {
  appUrl: string;
  verifyToken: string;
  challenge: string;
  fetchImpl: typeof fetch;
  timeoutMs?: number;
}

/** The URL as printed: the verify token is left out. */
export function printableVerificationUrl(appUrl: string, challenge: string): string {
  return `${appUrl}/webhook?hub.mode=subscribe&hub.challenge=${encodeURIComponent(challenge)}`;
}

export async function checkWebhook(options: WebhookCheckOptions): Promise<WebhookCheck> {
  const url = new URL(`${options.appUrl}/webhook`);
  url.searchParams.set('hub.mode', 'subscribe');
  url.searchParams.set('hub.verify_token', options.verifyToken);
  url.searchParams.set('hub.challenge', options.challenge);
  const shown = `GET ${printableVerificationUrl(options.appUrl, options.challenge)}`;
  let response: Response;
  try {
    response = await options.fetchImpl(url, { method: 'GET', signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  } catch (err) {
    // Only a code: a fetch error's text could quote the URL, and with it the verify token.
    return { ok: false, detail: `${shown}: no answer (${networkCode(err)})`, fix: 'start the bot (npm start) and the tunnel, and set APP_URL to the tunnel\'s current https URL' };
  }
  const body = (await response.text()).trim();
  if (response.status === 200 && body === options.challenge) return { ok: true, detail: `${shown} answered the challenge` };
  if (response.status === 200) {
    return { ok: false, detail: `${shown} answered 200 without the challenge`, fix: 'APP_URL reaches something that is not this bot: point the tunnel at the bot\'s PORT' };
  }
  if (response.status === 403) {
    return { ok: false, detail: `${shown} refused our VERIFY_TOKEN (HTTP 403)`, fix: 'the running bot has another VERIFY_TOKEN: restart it (npm start) after editing .env' };
  }
  if (response.status === 404) {
    return { ok: false, detail: `${shown}: HTTP 404`, fix: 'nothing answers /webhook there: is the tunnel up and forwarding to the bot\'s PORT, and is APP_URL its current URL?' };
  }
  return { ok: false, detail: `${shown}: HTTP ${response.status}`, fix: 'check the bot\'s log and that the tunnel forwards to the bot\'s PORT' };
}

function networkCode(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' ? code : 'network error';
}
