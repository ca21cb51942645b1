// The durable inbox. `accept` stores a notification's new events (redeliveries dropped by key)
// before the webhook answers 200; handling then runs from the store, one lane per user in
// timestamp order, and each event's replies are queued atomically with marking it handled.
import { laneOf, createLaneQueue } from '../event-queue.ts';
import type { WebhookEvent } from '../events/types.ts';
import type { Logger } from '../logger.ts';
import type { OutboxSender } from '../outbox/sender.ts';
import type { BotStore, EventOutcome, InboxRow, NewInboxEvent } from '../state/store.ts';
import { eventKey } from './event-key.ts';

export interface InboxDeps {
  store: BotStore;
  handle: (event: WebhookEvent) => Promise<EventOutcome>;
  outbox: OutboxSender;
  log: Logger;
  now: () => number;
  concurrency?: number;
}

export interface Inbox {
  /** Persists the events; resolves once they are safe. Returns how many were new. */
  accept(events: readonly WebhookEvent[]): Promise<number>;
  /** Queues everything a previous run left unhandled. */
  recover(): Promise<{ events: number; replies: number }>;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function createInbox(deps: InboxDeps): Inbox {
  const queue = createLaneQueue<InboxRow>({
    log: deps.log,
    laneOf: (row) => row.lane,
    concurrency: deps.concurrency ?? 16,
    process: (row) => processRow(deps, row),
  });
  // Events accepted while recovery is still reading the store queue up behind what it finds, so a
  // user's older events always go first. (One found by both is handled once: see processRow.)
  let recovered: Promise<unknown> = Promise.resolve();
  return {
    async accept(events) {
      if (events.length === 0) return 0;
      const rows = await deps.store.addToInbox(toInboxEvents(events), deps.now());
      if (rows.length < events.length) deps.log.info('redelivered events ignored', { duplicates: events.length - rows.length });
      await recovered;
      queue.enqueue(rows);
      return rows.length;
    },
    recover() {
      const run = (async () => {
        const rows = await deps.store.pendingInbox();
        const replies = await deps.store.pendingOutbox();
        queue.enqueue(rows);
        deps.outbox.notify(new Set(replies.map((r) => r.lane)));
        return { events: rows.length, replies: replies.length };
      })();
      recovered = run.catch(() => undefined);
      return run;
    },
    idle: () => queue.onIdle(),
    async stop() {
      queue.stop();
      await queue.onIdle();
    },
  };
}

async function processRow(deps: InboxDeps, row: InboxRow): Promise<void> {
  const event = await deps.store.inboxEvent(row.id);
  if (!event) return; // already handled (e.g. queued twice during recovery)
  const outcome = await deps.handle(event);
  const replies = await deps.store.completeEvent(row.id, outcome, deps.now());
  if (replies.length > 0) deps.outbox.notify(new Set(replies.map((r) => r.lane)));
}

/** Keys and lanes for a batch, in timestamp order so each user's events are handled in order. */
function toInboxEvents(events: readonly WebhookEvent[]): NewInboxEvent[] {
  return events
    .map((event, index) => ({ event, index, timestamp: 'timestamp' in event ? event.timestamp : event.entry_time }))
    .sort((a, b) => a.timestamp - b.timestamp || a.index - b.index)
    .map(({ event, timestamp }) => ({ key: eventKey(event), lane: laneOf(event), timestamp, event }));
}
