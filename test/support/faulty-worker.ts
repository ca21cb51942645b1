// Stand-ins for the bot worker (services/worker/bot-worker.ts), for threaded-bot tests. Chosen by
// the `mode` query parameter of this module's URL (jest gives tests their own process.env, which a
// worker does not see):
// - `die-once:PATH`: the first worker exits on its first message, like a thread killed mid-work
//   (PATH records that it happened); workers started after that are the real one.
// - `hang`: never answers anything, like a worker stuck in a loop.
// - `die-on:TEXT`: the real worker, except that reading an event whose text is TEXT ends the thread
//   (like an event that makes handling run out of memory), every time.
// - `no-progress`: answers requests but handles nothing, and reports no progress since it started.
// - `leak-on:TEXT`: the real worker, except that reading an event whose text is TEXT allocates
//   without end (a runaway), until the thread's heap bound ends it.
// - `heap-limit:PATH`: writes this thread's V8 heap limit (bytes) to PATH, then is the real worker.
import { existsSync, writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from '../../services/worker/protocol.ts';
import { serveBot } from '../../services/worker/serve.ts';

const mode = new URL(import.meta.url).searchParams.get('mode') ?? '';
const port = parentPort;
if (!port) throw new Error('faulty-worker.ts runs as a worker thread');
if (mode === 'hang') {
  port.on('message', () => undefined);
} else if (mode.startsWith('die-once:') && !existsSync(mode.slice('die-once:'.length))) {
  writeFileSync(mode.slice('die-once:'.length), 'died');
  port.once('message', () => process.exit(3));
} else if (mode.startsWith('die-on:') || mode.startsWith('leak-on:')) {
  const [how, text] = [mode.slice(0, mode.indexOf(':')), mode.slice(mode.indexOf(':') + 1)];
  const kill = (): void => {
    if (how === 'die-on') process.exit(7);
    const hoard: number[][] = [];
    for (;;) hoard.push(Array.from({ length: 100_000 }, (_, i) => i));
  };
  serveBot(port, workerData as WorkerInit, {
    wrapStore: (store) => ({
      ...store,
      async inboxEvent(id) {
        const event = await store.inboxEvent(id);
        if (event?.kind === 'message' && event.message.text === text) kill();
        return event;
      },
    }),
  });
} else if (mode === 'no-progress') {
  const startedAt = Date.now();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'wake') return;
    const reply: FromWorker = { type: 'reply', id: message.id, ...(message.type === 'health' ? { report: { tokenValid: true, lastProgressAt: startedAt, outboxDue: 0 } } : {}) };
    port.postMessage(reply);
    if (message.type === 'close') port.close();
  });
} else {
  if (mode.startsWith('heap-limit:')) writeFileSync(mode.slice('heap-limit:'.length), String(getHeapStatistics().heap_size_limit));
  await import('../../services/worker/bot-worker.ts');
}
