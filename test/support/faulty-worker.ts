// Stand-ins for the bot worker (services/worker/bot-worker.ts), for threaded-bot tests. Chosen by
// the `mode` query parameter of this module's URL (jest gives tests their own process.env, which a
// worker does not see):
// - `die-once:PATH`: the first worker exits on its first message, like a thread killed mid-work
//   (PATH records that it happened); workers started after that are the real one.
// - `hang`: never answers anything, like a worker stuck in a loop.
import { existsSync, writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const mode = new URL(import.meta.url).searchParams.get('mode') ?? '';
if (mode === 'hang') {
  parentPort?.on('message', () => undefined);
} else if (mode.startsWith('die-once:') && !existsSync(mode.slice('die-once:'.length))) {
  writeFileSync(mode.slice('die-once:'.length), 'died');
  parentPort?.once('message', () => process.exit(3));
} else {
  await import('../../services/worker/bot-worker.ts');
}
