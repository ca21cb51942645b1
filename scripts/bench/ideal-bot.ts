// The latency floor for latency.ts: a bot that stores nothing. It verifies X-Hub-Signature-256
// over the raw bytes (403 otherwise), parses the body, answers 200, and calls the Send API at once
// for every text message, with the same kind of client as the app (axios, keep-alive, the token
// in the Authorization header, appsecret_proof). No inbox, no order, no dedup, no rate limit, no
// profile lookup, no typing indicator: whatever the app takes beyond this is what its guarantees
// (and its features) cost. Run by latency.ts as a child process (PORT, APP_SECRET, PAGE_ACCESS_TOKEN,
// GRAPH_API_URL from env).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent, createServer } from 'node:http';
import axios from 'axios';
import { exitWithParent, listenOrExplain } from './child-support.ts';

const appSecret = process.env.APP_SECRET ?? '';
const token = process.env.PAGE_ACCESS_TOKEN ?? '';
const graph = axios.create({
  baseURL: `${process.env.GRAPH_API_URL ?? 'http://127.0.0.1:1'}/v24.0/`,
  timeout: 10_000,
  validateStatus: () => true,
  httpAgent: new Agent({ keepAlive: true }),
  headers: { Authorization: `Bearer ${token}` },
});
const proof = createHmac('sha256', appSecret).update(token).digest('hex');
let failures = 0;

interface Messaging {
  sender?: { id?: string };
  message?: { text?: string; is_echo?: boolean };
}

function authentic(body: Buffer, header: string | string[] | undefined): boolean {
  const match = typeof header === 'string' ? /^sha256=([0-9a-f]{64})$/i.exec(header) : null;
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', appSecret).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}

function reply(recipient: string): void {
  graph
    .post('me/messages', { recipient: { id: recipient }, messaging_type: 'RESPONSE', message: { text: 'Hi! How can I help?' } }, { params: { appsecret_proof: proof } })
    .then(
      (res) => {
        if (res.status !== 200) failures += 1;
      },
      () => (failures += 1),
    );
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/__bench/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ failures }));
      return;
    }
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || !authentic(body, req.headers['x-hub-signature-256'])) {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      res.end('Invalid signature');
      return;
    }
    let parsed: { entry?: { messaging?: Messaging[] }[] };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('Bad request');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('EVENT_RECEIVED');
    for (const entry of parsed.entry ?? []) {
      for (const item of entry.messaging ?? []) {
        const sender = item.sender?.id;
        if (sender && item.message?.text !== undefined && !item.message.is_echo) reply(sender);
      }
    }
  });
});

listenOrExplain(server, 'ideal bot');
exitWithParent(server);
