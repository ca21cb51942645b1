// Runs work in lanes: one lane's items strictly one after another, in the order given, and
// different lanes side by side up to a concurrency bound. Every item is tracked, so shutdown and
// tests can wait for the queue to go idle, and a stopped queue starts nothing new.
import { accountKeyOf, type AccountDirectory } from './accounts/directory.ts';
import { commentLane } from './comments/comment.ts';
import type { WebhookEvent } from './events/types.ts';
import type { Logger } from './logger.ts';

export interface LaneQueue<T> {
  enqueue(items: readonly T[]): void;
  /** Resolves once every item enqueued so far has been processed (or the queue was stopped and drained). */
  onIdle(): Promise<void>;
  /** Starts nothing new; items already running finish. */
  stop(): void;
  readonly pending: number;
}

export interface LaneQueueOptions<T> {
  process: (item: T) => Promise<void>;
  laneOf: (item: T) => string;
  log: Logger;
  concurrency?: number;
  /** Items a lane may run in a row while other lanes wait for a slot. */
  quantum?: number;
}

export function createLaneQueue<T>({ process, laneOf, log, concurrency = 16, quantum = 8 }: LaneQueueOptions<T>): LaneQueue<T> {
  const lanes = new Map<string, T[]>();
  const waiting: string[] = [];
  let running = 0;
  let pending = 0;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];

  const settle = (): void => {
    if (pending > 0 && !(stopped && running === 0)) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  };

  const startNext = (): void => {
    while (!stopped && running < concurrency && waiting.length > 0) {
      const lane = waiting.shift() as string;
      running += 1;
      void runLane(lane);
    }
    settle();
  };

  // Runs one lane; the lane stays registered while running so new items join its tail. After a
  // quantum of items it yields its slot to waiting lanes, so a long backlog cannot starve others.
  const runLane = async (lane: string): Promise<void> => {
    const queue = lanes.get(lane) ?? [];
    let served = 0;
    while (!stopped && queue.length > 0 && !(served >= quantum && waiting.length > 0)) {
      const item = queue.shift() as T;
      try {
        await process(item);
      } catch (err) {
        log.error('queued work failed', { err, lane });
      }
      pending -= 1;
      served += 1;
      // Let I/O run between items: with a synchronous store, a lane would otherwise hold the
      // event loop and the webhook's 200s would wait behind handling.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (queue.length === 0) lanes.delete(lane);
    else waiting.push(lane); // back of the line (or, when stopped, left for a later run)
    running -= 1;
    startNext();
  };

  return {
    enqueue(items) {
      for (const item of items) {
        const lane = laneOf(item);
        const queue = lanes.get(lane);
        pending += 1;
        if (queue) queue.push(item);
        else {
          lanes.set(lane, [item]);
          waiting.push(lane);
        }
      }
      startNext();
    },
    onIdle: () => new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
      settle();
    }),
    stop() {
      stopped = true;
      settle();
    },
    get pending() {
      return pending;
    },
  };
}

/** A lane queue of webhook events, one lane per sender of each account. */
export function createEventQueue(options: Omit<LaneQueueOptions<WebhookEvent>, 'laneOf'> & { accounts?: AccountDirectory }): LaneQueue<WebhookEvent> {
  const { accounts, ...rest } = options;
  return createLaneQueue({ ...rest, laneOf: (event) => laneOf(event, accounts) });
}

/**
 * Events of one sender of one account share a lane, `<account>/<channel>:<sender>`: the same key
 * as the user's (services/state/store.ts `userKey`), so a user's events and replies keep one lane.
 * A comment goes in its author's lane (see commentLane). Sender-less events share one per entry.
 * The account is the directory's for `entry.id`; without a directory (or for an id that is none
 * of ours) it is `entry.id` itself, which is the account key for Pages and Instagram Login accounts.
 */
export function laneOf(event: WebhookEvent, accounts?: AccountDirectory): string {
  const account = (accounts ? accountKeyOf(event, accounts) : undefined) ?? event.entry_id;
  if (event.kind === 'comment') return commentLane(event, account);
  const sender = 'sender' in event ? (event.sender?.id ?? event.sender?.user_ref) : undefined;
  return sender ? `${account}/${event.channel}:${sender}` : `${account}/${event.channel}:entry:${event.entry_id}`;
}
