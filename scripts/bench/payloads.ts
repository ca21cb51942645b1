// Signed Messenger notifications as Meta sends them: one entry per event, each with one messaging
// item, JSON with non-ASCII escaped as \uXXXX, signed with HMAC-SHA256 of the app secret over the
// exact bytes. Every event gets a unique mid (so the inbox's dedup keeps them all) and a sender
// from a pool of distinct PSIDs, round-robin.
import { createHmac } from 'node:crypto';

export interface PayloadOptions {
  appSecret: string;
  pageId: string;
  /** Events per request: 1, or a batch (Meta sends up to 1000 in one POST). */
  events: number;
  /** Size of the pool of distinct senders (PSIDs). */
  senders: number;
  /** Makes mids unique across runs and scenarios. */
  runId: string;
}

export interface SignedRequest {
  body: Buffer;
  signature: string;
}

/** What users type, as the JSON bytes Meta sends: greetings, the menu, free text, and non-ASCII. */
const TEXTS = ['hi', 'menu', 'where is my order?', '\\u4f60\\u597d', 'hola', 'thanks!', 'Can I pay on delivery?', 'good morning'];

export function psid(index: number): string {
  return `2400${String(index).padStart(13, '0')}`;
}

/** Returns a generator of signed requests; each call makes a fresh body with new mids. */
export function createPayloadFactory(o: PayloadOptions): () => SignedRequest {
  let seq = 0;
  const senderIds = Array.from({ length: o.senders }, (_, i) => psid(i));
  const recipient = `{"id":"${o.pageId}"}`;
  return () => {
    const now = Date.now();
    const parts: string[] = [];
    for (let i = 0; i < o.events; i += 1) {
      const k = seq;
      seq += 1;
      const sender = senderIds[k % o.senders] as string;
      const text = TEXTS[k % TEXTS.length] as string;
      parts.push(
        `{"id":"${o.pageId}","time":${now},"messaging":[{"sender":{"id":"${sender}"},"recipient":${recipient},"timestamp":${now},` +
          `"message":{"mid":"m_bench_${o.runId}_${k}","text":"${text}"}}]}`,
      );
    }
    const body = Buffer.from(`{"object":"page","entry":[${parts.join(',')}]}`, 'utf8');
    return { body, signature: `sha256=${createHmac('sha256', o.appSecret).update(body).digest('hex')}` };
  };
}
