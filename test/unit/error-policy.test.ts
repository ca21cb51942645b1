import { describe, it, expect } from '@jest/globals';
import { GraphApiError } from '../../services/errors.ts';
import { classifyFailure } from '../../services/graph/error-policy.ts';

function graphError(status: number | undefined, code?: number, error_subcode?: number): GraphApiError {
  return new GraphApiError({ status, code, error_subcode, type: 'OAuthException', fbtrace_id: 'X', endpoint: 'POST /v24.0/me/messages', graphMessage: 'failed' });
}

describe('classifyFailure', () => {
  it.each([1, 2, 4, 17, 32, 613, 1200])('code %i is transient', (code) => {
    expect(classifyFailure(graphError(400, code))).toBe('transient');
  });

  it.each([500, 502, 503, 429])('HTTP %i without a code is transient', (status) => {
    expect(classifyFailure(graphError(status))).toBe('transient');
  });

  it('a network error or timeout (no status) is transient', () => {
    expect(classifyFailure(graphError(undefined))).toBe('transient');
  });

  it.each([100, 200, 230, 10])('code %i is permanent', (code) => {
    expect(classifyFailure(graphError(400, code))).toBe('permanent');
  });

  it('a 4xx without a code is permanent', () => {
    expect(classifyFailure(graphError(400))).toBe('permanent');
  });

  it.each([
    [551, undefined],
    [10, 2018278],
  ])('code %i/%s means this recipient cannot be messaged', (code, subcode) => {
    expect(classifyFailure(graphError(400, code, subcode))).toBe('recipient');
  });

  it('code 190 is an auth failure', () => {
    expect(classifyFailure(graphError(401, 190))).toBe('auth');
  });

  it('anything that is not a GraphApiError is permanent', () => {
    expect(classifyFailure(new Error('boom'))).toBe('permanent');
    expect(classifyFailure('boom')).toBe('permanent');
    expect(classifyFailure(Object.assign(new Error('x'), { code: 613, status: 500 }))).toBe('permanent');
  });
});
