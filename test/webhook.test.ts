import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { signatureFor } from '../services/signature.ts';
import { PAGE_ID, TEST_ENV, createHarness, fixture, postSigned, textFrom } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';

const VERIFY = TEST_ENV.VERIFY_TOKEN as string;
const SECRET = TEST_ENV.APP_SECRET as string;

describe('GET /webhook (verification)', () => {
  it('answers Meta\'s documented curl check with exactly the challenge as text/plain and logs WEBHOOK_VERIFIED', async () => {
    const h = createHarness();
    const res = await request(h.app).get(`/webhook?hub.verify_token=${VERIFY}&hub.challenge=CHALLENGE_ACCEPTED&hub.mode=subscribe`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('CHALLENGE_ACCEPTED');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(h.logs.some((l) => l.msg === 'WEBHOOK_VERIFIED')).toBe(true);
  });

  it('never reflects the challenge as HTML', async () => {
    const h = createHarness();
    const challenge = '<script>alert(1)</script>';
    const res = await request(h.app).get('/webhook').query({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': challenge });
    expect(res.status).toBe(200);
    expect(res.text).toBe(challenge);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    ['a wrong token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': 'c' }, 403],
    ['a token that is a prefix', { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY.slice(0, -1), 'hub.challenge': 'c' }, 403],
    ['a wrong mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY, 'hub.challenge': 'c' }, 403],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY }, 400],
    ['no token', { 'hub.mode': 'subscribe', 'hub.challenge': 'c' }, 400],
    ['no parameters', {}, 400],
  ])('refuses %s', async (_name, query, status) => {
    const h = createHarness();
    const res = await request(h.app).get('/webhook').query(query);
    expect(res.status).toBe(status);
    expect(res.text).not.toContain('c\n');
    expect(h.logs.some((l) => l.msg === 'WEBHOOK_VERIFIED')).toBe(false);
  });

  it('refuses repeated parameters instead of guessing', async () => {
    const h = createHarness();
    const res = await request(h.app).get(`/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=a&hub.challenge=b`);
    expect(res.status).toBe(400);
  });
});

describe('POST /webhook (signature)', () => {
  const body = textFrom('24000000000000001', 'hello');

  it('accepts a valid X-Hub-Signature-256 with 200 EVENT_RECEIVED and handles the event', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { '24000000000000001': { first_name: 'Ana', locale: 'en_US' } } });
    const res = await postSigned(h.app, body);
    expect(res.status).toBe(200);
    expect(res.text).toBe('EVENT_RECEIVED');
    await h.bot.idle();
    expect(graph.sends().length).toBeGreaterThan(0);
  });

  it.each([
    ['no signature', undefined],
    ['an empty signature', ''],
    ['a signature with the wrong secret', signatureFor('another-secret', JSON.stringify(body))],
    ['a malformed signature', 'sha256=xyz'],
    ['a truncated signature', signatureFor(SECRET, JSON.stringify(body)).slice(0, 40)],
    ['the hex without the sha256= prefix', signatureFor(SECRET, JSON.stringify(body)).slice(7)],
  ])('refuses %s with 403 and processes nothing', async (_name, header) => {
    const h = createHarness();
    const graph = fakeGraph();
    const req = request(h.app).post('/webhook').set('Content-Type', 'application/json');
    if (header !== undefined) req.set('X-Hub-Signature-256', header);
    const res = await req.send(JSON.stringify(body));
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('EVENT_RECEIVED');
    await h.bot.idle();
    expect(graph.calls).toHaveLength(0);
    expect((await h.bot.store.backlog()).inbox).toBe(0);
  });

  it('refuses a legacy SHA-1 X-Hub-Signature alone', async () => {
    const h = createHarness();
    const raw = JSON.stringify(body);
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(raw).digest('hex')}`;
    const res = await request(h.app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature', sha1).send(raw);
    expect(res.status).toBe(403);
  });

  it('checks the signature for any content type: a forged form post is refused', async () => {
    const h = createHarness();
    const graph = fakeGraph();
    const res = await request(h.app).post('/webhook').type('form').send({ object: 'page', entry: '[]' });
    expect(res.status).toBe(403);
    await h.bot.idle();
    expect(graph.calls).toHaveLength(0);
  });

  it('refuses a body changed after signing (one byte)', async () => {
    const h = createHarness();
    const raw = JSON.stringify(body);
    const res = await request(h.app)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', signatureFor(SECRET, raw))
      .send(raw.replace('hello', 'hellp'));
    expect(res.status).toBe(403);
  });

  it('verifies over the exact escaped-unicode bytes Meta sends (\\u00e4\\u00f6\\u00e5 and raw emoji)', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { '24000000000000001': { first_name: 'Åsa' } } });
    // Meta escapes non-ASCII; re-serialising the parsed body would produce different bytes.
    const escaped = `{"object":"page","entry":[{"id":"${PAGE_ID}","time":1,"messaging":[{"sender":{"id":"24000000000000001"},"recipient":{"id":"${PAGE_ID}"},"timestamp":${Date.now()},"message":{"mid":"m_u1","text":"\\u00e4\\u00f6\\u00e5"}}]}]}`;
    const ok = await request(h.app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(SECRET, escaped)).send(escaped);
    expect(ok.status).toBe(200);
    const unescaped = escaped.replace('\\u00e4\\u00f6\\u00e5', 'äöå');
    const bad = await request(h.app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(SECRET, escaped)).send(unescaped);
    expect(bad.status).toBe(403);
    const emoji = escaped.replace('\\u00e4\\u00f6\\u00e5', 'tea 🍵 please');
    const raw = await request(h.app).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(SECRET, Buffer.from(emoji, 'utf8'))).send(emoji);
    expect(raw.status).toBe(200);
    await h.bot.idle();
    expect(graph.sends().length).toBeGreaterThan(0);
  });
});

describe('POST /webhook (bodies)', () => {
  it.each(['page-feed', 'permissions-changed-fields', 'user-changed-fields', 'instagram-comments', 'messenger-policy-enforcement'])(
    'acknowledges %s with 200 even though the bot does not reply',
    async (name) => {
      const h = createHarness();
      const graph = fakeGraph();
      const res = await postSigned(h.app, fixture(name));
      expect(res.status).toBe(200);
      expect(res.text).toBe('EVENT_RECEIVED');
      await h.bot.idle();
      expect(graph.sends()).toEqual([]);
    },
  );

  it('answers Meta\'s docs curl test body ("message": "TEST_MESSAGE") with a logged 200, no crash', async () => {
    const h = createHarness();
    const graph = fakeGraph();
    const res = await postSigned(h.app, fixture('docs-curl-test'));
    expect(res.status).toBe(200);
    await h.bot.idle();
    expect(graph.calls).toEqual([]);
    expect(h.logs.some((l) => l.msg === 'unrecognised event acknowledged')).toBe(true);
  });

  it.each([
    ['invalid JSON', '{"object": "page", "entry": ['],
    ['a JSON string', '"hello"'],
    ['null', 'null'],
    ['an array', '[]'],
    ['an object without entry', '{"object":"page"}'],
    ['entry that is not an array', '{"object":"page","entry":{}}'],
    ['an empty body', ''],
  ])('answers a signed body that is %s with 400 and a fixed text', async (_name, raw) => {
    const h = createHarness();
    const res = await postSigned(h.app, raw);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^Bad request/);
    expect(res.text).not.toMatch(/at .*\.ts|SyntaxError|Unexpected token/);
  });

  it('accepts a 1000-event batch quickly and handles every event', async () => {
    const h = createHarness();
    fakeGraph({ profiles: {} });
    const messaging = Array.from({ length: 1000 }, (_, i) => ({
      sender: { id: `2400000000000${String(i).padStart(4, '0')}` },
      recipient: { id: PAGE_ID },
      timestamp: 1763892000000 + i,
      delivery: { mids: [`m_${i}`], watermark: 1763892000000 + i },
    }));
    const started = Date.now();
    const res = await postSigned(h.app, { object: 'page', entry: [{ id: PAGE_ID, time: 1763892000000, messaging }] });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    await h.bot.idle();
    expect((await h.bot.store.backlog()).inbox).toBe(0);
  });

  it('answers an oversized body with 413 and a fixed text', async () => {
    const h = createHarness();
    const res = await postSigned(h.app, 'x'.repeat(11 * 1024 * 1024));
    expect(res.status).toBe(413);
    expect(res.text).toBe('Payload too large');
  });

  it('answers a chunked body that grows past the limit with 413, without storing anything', async () => {
    const h = createHarness();
    const server = createServer(h.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // No Content-Length: the limit has to be enforced while reading.
      const answer = await new Promise<{ status: number | undefined; text: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhook', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.on('error', reject);
        const chunk = 'x'.repeat(1024 * 1024);
        for (let i = 0; i < 11; i++) req.write(chunk);
        req.end();
      });
      expect(answer).toEqual({ status: 413, text: 'Payload too large' });
      expect(await h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('survives a client that goes away mid-body: nothing stored, nothing answered, the next request served', async () => {
    const h = createHarness();
    const server = createServer(h.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"object":"pa');
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await h.bot.store.backlog()).toMatchObject({ received: 0, inbox: 0 });
      const res = await fetch(`http://127.0.0.1:${port}/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=42`);
      expect(await res.text()).toBe('42');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses a compressed body with 415: Meta never compresses, and the signature covers the bytes as sent', async () => {
    const h = createHarness();
    const body = JSON.stringify(textFrom('24000000000000001', 'hi'));
    const res = await request(h.app)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .set('X-Hub-Signature-256', signatureFor(SECRET, body))
      .send(body);
    expect(res.status).toBe(415);
    expect(res.text).toBe('Unsupported content encoding');
  });

  it('serves /webhook/ and /WEBHOOK like express routing did, and passes other methods on (404)', async () => {
    const h = createHarness();
    fakeGraph({ profiles: { '24000000000000001': { first_name: 'Ana' } } });
    expect((await request(h.app).get('/WEBHOOK/').query({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '7' })).text).toBe('7');
    expect((await request(h.app).put('/webhook').send('{}')).status).toBe(404);
  });

  it('answers unknown paths with a plain 404', async () => {
    const h = createHarness();
    const res = await request(h.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.text).toBe('Not found');
  });

  it('never writes the token or the app secret to a log line', async () => {
    const h = createHarness();
    fakeGraph({ failSend: () => ({ status: 400, body: { error: { message: `Invalid token ${TEST_ENV.PAGE_ACCESS_TOKEN}`, code: 190, fbtrace_id: 'x' } } }) });
    await postSigned(h.app, textFrom('24000000000000009', 'hello'));
    await h.bot.idle();
    expect(h.logText()).not.toContain(TEST_ENV.PAGE_ACCESS_TOKEN);
    expect(h.logText()).not.toContain(SECRET);
    expect(h.logText()).toContain('[REDACTED]');
  });
});
