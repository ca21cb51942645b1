// The composition root. `createApp` builds the express app from its dependencies (tests use it
// directly); `main` reads the config, starts the server and handles shutdown, and runs only when
// this file is executed (`node app.ts`, `npm start`), never on import.
import type { Server } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { webhookRouter } from './routes/webhook.ts';
import { createBot, type Bot } from './services/bot.ts';
import { loadConfig, secretsOf, type Config } from './services/config.ts';
import { ConfigError } from './services/errors.ts';
import { createLogger, type Logger } from './services/logger.ts';

export interface AppDeps {
  config: Readonly<Config>;
  log: Logger;
  bot: Bot;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

export function createApp({ config, log, bot }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(webhookRouter({ appSecret: config.APP_SECRET, verifyToken: config.VERIFY_TOKEN, log, accept: (n) => bot.accept(n) }));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '1h' }));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  app.use(errorHandler(log));
  return app;
}

/** The one HTTP error path: a status and a fixed text, never a stack trace or internal message. */
function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const status = httpStatusOf(err);
    if (status >= 500) log.error('request failed', { err });
    else log.warn('request rejected', { status, type: (err as { type?: unknown }).type });
    res.status(status).type('text/plain').send(status === 413 ? 'Payload too large' : status >= 500 ? 'Internal error' : 'Bad request');
  };
}

function httpStatusOf(err: unknown): number {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

export interface RunningApp {
  server: Server;
  bot: Bot;
  close(): Promise<void>;
}

/** Starts the bot and its server on config.PORT. */
export async function start(config: Readonly<Config>, log: Logger): Promise<RunningApp> {
  const bot = createBot(config, { log });
  const app = createApp({ config, log, bot });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.PORT, () => resolve(s));
    s.once('error', reject);
  });
  return {
    server,
    bot,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bot.idle();
    },
  };
}

async function main(): Promise<void> {
  const dotenv = await import('dotenv');
  dotenv.config({ quiet: true });
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`Configuration error: ${err.message}\n`);
    process.exit(1);
  }
  const log = createLogger({ level: config.LOG_LEVEL, redact: secretsOf(config) });
  const running = await start(config, log);
  log.info('bot started', { mode: config.mode, port: config.PORT, graph: config.GRAPH_API_URL, webhook: `${config.APP_URL}/webhook` });
  if (config.mode === 'live' && !config.APP_URL.startsWith('https://')) {
    log.warn('APP_URL is not https: Meta only delivers webhooks to an https URL (start a tunnel and set APP_URL)');
  }
  const stop = (signal: string) => {
    log.info('shutting down', { signal });
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
