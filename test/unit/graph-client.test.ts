import { describe, it, expect } from '@jest/globals';
import { createHmac } from 'node:crypto';
import nock from 'nock';
import { GraphApiError } from '../../services/errors.ts';
import { appSecretProof, createGraphClient } from '../../services/graph/client.ts';

const BASE = 'https://graph.unit.test';
const TOKEN = 'EAAunitPageToken0123456789';
const SECRET = 'unit-app-secret-0123456789';
const PROOF = createHmac('sha256', SECRET).update(TOKEN).digest('hex');

const client = (timeoutMs?: number) => createGraphClient({ baseUrl: BASE, version: 'v24.0', accessToken: TOKEN, appSecret: SECRET, ...(timeoutMs ? { timeoutMs } : {}) });

/** Runs a call that must fail and returns its GraphApiError. */
async function failure(call: Promise<unknown>): Promise<GraphApiError> {
  const err: unknown = await call.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  if (!(err instanceof GraphApiError)) throw err;
  return err;
}

function expectNoSecrets(err: GraphApiError): void {
  for (const text of [err.message, String(err), JSON.stringify(err), JSON.stringify(err.toLog())]) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET);
  }
}

const sendError = { error: { message: '(#100) The parameter recipient is required', type: 'OAuthException', code: 100, error_subcode: 2018001, fbtrace_id: 'AbC123' } };

describe('createGraphClient requests', () => {
  it('computes appsecret_proof as HMAC-SHA256(token) keyed by the app secret', () => {
    expect(appSecretProof(TOKEN, SECRET)).toBe(PROOF);
  });

  it('GETs below the version with a bearer token and appsecret_proof, never access_token', async () => {
    const urls: string[] = [];
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .get('/v24.0/1234')
      .query({ fields: 'first_name,locale', appsecret_proof: PROOF })
      .reply(function (uri) {
        urls.push(uri);
        return [200, { id: '1234', first_name: 'Ana' }];
      });
    const profile = await client().request<{ first_name: string }>({ method: 'GET', path: '1234', params: { fields: 'first_name,locale' } });
    expect(profile.first_name).toBe('Ana');
    expect(scope.isDone()).toBe(true);
    expect(urls[0]).not.toContain('access_token');
    expect(urls[0]).not.toContain(TOKEN);
  });

  it('POSTs the JSON body to me/messages', async () => {
    const body = { recipient: { id: '42' }, messaging_type: 'RESPONSE', message: { text: 'hi' } };
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .post('/v24.0/me/messages', body)
      .query((q) => q.appsecret_proof === PROOF && !('access_token' in q))
      .reply(200, { recipient_id: '42', message_id: 'm_1' });
    await expect(client().request({ method: 'POST', path: 'me/messages', data: body })).resolves.toEqual({ recipient_id: '42', message_id: 'm_1' });
    expect(scope.isDone()).toBe(true);
  });

  it('uses a per-request accessToken for the header and the proof', async () => {
    const other = 'APPTOKEN-other-0123456789';
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${other}` } })
      .post('/v24.0/111/subscriptions')
      .query({ appsecret_proof: appSecretProof(other, SECRET) })
      .reply(200, { success: true });
    await client().request({ method: 'POST', path: '111/subscriptions', accessToken: other });
    expect(scope.isDone()).toBe(true);
  });
  it('gives each token its own proof when a client alternates between accounts', async () => {
    const other = 'EAAotherPageToken0123456789';
    const scope = nock(BASE)
      .post('/v24.0/me/messages').query({ appsecret_proof: PROOF }).reply(200, {})
      .post('/v24.0/me/messages').query({ appsecret_proof: appSecretProof(other, SECRET) }).reply(200, {})
      .post('/v24.0/me/messages').query({ appsecret_proof: PROOF }).reply(200, {});
    const c = client();
    await c.request({ method: 'POST', path: 'me/messages', data: {} });
    await c.request({ method: 'POST', path: 'me/messages', data: {}, accessToken: other });
    await c.request({ method: 'POST', path: 'me/messages', data: {} });
    expect(scope.isDone()).toBe(true);
  });
});

describe('createGraphClient failures', () => {
  it('turns a Graph error body into a GraphApiError with its fields', async () => {
    nock(BASE).post('/v24.0/me/messages').query(true).reply(400, sendError);
    const err = await failure(client().request({ method: 'POST', path: 'me/messages', data: {} }));
    expect(err.toLog()).toEqual({
      status: 400,
      code: 100,
      error_subcode: 2018001,
      type: 'OAuthException',
      fbtrace_id: 'AbC123',
      endpoint: 'POST /v24.0/me/messages',
      graphMessage: '(#100) The parameter recipient is required',
    });
    expect(err.message).toContain('POST /v24.0/me/messages');
    expect(err.message).not.toContain('?');
    expectNoSecrets(err);
  });

  it('gives a non-JSON 502 a fixed message', async () => {
    nock(BASE).post('/v24.0/me/messages').query(true).reply(502, `<html>Bad Gateway ${TOKEN}</html>`);
    const err = await failure(client().request({ method: 'POST', path: 'me/messages', data: {} }));
    expect(err.status).toBe(502);
    expect(err.code).toBeUndefined();
    expect(err.graphMessage).toBe('HTTP 502 without a Graph error body');
    expectNoSecrets(err);
  });

  it('does not follow a redirect (Graph never sends one for an API call): the 3xx is the error, and the token goes nowhere else', async () => {
    nock(BASE).post('/v24.0/me/messages').query(true).reply(302, '', { Location: 'https://elsewhere.unit.test/collect' });
    const elsewhere = nock('https://elsewhere.unit.test').post('/collect').query(true).reply(200, {}).get('/collect').query(true).reply(200, {});
    const err = await failure(client().request({ method: 'POST', path: 'me/messages', data: {} }));
    expect(err.status).toBe(302);
    expect(err.graphMessage).toBe('HTTP 302 without a Graph error body');
    expect(elsewhere.isDone()).toBe(false);
    nock.removeInterceptor({ hostname: 'elsewhere.unit.test', proto: 'https', method: 'POST', path: '/collect' });
    nock.removeInterceptor({ hostname: 'elsewhere.unit.test', proto: 'https', method: 'GET', path: '/collect' });
    expectNoSecrets(err);
  });

  it('reports a network error without a status or the request config', async () => {
    // nock 14 needs an Error instance here: a plain object leaves the request hanging (nock/nock#2829).
    nock(BASE).post('/v24.0/me/messages').query(true).replyWithError(Object.assign(new Error(`socket hang up ${TOKEN}`), { code: 'ECONNRESET' }));
    const err = await failure(client().request({ method: 'POST', path: 'me/messages', data: {} }));
    expect(err.status).toBeUndefined();
    expect(err.type).toBe('ECONNRESET');
    expect(err.graphMessage).toBe('network error ECONNRESET');
    expectNoSecrets(err);
  });

  it('reports a timeout without a status', async () => {
    nock(BASE).get('/v24.0/me').query(true).delay(500).reply(200, {});
    const err = await failure(client(50).request({ method: 'GET', path: 'me' }));
    expect(err.status).toBeUndefined();
    expect(err.graphMessage).toBe('request timed out');
    expect(err.endpoint).toBe('GET /v24.0/me');
    expectNoSecrets(err);
  });

  // Regression: Meta echoes a malformed token in code-190 messages; it must not reach the error.
  it('keeps a token that Graph echoes in its message out of the error', async () => {
    const echoed = { error: { message: `Malformed access token ${TOKEN}`, type: 'OAuthException', code: 190, fbtrace_id: 'Xy' } };
    nock(BASE).post('/v24.0/me/messages').query(true).reply(400, echoed);
    const err = await failure(client().request({ method: 'POST', path: 'me/messages', data: {} }));
    expect(err.code).toBe(190);
    expectNoSecrets(err);
  });
});
