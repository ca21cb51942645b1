import { describe, it, expect } from '@jest/globals';
import { AxiosError, AxiosHeaders } from 'axios';
import { GraphApiError } from '../../services/errors.ts';
import { createLogger, type LogLevel } from '../../services/logger.ts';

const TOKEN = 'EAAloggerToken0123456789';
const SECRET = 'logger-app-secret-0123';

function capture(level: LogLevel = 'debug', redact: string[] = [TOKEN, SECRET]) {
  const lines: string[] = [];
  const log = createLogger({ level, redact, write: (l) => lines.push(l), now: () => new Date('2026-11-23T10:00:00Z') });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger redaction', () => {
  it('replaces every occurrence of every secret, wherever it appears', () => {
    const { log, lines, records } = capture();
    log.child({ token: TOKEN }).warn(`url ?access_token=${TOKEN}&x=${TOKEN}`, {
      nested: { deep: [{ header: `Bearer ${TOKEN}` }], secret: SECRET },
      err: new Error(`bad token ${TOKEN} / ${SECRET}`),
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(TOKEN);
    expect(lines[0]).not.toContain(SECRET);
    expect(records()[0]).toMatchObject({
      msg: 'url ?access_token=[REDACTED]&x=[REDACTED]',
      token: '[REDACTED]',
      nested: { deep: [{ header: 'Bearer [REDACTED]' }], secret: '[REDACTED]' },
      err: { message: 'bad token [REDACTED] / [REDACTED]' },
    });
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
    expect(lines).toEqual([]);
  });
});

describe('createLogger child loggers', () => {
  it('merge bindings from every level, with fields winning, and leave the parent alone', () => {
    const { log, records } = capture();
    log.child({ event: 'e1', user: 'u1' }).child({ user: 'u2' }).info('hi', { extra: 1 });
    log.info('plain');
    expect(records()).toEqual([
      { time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'hi', event: 'e1', user: 'u2', extra: 1 },
      { time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'plain' },
    ]);
  });
});

describe('createLogger errors', () => {
  it('serialises an Error as name and message only, without a stack', () => {
    const { log, lines, records } = capture();
    const err = new TypeError('boom');
    log.error('failed', { err });
    expect(records()[0]?.err).toEqual({ name: 'TypeError', message: 'boom' });
    expect(lines[0]).not.toContain('stack');
    expect(lines[0]).not.toContain('logger.test');
  });

  it('adds the details of a GraphApiError', () => {
    const { log, lines, records } = capture();
    const err = new GraphApiError({ status: 400, code: 100, error_subcode: undefined, type: 'OAuthException', fbtrace_id: 'AbC', endpoint: 'POST /v24.0/me/messages', graphMessage: 'Invalid parameter' });
    log.error('send failed', { err });
    expect(records()[0]?.err).toEqual({
      name: 'GraphApiError',
      message: err.message,
      details: { status: 400, code: 100, type: 'OAuthException', fbtrace_id: 'AbC', endpoint: 'POST /v24.0/me/messages', graphMessage: 'Invalid parameter' },
    });
    expect(lines[0]).not.toContain('stack');
  });

  // Regression: errors with their own toJSON (AxiosError) must not log their stack or request config.
  it('serialises an error with its own toJSON (AxiosError) as name and message too', () => {
    const { log, lines, records } = capture();
    const err = new AxiosError('timeout of 10000ms exceeded', 'ECONNABORTED', {
      url: 'me/messages',
      headers: new AxiosHeaders({ Authorization: 'Bearer something-not-in-redact' }),
    });
    log.error('failed', { err });
    expect(records()[0]?.err).toEqual({ name: 'AxiosError', message: 'timeout of 10000ms exceeded' });
    expect(lines[0]).not.toContain('stack');
    expect(lines[0]).not.toContain('Authorization');
  });
});
