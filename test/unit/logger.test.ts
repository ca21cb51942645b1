import { describe, it, expect } from '@jest/globals';
import { AxiosError, AxiosHeaders } from 'axios';
import { loadConfig } from '../../services/config.ts';
import { ConfigError, GraphApiError, SignatureError } from '../../services/errors.ts';
import { createLogger, type LoggerOptions, type LogLevel } from '../../services/logger.ts';
import { createSecretSet } from '../../services/redact.ts';
import { TEST_ENV } from '../support/harness.ts';

const TOKEN = 'EAAloggerToken0123456789';
const SECRET = 'logger-app-secret-0123';
/** A secret with characters JSON escapes: it appears as `quo\"te\\back` in a JSON line. */
const ODD = 'quo"te\\back-secret';
const ALL = [TOKEN, SECRET, ODD];

type LogRecord = Record<string, unknown>;

function capture(level: LogLevel = 'debug', more: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const log = createLogger({ level, redact: ALL, write: (l) => lines.push(l), now: () => new Date('2026-11-23T10:00:00Z'), ...more });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as LogRecord) };
}

function expectNoSecret(text: string | undefined): void {
  expect(text).toBeDefined();
  for (const secret of ALL) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
  }
}

/** A real bug in a handler: reading a property of undefined. */
function buggyHandler(event: { message?: { text: string } }): string {
  return (event.message as { text: string }).text;
}

function thrownBy(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    if (err instanceof Error) return err;
  }
  throw new Error('expected the call to throw an Error');
}

describe('createLogger redaction', () => {
  it('replaces every occurrence of every secret, wherever it appears', () => {
    const { log, lines, records } = capture();
    log.child({ token: TOKEN }).warn(`url ?access_token=${TOKEN}&x=${TOKEN}`, {
      nested: { deep: [{ header: `Bearer ${TOKEN}` }], secret: SECRET },
      err: new Error(`bad token ${TOKEN} / ${SECRET}`),
    });
    expect(lines).toHaveLength(1);
    expectNoSecret(lines[0]);
    expect(records()[0]).toMatchObject({
      msg: 'url ?access_token=[REDACTED]&x=[REDACTED]',
      token: '[REDACTED]',
      nested: { deep: [{ header: 'Bearer [REDACTED]' }], secret: '[REDACTED]' },
      err: { message: 'bad token [REDACTED] / [REDACTED]' },
    });
  });

  it('redacts a value that joins its SecretSet after the logger was made (a token refreshed at run time)', () => {
    const secrets = createSecretSet(ALL);
    const later = 'IGAAlaterToken"0123456789';
    const { log, lines } = capture('debug', { redact: secrets });
    log.info(`before ${later}`);
    secrets.add(later);
    log.info(`after ${later}`, { err: new Error(`echo ${later}`), nested: { body: JSON.stringify({ access_token: later }) } });
    expect(lines[0]).toContain('IGAAlaterToken');
    expect(lines[1]).not.toContain('IGAAlaterToken');
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ msg: 'after [REDACTED]', err: { message: 'echo [REDACTED]' } });
  });

  it('redacts secrets in keys, inside words and in their JSON-escaped form', () => {
    const { log, lines, records } = capture();
    log.info('odd', { [TOKEN]: 1, glued: `x${SECRET}y`, odd: `<${ODD}>`, list: [[`${ODD}${TOKEN}`]] });
    expectNoSecret(lines[0]);
    expect(records()[0]).toMatchObject({ '[REDACTED]': 1, glued: 'x[REDACTED]y', odd: '<[REDACTED]>', list: [['[REDACTED][REDACTED]']] });
  });

  it('redacts a secret that contains another one as a whole', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', redact: ['abcd', 'abcd-longer-secret'], write: (l) => lines.push(l) });
    log.info('both abcd-longer-secret and abcd');
    expect(lines[0]).toContain('"msg":"both [REDACTED] and [REDACTED]"');
    expect(lines[0]).not.toContain('longer');
  });

  it('redacts error messages, details, causes and stacks at error level', () => {
    const { log, lines, records } = capture();
    const graph = new GraphApiError({ status: 400, code: 190, error_subcode: undefined, type: 'OAuthException', fbtrace_id: 'T', endpoint: 'GET /v24.0/me', graphMessage: `token ${TOKEN} is invalid` });
    const err = new Error(`send failed for ${SECRET}`, { cause: graph });
    log.error('failed', { err });
    expectNoSecret(lines[0]);
    const logged = records()[0]?.err as { stack: string; cause: { details: { graphMessage: string }; stack: string } };
    expect(logged.stack).toMatch(/^Error: send failed for \[REDACTED\]\n/);
    expect(logged.cause.details.graphMessage).toBe('token [REDACTED] is invalid');
    expect(logged.cause.stack).toContain('[REDACTED]');
  });

  it('redacts what pino-pretty prints, stacks included', () => {
    const { log, lines } = capture('debug', { format: 'pretty', isTTY: false });
    log.child({ user: TOKEN }).error(`failed ${SECRET}`, { err: new TypeError(`bad ${ODD} ${TOKEN}`), nested: { a: [SECRET] } });
    expect(lines).toHaveLength(1);
    expectNoSecret(lines[0]);
    expect(lines[0]).toContain('ERROR: failed [REDACTED]');
    expect(lines[0]).toMatch(/TypeError: bad \[REDACTED\] \[REDACTED\]\n\s+at .*logger\.test\.ts:\d+:\d+/);
  });

  it('ignores values too short to redact without garbling the logs', () => {
    const lines: string[] = [];
    createLogger({ level: 'info', redact: ['', 'ab'], write: (l) => lines.push(l) }).info('a cab');
    expect(lines[0]).toContain('"msg":"a cab"');
  });
});

describe('createLogger record shape', () => {
  it('writes pino JSON lines with the level as a label, an ISO time and msg', () => {
    const { log, lines } = capture();
    log.info('hello', { n: 1 });
    expect(JSON.parse(lines[0] ?? '')).toEqual({ level: 'info', time: '2026-11-23T10:00:00.000Z', msg: 'hello', n: 1 });
    expect(lines[0]?.startsWith('{"level":"info","time":"2026-11-23T10:00:00.000Z"')).toBe(true);
  });
});

describe('createLogger levels', () => {
  it('drops records below the level', () => {
    const { log, records } = capture('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('writes nothing when silent', () => {
    const { log, lines } = capture('silent');
    log.error('e');
    log.child({ a: 1 }).error('e');
    expect(lines).toEqual([]);
  });
});

describe('createLogger child loggers', () => {
  it('merge bindings from every level, with fields winning, and leave the parent alone', () => {
    const { log, lines, records } = capture();
    const child = log.child({ event: 'e1', user: 'u1' }).child({ user: 'u2' });
    child.info('hi', { extra: 1 });
    child.info('again', { user: 'u3' });
    log.info('plain');
    expect(records()).toEqual([
      { time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'hi', event: 'e1', user: 'u2', extra: 1 },
      { time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'again', event: 'e1', user: 'u3' },
      { time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'plain' },
    ]);
    // One `user` key per line, not a repeated one that only JSON.parse's last-wins rule resolves.
    for (const line of lines.slice(0, 2)) expect(line.match(/"user"/g)).toHaveLength(1);
  });
});

describe('createLogger errors', () => {
  it('keeps the stack of an error-level record, with the file and line of the bug', () => {
    const { log, records } = capture();
    const err = thrownBy(() => buggyHandler({}));
    log.error('handler failed', { err, kind: 'message' });
    const logged = records()[0]?.err as Record<string, unknown>;
    expect(logged).toMatchObject({ name: 'TypeError', message: expect.stringContaining('Cannot read properties of undefined') });
    expect(logged.stack).toMatch(/^TypeError: Cannot read properties of undefined.*\n\s+at buggyHandler \(.*test\/unit\/logger\.test\.ts:\d+:\d+\)/);
  });

  it('leaves stacks out below error level', () => {
    const { log, lines, records } = capture();
    log.warn('send failed, will retry', { err: new Error('boom', { cause: new Error('inner') }) });
    expect(records()[0]?.err).toEqual({ name: 'Error', message: 'boom', cause: { name: 'Error', message: 'inner' } });
    expect(lines[0]).not.toContain('stack');
    expect(lines[0]).not.toContain('logger.test');
  });

  it('adds the details of a GraphApiError', () => {
    const { log, records } = capture();
    const err = new GraphApiError({ status: 400, code: 100, error_subcode: undefined, type: 'OAuthException', fbtrace_id: 'AbC', endpoint: 'POST /v24.0/me/messages', graphMessage: 'Invalid parameter' });
    log.error('send failed', { err });
    expect(records()[0]?.err).toEqual({
      name: 'GraphApiError',
      message: err.message,
      code: 100,
      details: { status: 400, code: 100, type: 'OAuthException', fbtrace_id: 'AbC', endpoint: 'POST /v24.0/me/messages', graphMessage: 'Invalid parameter' },
      stack: expect.stringMatching(/^GraphApiError: Graph API POST .*\n\s+at .*logger\.test\.ts:\d+:\d+/),
    });
  });

  it('adds the own fields of our other typed errors', () => {
    const { log, records } = capture('warn');
    log.warn('rejected', { signature: new SignatureError('mismatch'), config: new ConfigError('PORT', 'bad', 'fix it') });
    expect(records()[0]).toMatchObject({
      signature: { name: 'SignatureError', message: 'webhook signature mismatch', details: { reason: 'mismatch' } },
      config: { name: 'ConfigError', details: { variable: 'PORT' } },
    });
  });

  // Regression: errors with their own toJSON (AxiosError) must not log their request config or headers.
  it('describes an AxiosError by name, message and code, never by its toJSON (config, headers)', () => {
    const { log, lines, records } = capture();
    const config = { url: 'me/messages', headers: new AxiosHeaders({ Authorization: 'Bearer something-not-in-redact' }) };
    const err = new AxiosError('timeout of 10000ms exceeded', 'ECONNABORTED', config, {}, { status: 504, statusText: '', headers: {}, config, data: { auth: 'something-not-in-redact' } });
    log.error('failed', { err });
    expect(records()[0]?.err).toMatchObject({ name: 'AxiosError', message: 'timeout of 10000ms exceeded', code: 'ECONNABORTED', details: { status: 504 } });
    expect(lines[0]).not.toContain('something-not-in-redact');
    expect(lines[0]).not.toContain('Authorization');
    expect(lines[0]).not.toContain('me/messages');
  });

  it('follows a cause chain only so far, and survives a cause that loops', () => {
    const { log, lines, records } = capture();
    let deep = new Error('e0');
    for (let i = 1; i < 10; i++) deep = new Error(`e${i}`, { cause: deep });
    const loop = new Error('loop');
    loop.cause = loop;
    log.error('chain', { deep, loop });
    const logged = records()[0] as { deep: LogRecord; loop: LogRecord };
    const messages: unknown[] = [];
    for (let node: unknown = logged.deep; typeof node === 'object' && node !== null; node = (node as LogRecord).cause) messages.push((node as LogRecord).message);
    expect(messages).toEqual(['e9', 'e8', 'e7', 'e6']);
    expect(JSON.stringify(logged.deep)).toContain('[more causes]');
    expect(logged.loop).toMatchObject({ message: 'loop', cause: '[Circular]' });
    expect(lines).toHaveLength(1);
  });

  it('describes errors anywhere in the fields, AggregateError members included', () => {
    const { log, records } = capture('warn');
    log.warn('many', { list: [new RangeError('r')], all: new AggregateError([new Error('a'), 'b'], 'both') });
    expect(records()[0]).toMatchObject({
      list: [{ name: 'RangeError', message: 'r' }],
      all: { name: 'AggregateError', message: 'both', errors: [{ name: 'Error', message: 'a' }, 'b'] },
    });
  });
});

describe('createLogger never throws', () => {
  it('logs circular values, throwing getters, bigints and a throwing toLog', () => {
    const { log, records } = capture();
    const circular: LogRecord = { a: 1 };
    circular.self = circular;
    const getter = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('getter'); } });
    const badToLog = Object.assign(new Error('typed'), { toLog: () => { throw new Error('toLog'); } });
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('proxy'); } });
    expect(() => log.error('odd values', { circular, getter, big: 10n, badToLog, proxy })).not.toThrow();
    expect(records()[0]).toMatchObject({
      msg: 'odd values',
      circular: { a: 1, self: '[Circular]' },
      getter: { x: '[unreadable]' },
      big: '10',
      badToLog: { name: 'Error', message: 'typed', details: '[unreadable]' },
      proxy: '[unreadable]',
    });
  });

  it('keeps a record whose fields cannot be read at all', () => {
    const { log, records } = capture();
    const fields = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
    expect(() => log.info('still logged', fields)).not.toThrow();
    expect(records()[0]).toMatchObject({ level: 'info', msg: 'still logged' });
  });

  it('does not throw when the output itself fails', () => {
    const log = createLogger({ level: 'info', write: () => { throw new Error('EPIPE'); } });
    expect(() => log.info('lost')).not.toThrow();
  });
});

describe('createLogger format', () => {
  it('pretty-prints at a terminal and writes JSON lines elsewhere, unless told', () => {
    const print = (more: Partial<LoggerOptions>) => {
      const { log, lines } = capture('info', more);
      log.info('hello', { user: 'u1' });
      return lines[0] ?? '';
    };
    expect(print({ isTTY: true })).toMatch(/INFO.*: .*hello/);
    expect(print({ format: 'auto', isTTY: false })).toMatch(/^\{"level":"info"/);
    expect(print({ format: 'json', isTTY: true })).toMatch(/^\{"level":"info"/);
    expect(print({ format: 'pretty', isTTY: false })).toMatch(/^\[[\d:.]+\] INFO: hello \{"user":"u1"\}$/);
  });

  it('is read from LOG_FORMAT: auto by default, json or pretty, anything else named', () => {
    expect(loadConfig(TEST_ENV).LOG_FORMAT).toBe('auto');
    expect(loadConfig({ ...TEST_ENV, LOG_FORMAT: 'Pretty' }).LOG_FORMAT).toBe('pretty');
    expect(loadConfig({ ...TEST_ENV, LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(() => loadConfig({ ...TEST_ENV, LOG_FORMAT: 'xml' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...TEST_ENV, LOG_FORMAT: 'xml' })).toThrow(/^LOG_FORMAT: "xml" is not a log format/);
  });
});
