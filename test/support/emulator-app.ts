// The real app in emulator mode on a free loopback port, with its emulator, bot and streams,
// closed after each test. Shared by the emulator test files.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from '@jest/globals';
import { createApp, localWebhookUrl } from '../../app.ts';
import { createBot, type Bot } from '../../services/bot.ts';
import { loadConfig, secretsOf, type Config } from '../../services/config.ts';
import { createEmulator, type Emulator } from '../../services/emulator/index.ts';
import { createStreamHub, type StreamHub } from '../../services/emulator/sse.ts';
import { createLogger } from '../../services/logger.ts';

export interface Running {
  config: Readonly<Config>;
  emulator: Emulator;
  bot: Bot;
  streams: StreamHub;
  base: string;
  server: Server;
  logText: () => string;
  /** Waits until the conversation is quiet: webhooks answered, events handled, receipts sent. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

/**
 * The real app in emulator mode on a free loopback port (the port is known before the config).
 * `emulatorNow` is the emulator's clock (Meta's side); the bot keeps the real one.
 */
export async function startEmulatorApp(env: Record<string, string> = {}, { emulatorNow }: { emulatorNow?: () => number } = {}): Promise<Running> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = loadConfig({ PORT: String(port), DATABASE_URL: 'memory:', ...env });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: secretsOf(config), write: (line) => lines.push(line) });
  const bot = createBot(config, { log });
  const streams = createStreamHub({ secrets: secretsOf(config) });
  const emulator = createEmulator({ config, log, webhookUrl: localWebhookUrl(config), streams, ...(emulatorNow ? { now: emulatorNow } : {}) });
  server.on('request', createApp({ config, log, bot, emulator, streams }));
  const r: Running = {
    config,
    emulator,
    bot,
    streams,
    server,
    base: `http://127.0.0.1:${port}`,
    logText: () => lines.join('\n'),
    async settle() {
      for (let i = 0; i < 6; i += 1) {
        await emulator.idle();
        await bot.idle();
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    },
    async close() {
      streams.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bot.idle();
    },
  };
  running.push(r);
  return r;
}

