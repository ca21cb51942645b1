// npm run send-test-event -- "hello" [--postback] [--instagram] [--account ID] [--psid ID] [--url URL]
// Sends one signed message (or postback) event to a running bot, using APP_SECRET from .env (the
// Instagram app secret for an Instagram Login account).
import { parseArgs } from 'node:util';
import { configFromEnvironment } from '../services/config.ts';
import { buildTestNotification, sendTestEvent, testTargetOf } from '../services/test-event.ts';

const USAGE = 'usage: npm run send-test-event -- "hello" [--postback] [--instagram] [--account ID] [--psid ID] [--url http://localhost:3000/webhook]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { postback: { type: 'boolean' }, instagram: { type: 'boolean' }, account: { type: 'string' }, psid: { type: 'string' }, url: { type: 'string' } },
  });
  const text = positionals.join(' ').trim();
  if (text === '') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = configFromEnvironment();
  if (!config) return 2;
  if (config.mode === 'emulator' && !config.emulatorPinned) {
    process.stderr.write('APP_SECRET is not set: put the same APP_SECRET in .env that the running bot uses, then try again.\n');
    return 2;
  }
  const channel = values.instagram ? 'instagram' : 'messenger';
  const target = testTargetOf(config, channel, values.account);
  if (typeof target === 'string') {
    process.stderr.write(`${target}.\n`);
    return 2;
  }
  const url = values.url ?? `http://localhost:${config.PORT}/webhook`;
  const notification = buildTestNotification({ text, postback: values.postback === true, channel, accountId: target.accountId, senderId: values.psid ?? '24000000000000001', now: Date.now() });
  const outcome = await sendTestEvent(url, target.secret, notification);
  process.stdout.write(`${url} answered ${outcome.status} ${outcome.body.slice(0, 200)} in ${outcome.ms} ms\n`);
  return outcome.status === 200 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? `could not send: ${err.message}` : String(err);
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
