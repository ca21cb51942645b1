// The Graph client's observer (what the live dashboard sees of each call) learns which call was
// made, never the token: no header, and no token-carrying field from the params, a query string
// in the path, or a JSON or form body. It also never sees the GraphApiError's echoed token.
import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { GraphApiError } from '../../services/errors.ts';
import { createGraphClient, createGraphHttp, type ObservedGraphCall } from '../../services/graph/client.ts';

const BASE = 'https://graph.observer.test';
const TOKEN = 'EAAobserverPageToken0123456789';
const SECRET = 'observer-app-secret-0123456789';
const APP_TOKEN = `222222222222222|${SECRET}`;

function observedClient() {
  const calls: ObservedGraphCall[] = [];
  const http = createGraphHttp({ baseUrl: BASE, version: 'v24.0', observe: (call) => calls.push(call) });
  return { calls, client: createGraphClient({ baseUrl: BASE, version: 'v24.0', accessToken: TOKEN, appSecret: SECRET, http }) };
}

describe('the Graph observer', () => {
  it('reports debug_token without input_token, and the rest of each call without any token field', async () => {
    nock(BASE).persist().get(/.*/).reply(200, { data: { is_valid: true } }).post(/.*/).reply(200, { success: true });
    const { calls, client } = observedClient();
    await client.request({ method: 'GET', path: 'debug_token', params: { input_token: TOKEN, fields: 'scopes' }, accessToken: APP_TOKEN });
    await client.request({ method: 'GET', path: `oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token=${TOKEN}&client_secret=${SECRET}` });
    await client.request({ method: 'POST', path: 'me/messages', data: { recipient: { id: '1' }, access_token: TOKEN, message: { text: 'hi' } } });
    await client.request({ method: 'POST', path: '222222222222222/subscriptions', data: new URLSearchParams({ object: 'page', access_token: APP_TOKEN, verify_token: 'v-0123456789' }) });

    expect(calls.map((c) => [c.method, c.path, c.query])).toEqual([
      ['GET', 'debug_token', { fields: 'scopes' }],
      ['GET', 'oauth/access_token', { grant_type: 'fb_exchange_token' }],
      ['POST', 'me/messages', {}],
      ['POST', '222222222222222/subscriptions', {}],
    ]);
    expect(calls[2]?.body).toEqual({ recipient: { id: '1' }, message: { text: 'hi' } });
    expect(calls[3]?.body).toBe('object=page&verify_token=%5BREDACTED%5D');
    const text = JSON.stringify(calls);
    for (const leak of [TOKEN, SECRET, 'Bearer', 'v-0123456789', 'appsecret_proof']) expect(text).not.toContain(leak);
    for (const name of ['access_token', 'input_token', 'client_secret', 'fb_exchange_token']) expect(text).not.toMatch(new RegExp(`"${name}":|${name}=`));
  });

  it('reports a failed call with the response as Graph sent it (the dashboard scrubs it), the error holding no token', async () => {
    const echoed = { error: { message: `Invalid OAuth access token - Cannot parse access token: ${TOKEN}`, type: 'OAuthException', code: 190, fbtrace_id: 'Obs1' } };
    nock(BASE).get('/v24.0/me').query(true).reply(400, echoed);
    const { calls, client } = observedClient();
    const err = await client.request({ method: 'GET', path: 'me' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphApiError);
    expect(JSON.stringify((err as GraphApiError).toLog())).not.toContain(TOKEN);
    expect(calls).toEqual([expect.objectContaining({ status: 400, response: echoed })]);
  });
});
