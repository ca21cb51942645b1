// The bot worker's entry point, started by threaded-bot.ts: see serve.ts for what it does.
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from './protocol.ts';
import { serveBot } from './serve.ts';

if (!parentPort) throw new Error('bot-worker.ts runs as a worker thread (see threaded-bot.ts)');
serveBot(parentPort, workerData as WorkerInit);
