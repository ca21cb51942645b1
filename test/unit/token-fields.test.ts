// What a recorded call keeps: which call it was, never the token it carried, wherever the token
// travelled (query, header, JSON or form body, a query string inside the path).
import { describe, expect, it } from '@jest/globals';
import { REDACTED } from '../../services/redact.ts';
import { bodyWithoutTokens, isTokenField, pathWithoutTokens, withoutTokens } from '../../services/token-fields.ts';

const T = 'EAAtokenFieldsToken0123456789';
const ALL = { access_token: T, input_token: T, appsecret_proof: 'f'.repeat(64), fb_exchange_token: T, client_secret: T };

describe('token fields', () => {
  it('knows the credential-carrying names, whatever their case', () => {
    for (const name of ['access_token', 'INPUT_TOKEN', 'appsecret_proof', 'fb_exchange_token', 'client_secret', 'Authorization', 'Cookie', 'X-Hub-Signature-256']) expect(isTokenField(name)).toBe(true);
    for (const name of ['fields', 'recipient', 'token_type', 'message']) expect(isTokenField(name)).toBe(false);
  });

  it('drops them from a query, headers and a nested JSON body, and masks a verify token', () => {
    expect(withoutTokens({ ...ALL, fields: 'id,name' })).toEqual({ fields: 'id,name' });
    expect(withoutTokens({ Authorization: `Bearer ${T}`, 'content-type': 'application/json' })).toEqual({ 'content-type': 'application/json' });
    expect(withoutTokens({ recipient: { id: '1' }, batch: [{ Access_Token: T, relative_url: 'me' }], verify_token: 'v' })).toEqual({ recipient: { id: '1' }, batch: [{ relative_url: 'me' }], verify_token: REDACTED });
  });

  it('drops them from JSON text and from form-encoded text, by content type or by shape', () => {
    expect(bodyWithoutTokens(JSON.stringify({ ...ALL, object: 'page' }))).toEqual({ object: 'page' });
    const form = new URLSearchParams({ ...ALL, object: 'page', fields: 'messages,messaging_postbacks' }).toString();
    expect(bodyWithoutTokens(form, 'application/x-www-form-urlencoded;charset=utf-8')).toBe('object=page&fields=messages%2Cmessaging_postbacks');
    expect(bodyWithoutTokens(form)).toBe('object=page&fields=messages%2Cmessaging_postbacks');
    expect(bodyWithoutTokens(new URLSearchParams({ access_token: T, a: '1' }))).toBe('a=1');
    expect(bodyWithoutTokens('plain words, not a form')).toBe('plain words, not a form');
    expect(bodyWithoutTokens(undefined)).toBeUndefined();
  });

  it('moves a query string out of a path, without its token fields', () => {
    expect(pathWithoutTokens(`debug_token?input_token=${T}&access_token=${T}&fields=scopes`)).toEqual({ path: 'debug_token', query: { fields: 'scopes' } });
    expect(pathWithoutTokens('me/messages')).toEqual({ path: 'me/messages', query: {} });
  });
});
