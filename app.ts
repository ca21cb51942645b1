// The composition root. `createApp` builds the app from its dependencies (a request listener:
// /webhook on node:http, the rest on express; tests use it directly); `main` reads the config,
// starts the server and handles shutdown, and runs only when this file is executed (`node app.ts`,
// `npm start`), never on import.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express, { type ErrorRequestHandler } from 'express';
import { dashboardRouter } from './routes/dashboard.ts';
import { healthRouter } from './routes/health.ts';
import { emulatorHostCheck } from './routes/host-check.ts';
import { liveMetricsStream } from './routes/live-metrics.ts';
import { metricsRoute } from './routes/metrics.ts';
import { webhookRoute } from './routes/webhook.ts';
import { accountClient } from './scripts/setup/context.ts';
import { apiOf, describeAccount, type AccountApi } from './services/accounts/types.ts';
import { createBot, type Bot } from './services/bot.ts';
import { configFromEnvironment, secretsOf, signingSecrets, type Config } from './services/config.ts';
import { createEmulator, type Emulator } from './services/emulator/index.ts';
import { HEARTBEAT_MS, createStreamHub, type StreamHub } from './services/emulator/sse.ts';
import { createTrafficLog, type TrafficLog } from './services/emulator/traffic.ts';
import type { FailureHook } from './services/failure-hook.ts';
import { createGraphHttp, graphClientFor } from './services/graph/client.ts';
import { createLogger, type Logger } from './services/logger.ts';
import { createLiveMetrics, type LiveMetrics } from './services/metrics/live.ts';
import { createThreadMetrics, type ThreadMetrics } from './services/metrics/registry.ts';
import { createScraper } from './services/metrics/scrape.ts';
import { projectPath } from './services/project-dir.ts';
import { createSecretSet, type SecretSet, type Secrets } from './services/redact.ts';
import { loadCatalog } from './services/shop/catalog.ts';
import { timeWebhookAnswer } from './services/metrics/webhook-timing.ts';
import { createSubscriptionWatchdog, type StoredTokens, type Watchdog } from './services/watchdog/subscription-watchdog.ts';
import { isPostgresUrl } from './services/state/open-store.ts';
import { createThreadedBot } from './services/worker/threaded-bot.ts';

export interface AppDeps {
  config: Readonly<Config>;
  log: Logger;
  bot: Bot;
  /** Emulator mode: the emulator mounted at /emulator (one is made from the config if absent). */
  emulator?: Emulator;
  /** Live mode with DASHBOARD_TOKEN: the traffic the dashboard shows (made if absent). */
  traffic?: TrafficLog;
  /** Open event streams (chat page, dashboard), ended on shutdown. */
  streams?: StreamHub;
  /** This thread's metrics (webhook answers, the backlog, the watchdog's verdicts); made if absent. */
  metrics?: ThreadMetrics;
  /** This thread's secret values (a SecretSet shared with `log` and the bot); secretsOf(config) if absent. */
  secrets?: Secrets;
}

const PUBLIC_DIR = projectPath('public/');

/** The app as a node:http request listener (give it to `createServer`, or to supertest in tests). */
export type App = (req: IncomingMessage, res: ServerResponse) => void;

/** /webhook on node:http (the hot path, see routes/webhook.ts); everything else through express. */
export function createApp({ config, log, bot, ...deps }: AppDeps): App {
  const secrets = deps.secrets ?? secretsOf(config);
  const streams = deps.streams ?? createStreamHub({ secrets });
  const traffic = config.mode === 'live' && config.DASHBOARD_TOKEN ? (deps.traffic ?? createTrafficLog({ secrets })) : undefined;
  // The emulator is for this machine: every route, the webhook too, checks the Host (DNS rebinding).
  const hostCheck = config.mode === 'emulator' ? emulatorHostCheck({ appUrl: config.APP_URL, log }) : undefined;
  // One scrape for /metrics and the live charts: this thread's registry merged with the bot's.
  const metrics = deps.metrics ?? createThreadMetrics({ thread: 'main', processMetrics: config.METRICS_TOKEN !== undefined });
  metrics.readFrom({ backlog: () => bot.store.backlog() });
  const scraper = createScraper(metrics, bot);
  const metricsEndpoint = config.METRICS_TOKEN ? metricsRoute({ token: config.METRICS_TOKEN, scrape: scraper.text, log }) : undefined;
  const live: LiveMetrics | undefined = config.mode === 'emulator' || traffic ? createLiveMetrics({ read: scraper.merged, log }) : undefined;
  const webhook = webhookRoute({
    appSecret: signingSecrets(config),
    verifyToken: config.VERIFY_TOKEN,
    log,
    accept: (body) => bot.accept(body),
    ...(traffic ? { observe: traffic.observeWebhook } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRouter(() => bot.health()));
  // The emulator exists in emulator mode only; with credentials set, /emulator/* is not found.
  if (config.mode === 'emulator' && live) app.get('/emulator/metrics/stream', liveMetricsStream(live, streams));
  if (config.mode === 'emulator') app.use('/emulator', (deps.emulator ?? createEmulator({ config, log, webhookUrl: localWebhookUrl(config), streams, secrets })).router);
  else app.use('/emulator', (_req, res) => void res.status(404).type('text/plain').send('Not found'));
  if (traffic && config.DASHBOARD_TOKEN) app.use(dashboardRouter({ token: config.DASHBOARD_TOKEN, traffic, streams, log, secrets, ...(live ? { live } : {}) }));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '1h' }));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  app.use(errorHandler(log));
  return (req, res) => {
    if (hostCheck && !hostCheck(req, res)) return;
    const startedAt = performance.now();
    if (webhook(req, res)) timeWebhookAnswer(res, startedAt, metrics);
    else if (!metricsEndpoint?.(req, res)) app(req, res);
  };
}

/** Where the emulator posts notifications: this app's own webhook, over loopback. */
export function localWebhookUrl(config: Readonly<Config>): string {
  return `http://127.0.0.1:${config.PORT}/webhook`;
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

/** How long the server waits for a client, in milliseconds (see SERVER_TIMEOUTS). */
export interface ServerTimeouts {
  /** From the connection (or the end of the previous request) until the headers are complete. */
  headersMs: number;
  /** Until the whole request, body included, has been received. */
  requestMs: number;
  /** An idle kept-alive connection between two requests. */
  keepAliveMs: number;
  /** A connection with nothing read or written while a request is being answered. */
  idleMs: number;
  /** How often the first two are checked (Node checks every 30 s by default). */
  checkEveryMs: number;
}

/**
 * Node's defaults (60 s for headers, 300 s for a request, no idle limit, checked every 30 s) let a
 * client that trickles its headers or never finishes its body hold a connection for minutes, and
 * enough of them exhaust the process. Meta sends each notification at once from its data centres
 * (a 1,000-event batch is about 1 MB) and expects the 200 within seconds, redelivering otherwise;
 * the chat page and the dashboard send small requests from nearby; so whatever has not arrived
 * after these many seconds will not. Answers are quick (the webhook only stores), so a connection idle for 20 s
 * while answering is stuck. Event streams are idle between events, so they write a heartbeat
 * every HEARTBEAT_MS, half the idle limit. Keep-alive stays at Node's 5 s: long enough for Meta
 * and a tunnel to reuse connections for a burst, short enough that idle ones do not pile up.
 */
export const SERVER_TIMEOUTS: Readonly<ServerTimeouts & { heartbeatMs: number }> = Object.freeze({
  headersMs: 10_000,
  requestMs: 20_000,
  keepAliveMs: 5_000,
  idleMs: 2 * HEARTBEAT_MS,
  checkEveryMs: 1_000,
  heartbeatMs: HEARTBEAT_MS,
});

/** The HTTP server for the app, with timeouts that cut slow and idle clients in seconds. */
export function createAppServer(app: App, timeouts: ServerTimeouts = SERVER_TIMEOUTS): Server {
  const server = createServer({ connectionsCheckingInterval: timeouts.checkEveryMs }, app);
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  // The socket's own inactivity timeout: ends a connection stuck mid-answer (e.g. a client that
  // stopped reading). Only answers in progress: between requests the keep-alive bound applies.
  server.timeout = timeouts.idleMs;
  return server;
}

export interface RunningApp {
  server: Server;
  bot: Bot;
  /** Graceful stop: no new requests, in-flight work gets `graceMs`, then the store closes. */
  close(graceMs?: number): Promise<void>;
}

/** What a shop may add when it starts the bot (see main below). */
export interface StartOptions {
  /** Handler and send failures, with their event or reply, for alerts (BotOptions.onError). */
  onError?: FailureHook;
  /**
   * The secret values of this thread, the same set the `log` given to start redacts: tokens the
   * bot obtains while it runs (a refreshed Instagram token) join it, and so never reach the log,
   * the dashboard or the emulator's inspector. Made from the config if absent.
   */
  secrets?: SecretSet;
}

/**
 * With a SQLite file, handling and sending run on a worker thread, so the webhook's thread only
 * verifies, stores and answers; `memory:` (tests, the emulator) keeps everything on this thread.
 */
function botFor(config: Readonly<Config>, log: Logger, traffic: TrafficLog | undefined, metrics: ThreadMetrics, options: StartOptions & { secrets: SecretSet }): Bot {
  const onError = options.onError ? { onError: options.onError } : {};
  if ((config.DATABASE_URL.startsWith('sqlite:') && config.DATABASE_URL !== 'sqlite::memory:') || isPostgresUrl(config.DATABASE_URL)) {
    return createThreadedBot(config, { log, metrics, ...onError, ...(traffic ? { observeGraph: traffic.observeGraph } : {}) });
  }
  // The live dashboard watches the bot's Graph and Instagram API calls through the clients' observer.
  return createBot(config, { log, secrets: options.secrets, ...onError, ...(traffic ? { observeGraph: traffic.observeGraph } : {}) });
}

/** Starts the bot and its server on config.PORT (and config.HOST, loopback in emulator mode). */
export async function start(config: Readonly<Config>, log: Logger, options: StartOptions = {}): Promise<RunningApp> {
  const secrets = options.secrets ?? createSecretSet(secretsOf(config));
  const streams = createStreamHub({ secrets });
  const traffic = config.mode === 'live' && config.DASHBOARD_TOKEN ? createTrafficLog({ secrets }) : undefined;
  const metrics = createThreadMetrics({ thread: 'main', processMetrics: config.METRICS_TOKEN !== undefined });
  const bot = botFor(config, log, traffic, metrics, { ...options, secrets });
  // The database must answer (and, for PostgreSQL, be migrated) before Meta's webhooks are taken.
  await bot.store.ping().catch(async (err: unknown) => {
    await bot.close(0).catch(() => undefined);
    throw new Error(`the database (DATABASE_URL) cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  });
  const app = createApp({ config, log, bot, streams, metrics, secrets, ...(traffic ? { traffic } : {}) });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createAppServer(app);
    s.once('error', reject);
    // HOST undefined (live mode's default): every interface, as Meta's requests come from outside.
    s.listen(config.PORT, config.HOST, () => resolve(s));
  });
  // After listening: in emulator mode the Graph API that recovered replies go to is this server.
  await bot.recover();
  // After listening too: subscribing again makes Meta call this server's /webhook to verify it.
  const watchdog = config.mode === 'live' && config.WATCHDOG_INTERVAL_MS > 0 ? startWatchdog(config, log, metrics, traffic, { store: bot.store, secrets }) : undefined;
  return {
    server,
    bot,
    async close(graceMs = 10_000) {
      // Stop accepting first; events already stored are safe and finish (or resume next start).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      streams.closeAll();
      await watchdog?.stop();
      await bot.close(graceMs);
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The subscription watchdog on this thread, with each account's client made as `npm run setup`
 * makes it; its calls are shown on the live dashboard like the bot's, with the API each used.
 * It reads the refreshed Instagram tokens from this thread's store (with a worker thread, the
 * webhook's own connection to the database the worker's refresher writes).
 */
function startWatchdog(config: Readonly<Config>, log: Logger, metrics: ThreadMetrics, traffic: TrafficLog | undefined, storedTokens: StoredTokens): Watchdog {
  const observed = (baseUrl: string, api: AccountApi) => createGraphHttp({ baseUrl, version: config.GRAPH_API_VERSION, ...(traffic ? { observe: (call) => traffic.observeGraph({ ...call, api }) } : {}) });
  const http = traffic ? { graph: observed(config.GRAPH_API_URL, 'graph'), instagram: observed(config.INSTAGRAM_API_URL, 'instagram') } : undefined;
  const watchdog = createSubscriptionWatchdog({
    config,
    graph: graphClientFor(config, http?.graph),
    clientFor: (account, tokens) => accountClient(config, account, tokens, http?.[apiOf(account)]),
    storedTokens,
    // The triggers the bot answers from (loaded and checked already by the bot at start): their comment fields are expected too.
    comments: loadCatalog().commentReplies,
    log: log.child({ component: 'watchdog' }),
    metrics,
  });
  watchdog.start();
  return watchdog;
}

async function main(): Promise<void> {
  const config = configFromEnvironment();
  if (!config) process.exit(1);
  // One set for the logger and everything start() makes: a token refreshed on this thread joins it.
  const secrets = createSecretSet(secretsOf(config));
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, redact: secrets });
  for (const warning of config.warnings) log.warn(warning);
  // A shop that wants alerts passes `{ onError }` here: README, "When a handler or a send fails".
  const running = await start(config, log, { secrets });
  const instagramLogin = config.accounts.some((a) => a.type === 'instagram');
  log.info('bot started', {
    mode: config.mode,
    port: config.PORT,
    graph: config.GRAPH_API_URL,
    ...(instagramLogin ? { instagram: config.INSTAGRAM_API_URL } : {}),
    accounts: config.accounts.map(describeAccount),
    webhook: `${config.APP_URL}/webhook`,
  });
  const port = (running.server.address() as AddressInfo).port;
  if (config.mode === 'emulator') {
    process.stdout.write(`\nOpen http://localhost:${port}/ to chat with your bot (emulator mode: no Meta credentials needed)\n\n`);
  } else if (config.DASHBOARD_TOKEN) {
    log.info('live dashboard on', { url: `http://localhost:${port}/dashboard`, auth: 'Bearer DASHBOARD_TOKEN' });
  }
  if (config.mode === 'live' && !config.APP_URL.startsWith('https://')) {
    log.warn('APP_URL is not https: Meta only delivers webhooks to an https URL (start a tunnel and set APP_URL)');
  }
  const stop = (signal: string) => {
    log.info('shutting down', { signal });
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** Runs the bot until a signal stops it: `node app.ts`, and `npm start` on the compiled dist/app.js (scripts/start.js). */
export function run(): void {
  main().catch((err: unknown) => {
    process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) run();
