// The one scrubber for everything shown or kept: every configured secret, in every escaped form,
// anywhere in a text or a value (keys, nested values, strings inside arrays).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CIRCULAR, REDACTED, TOO_DEEP, asSecretSet, createRedactor, createSecretSet, formsOf, redactDeep, redactText, withSecrets } from '../../services/redact.ts';
import { toMetaJson } from '../../services/signature.ts';

const TOKEN = 'EAAredactPageToken0123456789';
const SECRET = 'redact-app-secret-0123456789';
// Quotes, a backslash, a slash, a space, form and URL specials and non-ASCII: every encoder differs.
const AWKWARD = 'tok"en\\with/sp ce&=+%é€😀';

const inner = (t: string) => JSON.stringify(t).slice(1, -1);
const metaEscapes = (t: string) => toMetaJson(t).slice(1, -1);
const upperEscapes = (t: string) => t.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`);
const slashes = (t: string) => t.replace(/\//g, '\\/');
const lowerHex = (t: string) => t.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
const form = (t: string) => new URLSearchParams({ access_token: t }).toString().slice('access_token='.length);

/** How a text is written on its way to a screen, and how the secret then looks inside it. */
const encoders: [string, (text: string) => string, (secret: string) => string][] = [
  ['raw', (t) => t, (s) => s],
  ['JSON', (t) => JSON.stringify({ t }), inner],
  ['JSON inside JSON', (t) => JSON.stringify(JSON.stringify({ detail: t })), (s) => inner(inner(s))],
  ["Graph's escaped slashes", (t) => slashes(JSON.stringify(t)), (s) => slashes(inner(s))],
  ["Graph's escaped slashes and \\u escapes", (t) => slashes(toMetaJson(t)), (s) => slashes(metaEscapes(s))],
  ["Meta's \\u escapes", (t) => toMetaJson(t), metaEscapes],
  ['upper-case \\u escapes', (t) => upperEscapes(toMetaJson(t)), (s) => upperEscapes(metaEscapes(s))],
  ['percent-encoding', (t) => `https://graph.test/v24.0/me?access_token=${encodeURIComponent(t)}`, encodeURIComponent],
  ['lower-case percent-encoding', (t) => lowerHex(encodeURIComponent(t)), (s) => lowerHex(encodeURIComponent(s))],
  ['form encoding', (t) => new URLSearchParams({ access_token: t, fields: 'id' }).toString(), form],
  ['lower-case form encoding', (t) => lowerHex(new URLSearchParams({ access_token: t }).toString()), (s) => lowerHex(form(s))],
];

const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

describe('redactText', () => {
  it.each(encoders)('finds an awkward secret written by %s, inside a longer string', (_name, encode, written) => {
    const text = encode(`prefix${AWKWARD}suffix and again:${AWKWARD}`);
    expect(text).toContain(written(AWKWARD));
    const out = redactText(text, [AWKWARD]);
    expect(out).not.toContain(written(AWKWARD));
    for (const f of formsOf(AWKWARD)) expect(out).not.toContain(f);
    expect(out.split(REDACTED)).toHaveLength(3);
  });

  it('replaces every configured secret, the longer one first when one contains another', () => {
    const appToken = `111111111111111|${SECRET}`;
    const out = redactText(`Bearer ${TOKEN}, app ${appToken}, secret ${SECRET}`, [SECRET, TOKEN, appToken]);
    expect(out).toBe(`Bearer ${REDACTED}, app ${REDACTED}, secret ${REDACTED}`);
  });

  it('leaves text without secrets alone, and ignores unset or empty secrets', () => {
    expect(redactText('nothing to hide', [TOKEN, undefined, ''])).toBe('nothing to hide');
    expect(redactText(`no list ${TOKEN}`, [])).toBe(`no list ${TOKEN}`);
    expect(redactText('a.b*c', ['.'])).toBe(`a${REDACTED}b*c`);
  });

  it('never leaves a secret behind, whatever the secret and the text around it (property)', () => {
    const secret = fc.string({ unit: 'binary', minLength: 6, maxLength: 24 }).filter((s) => !/[[\]]/.test(s) && !REDACTED.includes(s) && wellFormed(s));
    const text = fc.string({ unit: 'binary', maxLength: 20 }).filter(wellFormed);
    fc.assert(
      fc.property(secret, text, text, fc.constantFrom(...encoders), (s, before, after, [, encode, written]) => {
        const out = redactText(encode(`${before}${s}${after}`), [s]);
        expect(out).not.toContain(written(s));
        expect(out).not.toContain(s);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  });
});

describe('a SecretSet: secrets learnt while the bot runs', () => {
  const LATER = 'IGAArefreshedLater"token/0123456789';

  it('a redactor made before a value joins the set scrubs it from then on, in text and values, in every form', () => {
    const secrets = createSecretSet([TOKEN, undefined, '']);
    const redactor = createRedactor(secrets);
    expect(redactor.text(`${TOKEN} ${LATER}`)).toBe(`${REDACTED} ${LATER}`);
    secrets.add(LATER);
    expect(redactor.text(`${TOKEN} ${LATER}`)).toBe(`${REDACTED} ${REDACTED}`);
    const value = redactor.deep({ response: { error: { message: `echo ${LATER}`, error_data: JSON.stringify({ t: LATER }) } }, [LATER]: encodeURIComponent(LATER) });
    const text = JSON.stringify(value);
    for (const f of formsOf(LATER)) expect(text).not.toContain(f);
    expect(value).toEqual({ response: { error: { message: `echo ${REDACTED}`, error_data: JSON.stringify({ t: REDACTED }) } }, [REDACTED]: REDACTED });
  });

  it('grows only: a value added twice, or empty, changes nothing', () => {
    const secrets = createSecretSet([SECRET]);
    const version = secrets.version;
    secrets.add(SECRET);
    secrets.add('');
    secrets.add(undefined);
    expect(secrets.version).toBe(version);
    expect(secrets.values()).toEqual([SECRET]);
    secrets.add(TOKEN);
    expect(secrets.version).toBe(version + 1);
    expect(secrets.values()).toEqual([SECRET, TOKEN]);
  });

  it('withSecrets keeps following the set; asSecretSet keeps a set, and makes one of a list', () => {
    const secrets = createSecretSet([SECRET]);
    const redactor = createRedactor(withSecrets(secrets, ['dashboard-token-0123456789']));
    secrets.add(LATER);
    expect(redactor.text(`${SECRET} ${LATER} dashboard-token-0123456789`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
    expect(asSecretSet(secrets)).toBe(secrets);
    const made = asSecretSet([TOKEN]);
    made.add(LATER);
    expect(createRedactor(made).text(`${TOKEN} ${LATER}`)).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('minLength leaves short values alone', () => {
    const secrets = createSecretSet(['abc']);
    expect(createRedactor(secrets, { minLength: 4 }).text('abc abcd')).toBe('abc abcd');
    secrets.add('abcd');
    expect(createRedactor(secrets, { minLength: 4 }).text('abc abcd')).toBe(`abc ${REDACTED}`);
  });
});

describe('redactDeep', () => {
  const redactor = createRedactor([TOKEN, SECRET]);

  it('scrubs keys and values at any depth, in arrays too, without changing the input', () => {
    const input = {
      error: { message: `Invalid OAuth access token - Cannot parse access token: ${TOKEN}`, code: 190 },
      list: [`Bearer ${TOKEN}`, 7, null, true, [{ [TOKEN]: SECRET }]],
      [`key-${SECRET}`]: { nested: { deeper: `x${TOKEN}y` } },
    };
    const copy = structuredClone(input);
    const out = redactor.deep(input);
    expect(out).toEqual({
      error: { message: `Invalid OAuth access token - Cannot parse access token: ${REDACTED}`, code: 190 },
      list: [`Bearer ${REDACTED}`, 7, null, true, [{ [REDACTED]: REDACTED }]],
      [`key-${REDACTED}`]: { nested: { deeper: `x${REDACTED}y` } },
    });
    expect(input).toEqual(copy);
  });

  it('finds a secret written escaped inside a string value (a JSON or URL text kept as a string)', () => {
    const out = redactDeep({ raw: JSON.stringify({ token: AWKWARD }), url: `https://x.test/?t=${encodeURIComponent(AWKWARD)}` }, [AWKWARD]);
    expect(JSON.stringify(out)).not.toContain(encodeURIComponent(AWKWARD));
    expect(out).toEqual({ raw: `{"token":"${REDACTED}"}`, url: `https://x.test/?t=${REDACTED}` });
  });

  it('keeps a "__proto__" key as data, never as a prototype', () => {
    const out = redactor.deep(JSON.parse(`{"__proto__":{"polluted":"${TOKEN}"}}`) as Record<string, unknown>);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"polluted":"${REDACTED}"}}`);
  });

  it('turns errors, dates, buffers and toJSON objects into what can be shown, scrubbed', () => {
    const when = new Date('2026-11-23T10:00:00Z');
    const out = redactor.deep({ err: new TypeError(`bad ${TOKEN}`), when, bytes: Buffer.from(TOKEN), custom: { toJSON: () => ({ t: TOKEN }) } });
    expect(out).toEqual({ err: { name: 'TypeError', message: `bad ${REDACTED}` }, when: '2026-11-23T10:00:00.000Z', bytes: '[binary, 28 bytes]', custom: { t: REDACTED } });
  });

  it('cuts a value nested 100,000 deep and a circular one, so the result always serialises', () => {
    let deep: unknown = TOKEN;
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    const cut = redactor.deep(deep);
    expect(() => JSON.stringify(cut)).not.toThrow();
    expect(JSON.stringify(cut)).toContain(TOO_DEEP);
    const loop: Record<string, unknown> = { token: TOKEN };
    loop.self = loop;
    expect(redactor.deep(loop)).toEqual({ token: REDACTED, self: CIRCULAR });
    // The same object twice, side by side, is not a cycle.
    const shared = { t: TOKEN };
    expect(redactor.deep([shared, shared])).toEqual([{ t: REDACTED }, { t: REDACTED }]);
  });

  it('leaves no secret anywhere in an arbitrary JSON value built around it (property)', () => {
    const withSecret = fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(TOKEN, SECRET, AWKWARD, JSON.stringify(AWKWARD), encodeURIComponent(AWKWARD)), fc.string({ maxLength: 8 })).map((parts) => parts.join(''));
    const text = fc.oneof(fc.string({ maxLength: 8 }), withSecret);
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(text, tie('tree'), { maxKeys: 4 })),
    }));
    const secrets = [TOKEN, SECRET, AWKWARD];
    fc.assert(
      fc.property(tree, (value) => {
        const out = JSON.stringify(redactDeep(value, secrets)) ?? '';
        for (const form of secrets.flatMap(formsOf)) expect(out).not.toContain(form);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 200) },
    );
  });
});
