// The durable inbox. `accept` stores a verified webhook body as it arrived, before the webhook
// answers 200; everything else happens after, from the store: bodies are expanded into events
// (normalised, keyed, redeliveries dropped), events are handled one lane per user in arrival
// order, and each event's replies are queued atomically with marking it handled. Only a bounded
// window of events is held in memory, however long the backlog in the store.
//
// Nothing one notification or event does can stop the rest: a body or event that cannot be read
// is set aside by the store at expansion; an event whose handling keeps failing (or keeps killing
// the thread) is retried a few times with backoff and then set aside in `failed_events`. A store
// that fails as a whole is not a poison event: the inbox waits for it, with a growing pause.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLaneQueue } from '../event-queue.ts';
import type { WebhookEvent } from '../events/types.ts';
import type { Logger } from '../logger.ts';
import type { OutboxSender } from '../outbox/sender.ts';
import type { Progress } from '../progress.ts';
import type { BotStore, EventOutcome, InboxRow } from '../state/store.ts';
import { reasonOf } from '../state/store.ts';
import { expandBody } from './expand.ts';
import { createGate } from './gate.ts';

export interface InboxRetry {
  /** First pause after a failure (ms); it doubles with each further failure, up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Times an event is tried before it is set aside. */
  maxAttempts: number;
}

/**
 * Five tries over about 7.5 s (0.5, 1, 2, 4 s apart): time enough for a passing fault, short of the
 * 30 s after which /healthz calls handling stuck. Store outages are retried with the same growing
 * pause, up to 10 s, for as long as they last.
 */
export const DEFAULT_INBOX_RETRY: InboxRetry = { baseMs: 500, maxMs: 10_000, maxAttempts: 5 };

export interface InboxDeps {
  store: BotStore;
  handle: (event: WebhookEvent) => Promise<EventOutcome>;
  outbox: OutboxSender;
  log: Logger;
  now: () => number;
  concurrency?: number;
  /** Most events held in memory at once (queued or being handled). */
  window?: number;
  retry?: InboxRetry;
  /** Told about each event handled or set aside, each batch of bodies expanded, and work arriving while idle. */
  progress?: Progress;
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
/** Events expanded per transaction: short, so a writer on another connection never waits long. */
const EXPAND_EVENTS = 100;

export function createInbox(deps: InboxDeps): Inbox {
  const windowSize = deps.window ?? DEFAULT_WINDOW;
  const refillBelow = Math.ceil(windowSize / 2);
  const retry = deps.retry ?? DEFAULT_INBOX_RETRY;
  const gate = createGate();
  let cursor = 0; // the highest inbox id queued so far
  let stopped = false;
  let filling: Promise<void> | undefined;
  let fillAgain = false;
  let fillFailures = 0;
  let fillRetry: { timer: ReturnType<typeof setTimeout>; done: Promise<void>; fire: () => void } | undefined;
  // Events read before this run expanded anything were left by an earlier run, which may have
  // ended because of one of them: their attempts are counted in the store before each try.
  let expandedYet = false;
  let leftByEarlierRun = 0;
  const pauses = new Set<() => void>();

  /** Waits `ms`, or less if the inbox stops meanwhile. */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        pauses.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      timer.unref();
      pauses.add(end);
    });
  const delayAfter = (failures: number): number => Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, failures - 1));

  const queue = createLaneQueue<InboxRow>({
    log: deps.log,
    laneOf: (row) => row.lane,
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    process: async (row) => {
      await processRow(row);
      if (queue.pending <= refillBelow) startFill();
    },
  });

  const handleOnce = async (row: InboxRow): Promise<void> => {
    const event = await deps.store.inboxEvent(row.id);
    if (!event) return; // already handled
    const outcome = await deps.handle(event);
    const replies = await deps.store.completeEvent(row.id, outcome, deps.now());
    if (replies.length > 0) deps.outbox.notify(new Set(replies.map((r) => r.lane)));
  };

  /** Sets the event aside; while the store cannot take even that, waits for it. */
  const setAside = async (row: InboxRow, attempts: number, reason: string): Promise<void> => {
    for (let failures = 1; !stopped; failures++) {
      try {
        await deps.store.setAsideEvent(row.id, reason, deps.now());
        deps.log.error('event set aside in failed_events: handling it kept failing', { inbox_id: row.id, lane: row.lane, attempts, reason });
        deps.progress?.note();
        return;
      } catch (err) {
        deps.log.error('the store failed to set an event aside; trying again', { err, inbox_id: row.id, retry_in_ms: delayAfter(failures) });
        await pause(delayAfter(failures));
      }
    }
  };

  /**
   * Handles one event, trying again after a failure. From the second try on (and from the first,
   * for an event left by an earlier run) the attempt is counted in the store before it starts: an
   * attempt that kills the thread is still counted, and an attempt the store cannot even count is
   * a store outage, which is waited out rather than counted against the event.
   */
  const processRow = async (row: InboxRow): Promise<void> => {
    let counted = row.attempts > 0 || row.id <= leftByEarlierRun;
    // The first try of an event that arrived in this run is not counted in the store (that would
    // cost a write per event); it is added to the stored count here.
    const uncounted = counted ? 0 : 1;
    let failures = 0;
    let outages = 0;
    // An event some earlier attempt of which never finished runs alone (see gate.ts).
    const exclusive = row.attempts > 0;
    const attempt = async (): Promise<'done' | 'failed' | 'outage'> => {
      if (stopped) return 'done'; // left in the inbox for the next run
      let tries = 1;
      if (counted) {
        try {
          tries = (await deps.store.countAttempt(row.id)) + uncounted;
        } catch (err) {
          outages += 1;
          deps.log.error('the store failed while handling an event; waiting for it', { err, inbox_id: row.id, retry_in_ms: delayAfter(outages) });
          return 'outage';
        }
        if (tries === uncounted) return 'done'; // no longer in the inbox
        if (tries > retry.maxAttempts) {
          // Only attempts that were cut short get here: each one that failed was counted below.
          await setAside(row, tries - 1, `handling did not finish in ${tries - 1} attempts: the bot stopped, or its thread died, during each of them`);
          return 'done';
        }
      }
      try {
        await handleOnce(row);
        deps.progress?.note();
        return 'done';
      } catch (err) {
        failures += 1;
        if (tries >= retry.maxAttempts) {
          await setAside(row, tries, `handling failed ${tries} times: ${reasonOf(err)}`);
          return 'done';
        }
        deps.log.warn('handling an event failed; trying it again', { err, inbox_id: row.id, lane: row.lane, attempt: tries, retry_in_ms: delayAfter(failures) });
        return 'failed';
      }
    };
    while (!stopped) {
      const result = await gate.run(exclusive, attempt);
      if (result === 'done') return;
      counted = true;
      await pause(delayAfter(result === 'outage' ? outages : failures));
    }
  };

  // Tops the window up from the store, expanding stored bodies when no events are waiting.
  const fill = async (): Promise<void> => {
    while (!stopped && queue.pending < refillBelow) {
      const rows = await deps.store.inboxAfter(cursor, windowSize - queue.pending);
      if (rows.length > 0) {
        cursor = (rows.at(-1) as InboxRow).id;
        if (!expandedYet) leftByEarlierRun = cursor;
        queue.enqueue(rows);
        continue;
      }
      expandedYet = true;
      const expanded = await deps.store.expandNotifications(EXPAND_EVENTS, expandBody, deps.now());
      if (expanded.notifications === 0) return;
      deps.progress?.note();
      if (expanded.duplicates > 0) deps.log.info('redelivered events ignored', { duplicates: expanded.duplicates });
      for (const { id, reason, events } of expanded.unreadable) {
        const what = events ? 'some events of a stored notification could not be read; the notification is kept in unreadable_notifications, its other events go on' : 'stored notification could not be read; set aside in unreadable_notifications';
        deps.log.error(what, { notification_id: id, reason, ...(events ? { events: events.map((p) => p + 1) } : {}) });
      }
      await nextTurn(); // let I/O (and the webhook, when it shares this thread) run between chunks
    }
  };

  /** New notifications were stored. */
  const wake = (): void => {
    if (stopped) return;
    // Work arriving while there was none: the stuck clock (see progress.ts) starts now.
    if (!filling && !fillRetry && queue.pending === 0) deps.progress?.note();
    startFill();
  };

  // One fill at a time, and after a failure one retry timer, however many wakes come meanwhile:
  // they are all served by the fill that timer starts.
  const startFill = (): void => {
    if (stopped) return;
    if (filling || fillRetry) {
      fillAgain = true;
      return;
    }
    fillAgain = false;
    filling = fill()
      .then(
        () => void (fillFailures = 0),
        (err: unknown) => {
          fillFailures += 1;
          const delay = delayAfter(fillFailures);
          deps.log.error('reading the inbox failed; trying again later', { err, failures: fillFailures, retry_in_ms: delay });
          scheduleFillRetry(delay);
        },
      )
      .finally(() => {
        filling = undefined;
        if (fillAgain && !fillRetry) startFill();
      });
  };

  const scheduleFillRetry = (delay: number): void => {
    let fire!: () => void;
    const done = new Promise<void>((resolve) => (fire = resolve));
    const timer = setTimeout(() => {
      fillRetry = undefined;
      fire();
      startFill();
    }, delay);
    timer.unref();
    fillRetry = { timer, done, fire };
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
      while (filling || fillRetry || queue.pending > 0) {
        await filling;
        await fillRetry?.done;
        await queue.onIdle();
        if (stopped) return;
      }
    },
    async stop() {
      stopped = true;
      if (fillRetry) {
        clearTimeout(fillRetry.timer);
        fillRetry.fire();
        fillRetry = undefined;
      }
      for (const end of [...pauses]) end();
      queue.stop();
      await filling;
      await queue.onIdle();
    },
  };
}
