// The event-stream hub that the chat page and the dashboard share: frames leave scrubbed of the
// configured secrets whatever was put in them, and a client that stops reading is dropped once
// too much waits for it (it reconnects and gets the history), so memory stays bounded.
import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { createStreamHub, type EventStream, type StreamHub } from '../../services/emulator/sse.ts';

const SECRET = 'hub-secret/"0123456789';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(hub: StreamHub): Promise<{ url: string; opened: Promise<EventStream> }> {
  let opened!: (stream: EventStream) => void;
  const promise = new Promise<EventStream>((resolve) => (opened = resolve));
  const app = express();
  app.get('/stream', (req, res) => opened(hub.open(req, res)));
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`, opened: promise };
}

function connect(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => httpGet(url, { agent: false }, resolve).on('error', reject));
}

describe('the stream hub', () => {
  it('scrubs every frame of the configured secrets, in keys, values and escaped forms', async () => {
    const hub = createStreamHub({ secrets: [SECRET] });
    const { url, opened } = await serve(hub);
    const res = await connect(url);
    const stream = await opened;
    let text = '';
    res.setEncoding('utf8');
    const done = new Promise<void>((resolve) => res.on('data', (chunk: string) => ((text += chunk), text.includes('"last"') && resolve())));
    stream.send('inspector', { response: { error: { message: `bad token ${SECRET}` } }, [SECRET]: [JSON.stringify({ t: SECRET })], url: `?t=${encodeURIComponent(SECRET)}`, last: true });
    await done;
    expect(text).toContain('event: inspector\ndata: {"response":{"error":{"message":"bad token [REDACTED]"}},"[REDACTED]":["{\\"t\\":\\"[REDACTED]\\"}"],"url":"?t=[REDACTED]","last":true}');
    expect(text).not.toContain('hub-secret');
    res.destroy();
  });

  it('drops a client that stops reading once more than maxBufferedBytes wait for it', async () => {
    const hub = createStreamHub({ secrets: [SECRET], maxBufferedBytes: 64 * 1024 });
    const { url, opened } = await serve(hub);
    // A raw socket that reads nothing (nock, active in tests, reads http.get responses eagerly).
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1', () => socket.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    socket.pause();
    socket.on('error', () => undefined);
    const stream = await opened;
    let closed = false;
    stream.onClose(() => (closed = true));
    expect(hub.size).toBe(1);
    const big = 'x'.repeat(100 * 1024);
    // Loopback buffers hold a few MB; past them the frames queue in the process, up to the bound.
    for (let i = 0; i < 400 && !closed; i += 1) {
      stream.send('chat', { big });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(closed).toBe(true);
    expect(hub.size).toBe(0);
    socket.destroy();
  });
});
