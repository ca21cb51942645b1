// A local stand-in for the Graph API, in its own process: answers the Send API (POST
// /{version}/me/messages) with a message_id, profile GETs with a name and locale, and anything
// else with success. It counts what reaches it; GET /__bench/stats returns the counts. For the
// latency bench it also notes when each recipient's first message arrived: POST
// /__bench/first-messages returns those times and forgets them.
import { createServer, type ServerResponse } from 'node:http';
import { exitWithParent, listenOrExplain } from './child-support.ts';

export interface MockStats {
  /** me/messages calls carrying a message (the replies users read). */
  messages: number;
  /** me/messages calls carrying a sender_action (typing indicators, mark_seen). */
  senderActions: number;
  profiles: number;
  other: number;
  /** ms timestamps of the first and the latest me/messages call. */
  firstSendAt: number | null;
  lastSendAt: number | null;
}

const latencyMs = Number(process.env.MOCK_LATENCY_MS ?? '0');
const stats: MockStats = { messages: 0, senderActions: 0, profiles: 0, other: 0, firstSendAt: null, lastSendAt: null };
let nextMid = 0;
/**
 * Recipient → when the first call carrying a message for it arrived, process.hrtime in ns: the
 * monotonic clock every process on the machine reads alike, so latency.ts can subtract its own.
 */
let firstMessages = new Map<string, string>();

const server = createServer((req, res) => {
  const arrived = process.hrtime.bigint();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://mock');
    if (url.pathname === '/__bench/stats') return json(res, 200, stats, 0);
    if (url.pathname === '/__bench/first-messages' && req.method === 'POST') {
      const taken = Object.fromEntries(firstMessages);
      firstMessages = new Map();
      return json(res, 200, taken, 0);
    }
    if (req.method === 'POST' && /^\/v[\d.]+\/me\/messages$/.test(url.pathname)) {
      const body = Buffer.concat(chunks).toString('utf8');
      const now = Date.now();
      stats.firstSendAt ??= now;
      stats.lastSendAt = now;
      const recipient = /"recipient":\{"id":"(\d+)"/.exec(body)?.[1] ?? '0';
      if (body.includes('"sender_action"')) stats.senderActions += 1;
      else {
        stats.messages += 1;
        if (!firstMessages.has(recipient)) firstMessages.set(recipient, String(arrived));
      }
      nextMid += 1;
      return json(res, 200, { recipient_id: recipient, message_id: `m_mock_${nextMid}` }, latencyMs);
    }
    if (req.method === 'GET' && /^\/v[\d.]+\/\d+$/.test(url.pathname)) {
      stats.profiles += 1;
      return json(res, 200, { first_name: 'Bench', last_name: 'User', locale: 'en_US', id: url.pathname.split('/')[2] }, latencyMs);
    }
    stats.other += 1;
    return json(res, 200, { success: true }, latencyMs);
  });
});

function json(res: ServerResponse, status: number, body: unknown, delay: number): void {
  const send = () => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (delay > 0) setTimeout(send, delay);
  else send();
}

listenOrExplain(server, 'mock Graph API');
exitWithParent(server);
