// The live dashboard's memory in real mode: the last webhook notifications and Graph calls seen
// through the observer hooks, in the inspector's record shapes, with subscribers for the stream.
// Held in memory only, bounded, and never written to a log. Every record is scrubbed of the
// configured secrets before it is kept or handed on (a Graph error may echo the Page token; a
// user may paste anything), and never holds a token-carrying field.
import type { GraphObserver } from '../graph/client.ts';
import { createRedactor, type Secrets } from '../redact.ts';
import { bodyWithoutTokens, withoutTokens } from '../token-fields.ts';
import type { WebhookObserver } from '../../routes/webhook.ts';
import type { GraphCallRecord, InspectorRecord, WebhookRecord } from './types.ts';

export interface TrafficLog {
  add(record: Omit<WebhookRecord, 'seq'> | Omit<GraphCallRecord, 'seq'>): void;
  recent(): InspectorRecord[];
  subscribe(listener: (record: InspectorRecord) => void): () => void;
  /** For the Graph client's `observe` option. */
  observeGraph: GraphObserver;
  /** For the webhook route's `observe` option. */
  observeWebhook: WebhookObserver;
}

export interface TrafficLogOptions {
  /** Secret values (secretsOf(config), in a SecretSet with the tokens learnt since): scrubbed from every record in any form. */
  secrets: Secrets;
  now?: () => number;
  limit?: number;
}

export function createTrafficLog({ secrets, now = Date.now, limit = 200 }: TrafficLogOptions): TrafficLog {
  const redactor = createRedactor(secrets);
  const records: InspectorRecord[] = [];
  const listeners = new Set<(record: InspectorRecord) => void>();
  let seq = 0;
  const add: TrafficLog['add'] = (entry) => {
    seq += 1;
    const record: InspectorRecord = redactor.deep({ ...entry, seq });
    records.push(record);
    if (records.length > limit) records.shift();
    for (const listener of listeners) {
      try {
        listener(record);
      } catch {
        // One failing stream never keeps a record from the others.
      }
    }
  };
  return {
    add,
    recent: () => [...records],
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    observeGraph(call) {
      add({
        kind: 'graph',
        at: now(),
        user_id: recipientOf(call.body) ?? (/^\d+$/.test(call.path) ? call.path : undefined),
        ...(call.api ? { api: call.api } : {}),
        method: call.method,
        path: `/${call.path}`,
        // The client's observer already leaves token fields out; this holds for any observer.
        query: withoutTokens(call.query),
        body: bodyWithoutTokens(call.body),
        status: call.status ?? 0,
        response: call.response,
        ms: call.ms,
      });
    },
    observeWebhook(notification) {
      add({
        kind: 'webhook',
        at: now(),
        user_id: senderOf(notification.body),
        event: notification.body === undefined ? `rejected (${notification.bytes} bytes)` : eventOf(notification.body),
        body: notification.body ?? null,
        status: notification.status,
        ms: notification.ms,
      });
    },
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function recipientOf(body: unknown): string | undefined {
  return isObject(body) && isObject(body.recipient) && typeof body.recipient.id === 'string' ? body.recipient.id : undefined;
}

function firstItem(body: unknown): Json | undefined {
  if (!isObject(body) || !Array.isArray(body.entry)) return undefined;
  const entry: unknown = body.entry[0];
  if (!isObject(entry)) return undefined;
  const items = Array.isArray(entry.messaging) ? entry.messaging : Array.isArray(entry.standby) ? entry.standby : Array.isArray(entry.changes) ? entry.changes : [];
  const item: unknown = items[0];
  return isObject(item) ? item : undefined;
}

function senderOf(body: unknown): string | undefined {
  const item = firstItem(body);
  return item && isObject(item.sender) && typeof item.sender.id === 'string' ? item.sender.id : undefined;
}

function eventOf(body: unknown): string {
  const item = firstItem(body);
  if (!item) return isObject(body) && typeof body.object === 'string' ? body.object : 'notification';
  if (typeof item.field === 'string') return `change ${item.field}`;
  const kinds = ['message', 'postback', 'reaction', 'delivery', 'read', 'referral', 'optin', 'pass_thread_control', 'take_thread_control', 'request_thread_control'];
  return kinds.find((k) => k in item) ?? 'messaging';
}
