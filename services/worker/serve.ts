// What the bot worker does (bot-worker.ts is its entry point): runs the in-process bot on this
// thread with its own store connection, and answers the webhook thread's requests (protocol.ts).
// Handling and sending live here, so the webhook thread only verifies, stores and answers.
import { setPriority } from 'node:os';
import type { MessagePort } from 'node:worker_threads';
import { createBot, type HandlingReport } from '../bot.ts';
import { secretsOf } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { MetricsSnapshot } from '../metrics/bot-metrics.ts';
import { createThreadMetrics } from '../metrics/registry.ts';
import { openStore } from '../state/open-store.ts';
import type { BotStore } from '../state/store.ts';
import { postedFailure } from './failures.ts';
import type { FromWorker, ToWorker, WorkerInit, WorkerRequest } from './protocol.ts';

/**
 * The worker runs at a lower CPU priority than the webhook thread (Linux: per thread). When both
 * compete for a core, the 200 that stops Meta's redeliveries goes first; the backlog is durable.
 */
const NICENESS = 10;

export interface ServeOptions {
  /** Wraps the store the bot uses (tests: a store that fails, or kills the thread, on cue). */
  wrapStore?: (store: BotStore) => BotStore;
}

export function serveBot(port: MessagePort, { config, observeGraph, inboxRetry, reportFailures }: WorkerInit, options: ServeOptions = {}): void {
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, redact: secretsOf(config) }, { thread: 'bot' });
  const post = (message: FromWorker): void => port.postMessage(message);
  try {
    setPriority(NICENESS);
  } catch (err) {
    log.debug('could not lower the bot thread priority', { err });
  }
  // This thread's own registry, read by the webhook thread over the `metrics` request.
  const metrics = createThreadMetrics({ thread: 'bot', processMetrics: config.METRICS_TOKEN !== undefined });
  const store = options.wrapStore ? options.wrapStore(openStore(config.DATABASE_URL)) : undefined;
  const bot = createBot(config, {
    log,
    metrics,
    // Every Graph and Instagram API call goes back to the webhook thread for the live dashboard.
    ...(observeGraph ? { observeGraph: (call) => post({ type: 'graph', call }) } : {}),
    ...(inboxRetry ? { inboxRetry } : {}),
    ...(store ? { store } : {}),
    // The shop's onError hook lives on the webhook thread: failures go there.
    ...(reportFailures ? { onError: (failure) => post({ type: 'failure', failure: postedFailure(failure) }) } : {}),
  });

  const answer = async (request: WorkerRequest): Promise<{ report?: HandlingReport; metrics?: MetricsSnapshot } | undefined> => {
    switch (request.type) {
      case 'recover':
        await bot.recover();
        return undefined;
      case 'idle':
        await bot.idle();
        return undefined;
      case 'health':
        return { report: await bot.report() };
      case 'metrics':
        return { metrics: await metrics.snapshot() };
      case 'close':
        await bot.close(request.graceMs);
        return undefined;
    }
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'wake') {
      bot.wake();
      return;
    }
    answer(message).then(
      (value) => {
        post({ type: 'reply', id: message.id, ...value });
        if (message.type === 'close') port.close(); // nothing keeps the thread alive after this: it exits
      },
      (err: unknown) => {
        log.error('bot worker request failed', { err, request: message.type });
        post({ type: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) });
      },
    );
  });
}
