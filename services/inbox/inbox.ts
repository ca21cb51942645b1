// The durable inbox. `accept` stores a verified webhook body as it arrived, before the webhook
// answers 200; everything else happens after, from the store: bodies are expanded into events
// (normalised, keyed, redeliveries dropped), events are handled one lane per user in arrival
// order, and each event's replies are queued atomically with marking it handled. Only a bounded
// window of events is held in memory, however long the backlog in the store.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { laneOf, createLaneQueue } from '../event-queue.ts';
import { normalizeNotification } from '../events/normalize.ts';
import type { WebhookEvent } from '../events/types.ts';
import type { Logger } from '../logger.ts';
import { noopMetrics, type BotMetrics } from '../metrics/bot-metrics.ts';
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
  /** Most events held in memory at once (queued or being handled). */
  window?: number;
  /** Counts handled, duplicate and unreadable events (metrics, #14). */
  metrics?: BotMetrics;
}

export interface Inbox {
  /** Persists a verified body; resolves once it is safe, then handling picks it up. */
  accept(body: Uint8Array): Promise<void>;
  /** New bodies were stored (by this thread or another): pick them up. */
  wake(): void;
  /** Resumes what a previous run left: unexpanded bodies, unhandled events, unsent replies. */
  recover(): Promise<{ received: number; events: number; replies: number }>;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_WINDOW = 2000;
/**
 * Users handled at once. Handling waits on Graph for a new user's profile (~100–300 ms from Meta),
 * so 64 lanes keep up with a few hundred events per second.
 */
const DEFAULT_CONCURRENCY = 64;
/** After the store failed to give events, try again this much later (new notifications also retry). */
const RETRY_AFTER_ERROR_MS = 1000;
/** Events expanded per transaction: short, so a writer on another connection never waits long. */
const EXPAND_EVENTS = 100;

export function createInbox(deps: InboxDeps): Inbox {
  const windowSize = deps.window ?? DEFAULT_WINDOW;
  const refillBelow = Math.ceil(windowSize / 2);
  let cursor = 0; // the highest inbox id queued so far
  let stopped = false;
  let filling: Promise<void> | undefined;
  let fillAgain = false;

  const queue = createLaneQueue<InboxRow>({
    log: deps.log,
    laneOf: (row) => row.lane,
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    process: async (row) => {
      await processRow(deps, row);
      if (queue.pending <= refillBelow) wake();
    },
  });

  // Tops the window up from the store, expanding stored bodies when no events are waiting.
  const fill = async (): Promise<void> => {
    while (!stopped && queue.pending < refillBelow) {
      const rows = await deps.store.inboxAfter(cursor, windowSize - queue.pending);
      if (rows.length > 0) {
        cursor = (rows.at(-1) as InboxRow).id;
        queue.enqueue(rows);
        continue;
      }
      const expanded = await deps.store.expandNotifications(EXPAND_EVENTS, expandBody, deps.now());
      if (expanded.notifications === 0) return;
      if (expanded.duplicates > 0) deps.log.info('redelivered events ignored', { duplicates: expanded.duplicates });
      metricsOf(deps).eventDuplicates(expanded.duplicates); // metrics (#14)
      metricsOf(deps).eventsUnreadable(expanded.unreadable.length); // metrics (#14)
      for (const { id, reason } of expanded.unreadable) deps.log.error('stored notification could not be read; set aside in unreadable_notifications', { notification_id: id, reason });
      await nextTurn(); // let I/O (and the webhook, when it shares this thread) run between chunks
    }
  };

  const wake = (): void => {
    if (stopped) return;
    if (filling) {
      fillAgain = true;
      return;
    }
    filling = fill()
      .catch((err: unknown) => {
        deps.log.error('reading the inbox failed; trying again in a second', { err });
        setTimeout(wake, RETRY_AFTER_ERROR_MS).unref();
      })
      .finally(() => {
        filling = undefined;
        if (fillAgain) {
          fillAgain = false;
          wake();
        }
      });
  };

  return {
    async accept(body) {
      await deps.store.addNotification({ body }, deps.now());
      wake();
    },
    wake,
    async recover() {
      const backlog = await deps.store.backlog();
      deps.outbox.notify(await deps.store.outboxLanes());
      wake();
      return { received: backlog.received, events: backlog.inbox, replies: backlog.outbox };
    },
    async idle() {
      // Handling an event may refill the window, so wait until neither has anything left.
      while (filling || queue.pending > 0) {
        await filling;
        await queue.onIdle();
        if (stopped) return;
      }
    },
    async stop() {
      stopped = true;
      queue.stop();
      await filling;
      await queue.onIdle();
    },
  };
}

async function processRow(deps: InboxDeps, row: InboxRow): Promise<void> {
  const started = performance.now(); // metrics (#14)
  const event = await deps.store.inboxEvent(row.id);
  if (!event) return; // already handled
  const outcome = await deps.handle(event);
  const replies = await deps.store.completeEvent(row.id, outcome, deps.now());
  metricsOf(deps).eventHandled(event.kind, event.channel, (performance.now() - started) / 1000); // metrics (#14)
  if (replies.length > 0) deps.outbox.notify(new Set(replies.map((r) => r.lane)));
}

function metricsOf(deps: InboxDeps): BotMetrics {
  return deps.metrics ?? noopMetrics;
}

/** A stored body → its events with keys and lanes, in timestamp order so each user's events are handled in order. */
export function expandBody(body: Uint8Array): NewInboxEvent[] {
  const { events } = normalizeNotification(JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown);
  return toInboxEvents(events);
}

function toInboxEvents(events: readonly WebhookEvent[]): NewInboxEvent[] {
  return events
    .map((event, index) => ({ event, index, timestamp: 'timestamp' in event ? event.timestamp : event.entry_time }))
    .sort((a, b) => a.timestamp - b.timestamp || a.index - b.index)
    .map(({ event, timestamp }) => ({ key: eventKey(event), lane: laneOf(event), timestamp, event }));
}
