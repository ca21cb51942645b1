// Server timeouts suited to a webhook: a client that trickles its headers, never finishes its
// body, or sits idle on a kept-alive connection is cut within seconds, while the event streams of
// the chat page and the dashboard stay open as long as they are read.
import { get as httpGet, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { SERVER_TIMEOUTS, createApp, createAppServer, start, type App, type RunningApp, type ServerTimeouts } from '../app.ts';
import { createBot } from '../services/bot.ts';
import { loadConfig, secretsOf } from '../services/config.ts';
import { createStreamHub } from '../services/emulator/sse.ts';
import { createLogger } from '../services/logger.ts';
import { TEST_ENV } from './support/harness.ts';

const silent = createLogger({ level: 'silent' });
// Short bounds, so the tests take seconds; the margins below allow for a busy machine.
const SHORT: ServerTimeouts = { headersMs: 1000, requestMs: 2000, keepAliveMs: 500, idleMs: 1500, checkEveryMs: 200 };

const servers: Server[] = [];
const runningApps: RunningApp[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await Promise.all(runningApps.splice(0).map((r) => r.close(1000)));
});

async function listen(app: App, timeouts: ServerTimeouts = SHORT): Promise<number> {
  const server = createAppServer(app, timeouts);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function liveApp(): App {
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
  return createApp({ config, log: silent, bot: createBot(config, { log: silent }) });
}

/** Opens a raw connection; resolves with what the server wrote and how long until it closed. */
function rawClient(port: number, act: (socket: Socket) => void, giveUpMs = 15_000): Promise<{ ms: number; text: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let text = '';
    const socket = connect(port, '127.0.0.1', () => act(socket));
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, text });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${giveUpMs} ms`));
    }, giveUpMs);
  });
}

/** Writes `chunk` every `everyMs` until the socket closes: a slow client that is never idle. */
function trickle(socket: Socket, chunk: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer);
    else socket.write(chunk);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

describe('server timeouts', () => {
  it('ships bounds in seconds, not minutes (Node would wait 60 s for headers and 300 s for a request)', async () => {
    const running = await start(loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', PORT: '0', HOST: '127.0.0.1' }), silent);
    runningApps.push(running);
    const { server } = running;
    expect(server.headersTimeout).toBe(SERVER_TIMEOUTS.headersMs);
    expect(server.requestTimeout).toBe(SERVER_TIMEOUTS.requestMs);
    expect(server.keepAliveTimeout).toBe(SERVER_TIMEOUTS.keepAliveMs);
    expect(server.timeout).toBe(SERVER_TIMEOUTS.idleMs);
    expect(server.headersTimeout).toBeLessThanOrEqual(15_000);
    expect(server.requestTimeout).toBeLessThanOrEqual(30_000);
    expect(server.keepAliveTimeout).toBeLessThanOrEqual(10_000);
    expect(server.timeout).toBeLessThanOrEqual(30_000);
    // An open event stream writes a heartbeat well within the idle bound.
    expect(SERVER_TIMEOUTS.idleMs).toBeGreaterThanOrEqual(2 * SERVER_TIMEOUTS.heartbeatMs);
  });

  it('cuts slow and idle clients of the server `npm start` runs within its bounds, in parallel', async () => {
    const running = await start(loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', PORT: '0', HOST: '127.0.0.1' }), silent);
    runningApps.push(running);
    const { port } = running.server.address() as AddressInfo;
    const bound = SERVER_TIMEOUTS.headersMs + SERVER_TIMEOUTS.checkEveryMs + 5000;
    const [slowHeaders, silentClient, keptAlive] = await Promise.all([
      rawClient(port, (socket) => {
        socket.write('POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        trickle(socket, 'X-Slow: y\r\n', 500);
      }, bound),
      rawClient(port, () => undefined, bound),
      rawClient(port, (socket) => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), bound),
    ]);
    expect(slowHeaders.text).toMatch(/^HTTP\/1\.1 408/);
    expect(silentClient.ms).toBeLessThan(bound);
    expect(keptAlive.text).toMatch(/^HTTP\/1\.1 200/);
    expect(keptAlive.ms).toBeLessThan(SERVER_TIMEOUTS.keepAliveMs + 5000);
  }, 40_000);

  it('cuts a client that sends its headers slowly, within the headers bound', async () => {
    const port = await listen(liveApp());
    const { ms, text } = await rawClient(port, (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      trickle(socket, 'X-Slow: y\r\n', 100);
    });
    expect(ms).toBeGreaterThanOrEqual(SHORT.headersMs - 100);
    expect(ms).toBeLessThan(SHORT.headersMs + 4000);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('cuts a connection that never sends a request', async () => {
    const port = await listen(liveApp());
    const { ms } = await rawClient(port, () => undefined);
    expect(ms).toBeLessThan(SHORT.headersMs + 4000);
  });

  it('cuts a webhook POST whose body never finishes, within the request bound, and stores nothing', async () => {
    const port = await listen(liveApp());
    const { ms, text } = await rawClient(port, (socket) => {
      socket.write('POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"object":"page",');
      trickle(socket, ' ', 100);
    });
    expect(ms).toBeGreaterThanOrEqual(SHORT.requestMs - 100);
    expect(ms).toBeLessThan(SHORT.requestMs + 4000);
    expect(text).not.toContain('EVENT_RECEIVED');
  });

  it('closes an idle kept-alive connection after the keep-alive bound', async () => {
    const port = await listen(liveApp());
    let answeredAt = 0;
    const { ms, text } = await rawClient(port, (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      socket.once('data', () => (answeredAt = performance.now()));
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/keep-alive/i);
    expect(answeredAt).toBeGreaterThan(0);
    expect(ms).toBeLessThan(SHORT.keepAliveMs + 4000);
  });

  it('still serves ordinary requests, the webhook included', async () => {
    const port = await listen(liveApp());
    expect((await request(`http://127.0.0.1:${port}`).get('/healthz')).status).toBe(200);
  });
});

/** Reads an event stream for `forMs`, then checks it is still open by waiting for `expected`. */
function holdStream(url: string, headers: Record<string, string>, forMs: number, poke: () => PromiseLike<unknown>, expected: RegExp) {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    let poked = false;
    const req = httpGet(url, { agent: false, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (poked && expected.test(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve(text);
        }
      });
      res.on('close', () => reject(new Error(`the stream closed after ${text.length} characters`)));
    });
    req.on('error', reject);
    setTimeout(() => {
      poked = true;
      // supertest sends on then(): adopting it as a promise sends it.
      Promise.resolve(poke()).catch(reject);
    }, forMs);
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no ${String(expected)} after ${forMs} ms: ${text.slice(-500)}`));
    }, forMs + 8000);
  });
}

describe('event streams outlive the idle bound', () => {
  it("keeps the chat page's stream open, with heartbeats, for several idle bounds", async () => {
    // The port must be known before the config (the emulator posts to its own webhook).
    let app: App = (_req, res) => void res.end();
    const port = await listen((req, res) => app(req, res));
    const config = loadConfig({ PORT: String(port), DATABASE_URL: 'memory:' });
    const streams = createStreamHub({ secrets: secretsOf(config), heartbeatMs: 300 });
    app = createApp({ config, log: silent, bot: createBot(config, { log: silent }), streams });
    const base = `http://127.0.0.1:${port}`;
    const user = (await request(base).post('/emulator/users').send({ channel: 'messenger', name: 'Mia', locale: 'en_US' })).body as { id: string };
    const text = await holdStream(`${base}/emulator/users/${user.id}/stream`, {}, 3 * SHORT.idleMs, () => request(base).post(`/emulator/users/${user.id}/actions`).send({ type: 'text', text: 'still there?' }), /still there\?/);
    expect(text).toContain(': keep-alive');
    streams.closeAll();
  });

  it("keeps the dashboard's stream open for several idle bounds", async () => {
    const DASHBOARD_TOKEN = 'dash-timeouts-0123456789abcdef';
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', DASHBOARD_TOKEN });
    const streams = createStreamHub({ secrets: secretsOf(config), heartbeatMs: 300 });
    const port = await listen(createApp({ config, log: silent, bot: createBot(config, { log: silent }), streams }));
    const base = `http://127.0.0.1:${port}`;
    // A forged notification is refused and shown: it proves the stream still delivers.
    const forged = () => request(base).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', 'sha256=00').send('{}');
    const text = await holdStream(`${base}/dashboard/api/stream`, { Authorization: `Bearer ${DASHBOARD_TOKEN}` }, 3 * SHORT.idleMs, forged, /"status":403/);
    expect(text).toContain(': keep-alive');
    streams.closeAll();
  });
});
