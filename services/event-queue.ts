// Runs events after the webhook has answered: one user's events strictly one after another, in
// arrival order, and different users side by side up to a concurrency bound. Every task is
// tracked, so shutdown and tests can wait for the queue to go idle.
import type { WebhookEvent } from './events/types.ts';
import type { Logger } from './logger.ts';

export interface EventQueue {
  enqueue(events: readonly WebhookEvent[]): void;
  /** Resolves once every event enqueued so far has been handled. */
  onIdle(): Promise<void>;
  readonly pending: number;
}

export interface EventQueueOptions {
  process: (event: WebhookEvent) => Promise<void>;
  log: Logger;
  concurrency?: number;
}

export function createEventQueue({ process, log, concurrency = 16 }: EventQueueOptions): EventQueue {
  const lanes = new Map<string, WebhookEvent[]>();
  const waiting: string[] = [];
  let running = 0;
  let pending = 0;
  let idleWaiters: (() => void)[] = [];

  const startNext = (): void => {
    while (running < concurrency && waiting.length > 0) {
      const lane = waiting.shift() as string;
      running += 1;
      void runLane(lane);
    }
    if (pending === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  };

  // Drains one user's lane; the lane stays registered while running so new events join its tail.
  const runLane = async (lane: string): Promise<void> => {
    const queue = lanes.get(lane) ?? [];
    for (let event = queue.shift(); event; event = queue.shift()) {
      try {
        await process(event);
      } catch (err) {
        log.error('event processing failed', { err, kind: event.kind });
      }
      pending -= 1;
    }
    lanes.delete(lane);
    running -= 1;
    startNext();
  };

  return {
    enqueue(events) {
      for (const event of events) {
        const lane = laneOf(event);
        const queue = lanes.get(lane);
        pending += 1;
        if (queue) queue.push(event);
        else {
          lanes.set(lane, [event]);
          waiting.push(lane);
        }
      }
      startNext();
    },
    onIdle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    get pending() {
      return pending;
    },
  };
}

/** Events of one sender share a lane; sender-less events share one per entry. */
export function laneOf(event: WebhookEvent): string {
  const sender = 'sender' in event ? (event.sender?.id ?? event.sender?.user_ref) : undefined;
  return sender ? `${event.channel}:${sender}` : `${event.channel}:entry:${event.entry_id}`;
}
