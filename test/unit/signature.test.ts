import { describe, it, expect } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { SignatureError } from '../../services/errors.ts';
import { signatureFor, toMetaJson, verifySignature } from '../../services/signature.ts';

const appSecret = 'unit-app-secret';
const rawBody = Buffer.from('{"object":"page","entry":[]}');
const good = `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;

function reasonFor(header: string | undefined, body: Buffer = rawBody): string | undefined {
  try {
    verifySignature({ appSecret, rawBody: body, header });
    return undefined;
  } catch (err) {
    if (err instanceof SignatureError) return err.reason;
    throw err;
  }
}

describe('verifySignature', () => {
  it('accepts the HMAC-SHA256 of the raw body, in either hex case', () => {
    expect(reasonFor(good)).toBeUndefined();
    expect(reasonFor(`sha256=${good.slice(7).toUpperCase()}`)).toBeUndefined();
    expect(signatureFor(appSecret, rawBody)).toBe(good);
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['sha1=0123456789abcdef0123456789abcdef01234567', 'malformed'],
    [good.slice(7), 'malformed'],
    [`${good}00`, 'malformed'],
    [`sha256=${'z'.repeat(64)}`, 'malformed'],
    [`sha256=${'0'.repeat(64)}`, 'mismatch'],
  ])('rejects %j as %s', (header, reason) => {
    expect(reasonFor(header)).toBe(reason);
  });

  it('rejects a valid signature of other bytes or another secret', () => {
    expect(reasonFor(good, Buffer.from('{"object":"page","entry":[ ]}'))).toBe('mismatch');
    expect(reasonFor(signatureFor('other-secret', rawBody))).toBe('mismatch');
  });
});

describe('toMetaJson', () => {
  it('escapes non-ASCII as lowercase 4-digit \\u escapes', () => {
    expect(toMetaJson({ text: 'Käse é' })).toBe('{"text":"K\\u00e4se \\u00e9"}');
    expect(toMetaJson('請')).toBe('"\\u8acb"');
  });

  it('writes an emoji as its two surrogate escapes', () => {
    expect(toMetaJson('👍')).toBe('"\\ud83d\\udc4d"');
  });

  it('leaves ASCII alone and round-trips through JSON.parse', () => {
    const value = { text: 'hi "there" ä 😀 請', n: 1, nested: [{ a: 'ß' }] };
    const json = toMetaJson(value);
    expect(json).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(json)).toEqual(value);
    expect(toMetaJson({ a: 'plain' })).toBe(JSON.stringify({ a: 'plain' }));
  });

  it('produces other bytes than plain JSON, so the signatures differ', () => {
    const value = { text: 'Grüße 👋' };
    const escaped = toMetaJson(value);
    const plain = JSON.stringify(value);
    expect(signatureFor(appSecret, escaped)).not.toBe(signatureFor(appSecret, plain));
    expect(reasonFor(signatureFor(appSecret, plain), Buffer.from(escaped))).toBe('mismatch');
    expect(reasonFor(signatureFor(appSecret, escaped), Buffer.from(escaped))).toBeUndefined();
  });
});

describe('verifySignature with several app secrets (APP_SECRET and INSTAGRAM_APP_SECRET)', () => {
  const instagramSecret = 'unit-instagram-app-secret';
  const secrets = [appSecret, instagramSecret];
  const check = (header: string | undefined) => () => verifySignature({ appSecret: secrets, rawBody, header });

  it('accepts a signature made with any of them', () => {
    expect(check(signatureFor(appSecret, rawBody))).not.toThrow();
    expect(check(signatureFor(instagramSecret, rawBody))).not.toThrow();
  });

  it('refuses one made with another secret, and a missing or malformed one, as before', () => {
    expect(check(signatureFor('another-secret', rawBody))).toThrow(new SignatureError('mismatch'));
    expect(check(undefined)).toThrow(new SignatureError('missing'));
    expect(check('sha256=zz')).toThrow(new SignatureError('malformed'));
    expect(() => verifySignature({ appSecret: [], rawBody, header: good })).toThrow(new SignatureError('mismatch'));
  });
});
