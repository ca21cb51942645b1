// The bot worker's entry point: handling and sending, on their own thread with their own SQLite
// connection, so the webhook thread only verifies, stores and answers. Started by threaded-bot.ts.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createBot } from '../bot.ts';
import { secretsOf } from '../config.ts';
import { createGraphHttp } from '../graph/client.ts';
import { createLogger } from '../logger.ts';
import { createThreadMetrics } from '../metrics/registry.ts';
import type { FromWorker, ReplyValue, ToWorker, WorkerInit, WorkerRequest } from './protocol.ts';

/**
 * The worker runs at a lower CPU priority than the webhook thread (Linux: per thread). When both
 * compete for a core, the 200 that stops Meta's redeliveries goes first; the backlog is durable.
 */
const NICENESS = 10;

const port = parentPort;
if (!port) throw new Error('bot-worker.ts runs as a worker thread (see threaded-bot.ts)');
const { config, observeGraph } = workerData as WorkerInit;
const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, redact: secretsOf(config) }, { thread: 'bot' });
const post = (message: FromWorker): void => port.postMessage(message);

try {
  setPriority(NICENESS);
} catch (err) {
  log.debug('could not lower the bot thread priority', { err });
}

const http = observeGraph
  ? createGraphHttp({ baseUrl: config.GRAPH_API_URL, version: config.GRAPH_API_VERSION, observe: (call) => post({ type: 'graph', call }) })
  : undefined;
// metrics (#14): this thread's own registry, read by the webhook thread over the `metrics` request.
const metrics = createThreadMetrics({ thread: 'bot', processMetrics: config.METRICS_TOKEN !== undefined });
const bot = createBot(config, { log, metrics, ...(http ? { http } : {}) });

async function answer(request: WorkerRequest): Promise<ReplyValue | undefined> {
  switch (request.type) {
    case 'recover':
      await bot.recover();
      return undefined;
    case 'idle':
      await bot.idle();
      return undefined;
    case 'token':
      return bot.tokenValid();
    case 'metrics':
      return metrics.snapshot();
    case 'close':
      await bot.close(request.graceMs);
      return undefined;
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'wake') {
    bot.wake();
    return;
  }
  answer(message).then(
    (value) => {
      post({ type: 'reply', id: message.id, ...(value === undefined ? {} : { value }) });
      if (message.type === 'close') port.close(); // nothing keeps the thread alive after this: it exits
    },
    (err: unknown) => {
      log.error('bot worker request failed', { err, request: message.type });
      post({ type: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) });
    },
  );
});
