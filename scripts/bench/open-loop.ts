// Open-loop load for latency.ts: first-contact text messages (every event from a sender never
// seen before) posted on a fixed schedule, whatever the server's answers do, as Meta delivers
// them. Each request's start is noted on process.hrtime (the clock the mock Graph API stamps
// arrivals with), keyed by its sender.
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface OpenLoopOptions {
  url: string;
  appSecret: string;
  pageId: string;
  /** Events per second, one event per POST. */
  rate: number;
  durationS: number;
  /** Digits that start every PSID of this run (distinct per phase, so no sender is seen twice). */
  psidPrefix: string;
}

export interface Sent {
  psid: string;
  /** process.hrtime.bigint() just before the request was made. */
  startNs: bigint;
  /** HTTP status, or 0 for a network error. */
  status: number;
  /** Time to the answer's headers, ms. */
  answerMs: number;
}

export interface OpenLoopResult {
  sent: Sent[];
  /** How late the generator was for its schedule, ms (its own event loop): p99 and max. */
  lateP99Ms: number;
  lateMaxMs: number;
}

/** Several connections, kept alive, as Meta keeps a few to a busy webhook. */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One notification with one entry per sender, each a text message, as Meta sends them. */
export function firstContactBody(pageId: string, senders: readonly { psid: string; text: string }[], now: number): Buffer {
  const entries = senders.map(
    ({ psid, text }) =>
      `{"id":"${pageId}","time":${now},"messaging":[{"sender":{"id":"${psid}"},"recipient":{"id":"${pageId}"},` +
      `"timestamp":${now},"message":{"mid":"m_latency_${psid}","text":"${text}"}}]}`,
  );
  return Buffer.from(`{"object":"page","entry":[${entries.join(',')}]}`, 'utf8');
}

export function sign(appSecret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** What first-time users write: a greeting gets the welcome and the menu, the rest a reply too. */
export const TEXTS = ['hi', 'hello', 'menu', 'where is my order?', 'hola', '\\u4f60\\u597d'];

export function post(url: URL, body: Buffer, signature: string): Promise<{ status: number; answered: bigint }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, 'X-Hub-Signature-256': signature } },
      (res) => {
        const answered = process.hrtime.bigint();
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, answered }));
      },
    );
    req.once('error', () => resolve({ status: 0, answered: process.hrtime.bigint() }));
    req.end(body);
  });
}

/** Posts `rate × durationS` events at 1/rate intervals; resolves when every answer is in. */
export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL('/webhook', o.url);
  const total = Math.round(o.rate * o.durationS);
  const intervalNs = BigInt(Math.round(1e9 / o.rate));
  const sent: Sent[] = [];
  const answers: Promise<void>[] = [];
  const late: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i += 1) {
    const psid = `${o.psidPrefix}${String(i).padStart(8, '0')}`;
    const body = firstContactBody(o.pageId, [{ psid, text: TEXTS[i % TEXTS.length] as string }], Date.now());
    const signature = sign(o.appSecret, body);
    // A timer, not a spin (the spin would take CPU from the servers on a small machine): a request
    // may start up to a millisecond late, which shifts the schedule, not the measurement.
    const due = t0 + BigInt(i) * intervalNs;
    const waitMs = Number(due - process.hrtime.bigint()) / 1e6;
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMs)));
    const startNs = process.hrtime.bigint();
    late.push(Number(startNs - due) / 1e6);
    const entry: Sent = { psid, startNs, status: -1, answerMs: Number.NaN };
    sent.push(entry);
    answers.push(
      post(url, body, signature).then(({ status, answered }) => {
        entry.status = status;
        entry.answerMs = Number(answered - startNs) / 1e6;
      }),
    );
  }
  await Promise.all(answers);
  late.sort((a, b) => a - b);
  return { sent, lateP99Ms: late[Math.min(late.length - 1, Math.floor(late.length * 0.99))] ?? 0, lateMaxMs: late.at(-1) ?? 0 };
}
