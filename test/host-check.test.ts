// The emulator is for this machine only: it listens on loopback unless HOST says otherwise, and
// in emulator mode every route (the webhook included) refuses a request whose Host is not a
// loopback name or APP_URL's host, so a web page cannot reach it through DNS rebinding.
// Live mode keeps listening on all interfaces and answers whatever Host a tunnel forwards.
import { createServer, request as httpRequest } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp, start, type App, type RunningApp } from '../app.ts';
import { createBot } from '../services/bot.ts';
import { loadConfig } from '../services/config.ts';
import { ConfigError } from '../services/errors.ts';
import { createLogger } from '../services/logger.ts';
import { signatureFor } from '../services/signature.ts';
import { TEST_ENV } from './support/harness.ts';

const silent = createLogger({ level: 'silent' });

function emulatorApp(env: Record<string, string> = {}): { app: App; secret: string; verify: string } {
  const config = loadConfig({ PORT: '3997', DATABASE_URL: 'memory:', ...env });
  return { app: createApp({ config, log: silent, bot: createBot(config, { log: silent }) }), secret: config.APP_SECRET, verify: config.VERIFY_TOKEN };
}

const REFUSED_HOSTS = ['evil.example', 'evil.example:3997', 'localhost.evil.example', '127.0.0.1.nip.io', 'attacker.test:80', '0.0.0.0:3997', 'not a host', '[::2]:3997'];
const LOOPBACK_HOSTS = ['localhost', 'localhost:3997', 'LOCALHOST:3997', 'localhost.:3997', '127.0.0.1:3997', '127.0.0.1', '[::1]:3997', 'tab1.localhost:3997'];

describe('Host check in emulator mode', () => {
  it.each(REFUSED_HOSTS)('refuses Host %s on every route with 421 and a fixed plain text', async (host) => {
    const { app, secret, verify } = emulatorApp();
    const body = '{"object":"page","entry":[]}';
    const answers = [
      await request(app).get('/').set('Host', host),
      await request(app).get('/emulator/info').set('Host', host),
      await request(app).post('/emulator/users').set('Host', host).send({ channel: 'messenger', name: 'Mia' }),
      await request(app).get('/emulator/graph/v24.0/me').set('Host', host),
      await request(app).get('/healthz').set('Host', host),
      await request(app).get('/webhook').query({ 'hub.mode': 'subscribe', 'hub.verify_token': verify, 'hub.challenge': 'c' }).set('Host', host),
      await request(app).post('/webhook').set('Host', host).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(secret, body)).send(body),
    ];
    for (const res of answers) {
      expect([res.status, res.headers['content-type'], res.text]).toEqual([421, 'text/plain; charset=utf-8', 'Misdirected request: the emulator answers only for localhost or APP_URL']);
    }
  });

  it.each(LOOPBACK_HOSTS)('serves Host %s', async (host) => {
    const { app } = emulatorApp();
    const res = await request(app).get('/emulator/info').set('Host', host);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'emulator' });
  });

  it("serves APP_URL's host (e.g. a LAN name the developer chose), whatever its port", async () => {
    const { app } = emulatorApp({ APP_URL: 'http://devbox.lan:8080' });
    for (const host of ['devbox.lan:8080', 'DEVBOX.LAN', 'devbox.lan:3997']) expect((await request(app).get('/emulator/info').set('Host', host)).status).toBe(200);
    expect((await request(app).get('/emulator/info').set('Host', 'other.lan:8080')).status).toBe(421);
  });

  it('refuses a request without a Host header (HTTP/1.0)', async () => {
    const { app } = emulatorApp();
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new Socket();
        let text = '';
        socket.connect(port, '127.0.0.1', () => socket.write('GET /emulator/info HTTP/1.0\r\n\r\n'));
        socket.on('data', (chunk) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(Number(/^HTTP\/1\.\d (\d{3})/.exec(text)?.[1] ?? 0)));
        socket.on('error', reject);
      });
      expect(status).toBe(421);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('lets live mode answer any Host: Meta comes through a tunnel with its own host name', async () => {
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
    const app = createApp({ config, log: silent, bot: createBot(config, { log: silent }) });
    expect((await request(app).get('/healthz').set('Host', 'abc123.ngrok-free.app')).status).toBe(200);
    const verified = await request(app).get('/webhook').query({ 'hub.mode': 'subscribe', 'hub.verify_token': config.VERIFY_TOKEN, 'hub.challenge': 'c' }).set('Host', 'abc123.ngrok-free.app');
    expect([verified.status, verified.text]).toEqual([200, 'c']);
  });
});

describe('HOST: where the server listens', () => {
  const runningApps: RunningApp[] = [];
  afterEach(async () => {
    await Promise.all(runningApps.splice(0).map((r) => r.close(1000)));
  });
  const startWith = async (env: Record<string, string>) => {
    const running = await start(loadConfig({ PORT: '0', DATABASE_URL: 'memory:', ...env }), silent);
    runningApps.push(running);
    return (running.server.address() as AddressInfo).address;
  };

  it('is loopback by default in emulator mode, and what HOST says otherwise', async () => {
    expect(await startWith({})).toBe('127.0.0.1');
    expect(await startWith({ HOST: '0.0.0.0' })).toBe('0.0.0.0');
  });

  it('is every interface by default in live mode, and what HOST says otherwise', async () => {
    expect(['::', '0.0.0.0']).toContain(await startWith({ ...TEST_ENV }));
    expect(await startWith({ ...TEST_ENV, HOST: '127.0.0.1' })).toBe('127.0.0.1');
  });

  it('is validated: an IP address or a host name, with an error naming HOST and the fix', () => {
    expect(loadConfig({ HOST: '[::1]' }).HOST).toBe('::1');
    expect(loadConfig({ HOST: 'localhost' }).HOST).toBe('localhost');
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ ...TEST_ENV }).HOST).toBeUndefined();
    for (const bad of ['http://localhost', 'local host', '127.0.0.1:3000', '-bad-', 'a..b']) {
      expect(() => loadConfig({ HOST: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ HOST: bad })).toThrow(/HOST.*127\.0\.0\.1/);
    }
  });

  it('keeps the loopback emulator reachable from this machine', async () => {
    const running = await start(loadConfig({ PORT: '0', DATABASE_URL: 'memory:' }), silent);
    runningApps.push(running);
    const { port } = running.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/emulator/info', headers: { Host: `localhost:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
  });
});
