// Property: whatever JSON arrives, the normaliser never throws (except PayloadError for a body
// that is not a notification at all), never changes its input, and every event it returns is
// well-typed: a known kind with the fields that kind promises, or `unknown` with a reason.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PayloadError } from '../../services/errors.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import { anyBody, generatedConversation, mutatedFixture, runs, timeoutFor } from './arbitraries.ts';
import { eventProblems } from './checks.ts';

const RECEIVED_AT = 1_700_000_009_000;

function checkBody(body: unknown, mayRefuse: boolean): void {
  const before = structuredClone(body);
  let events: WebhookEvent[];
  try {
    events = normalizeNotification(body, { receivedAt: RECEIVED_AT }).events;
  } catch (err) {
    if (mayRefuse && err instanceof PayloadError) return;
    throw err;
  }
  expect(body).toEqual(before);
  for (const event of events) expect(eventProblems(event)).toEqual([]);
}

describe('normalizeNotification, for any input', () => {
  it('throws nothing but PayloadError for arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (body) => checkBody(body, true)), { numRuns: runs(300) });
  }, timeoutFor(runs(300), 2));

  it('never throws for any body with a string object and an entry array, and types every event', () => {
    const envelope = fc.record({ object: fc.oneof(fc.constantFrom('page', 'instagram', 'user', 'permissions'), fc.string()), entry: fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 5 }) });
    fc.assert(fc.property(envelope, (body) => checkBody(body, false)), { numRuns: runs(300) });
  }, timeoutFor(runs(300), 2));

  it('types every event of mutated real fixtures', () => {
    fc.assert(fc.property(mutatedFixture, (body) => checkBody(body, true)), { numRuns: runs(400) });
  }, timeoutFor(runs(400), 2));

  it('types every event of generated conversations (odd ids, times and text)', () => {
    fc.assert(fc.property(generatedConversation, (body) => checkBody(body, false)), { numRuns: runs(300) });
  }, timeoutFor(runs(300), 2));

  it('is deterministic for a given receipt time', () => {
    fc.assert(
      fc.property(anyBody, (body) => {
        const once = () => {
          try {
            return normalizeNotification(body, { receivedAt: RECEIVED_AT });
          } catch (err) {
            return err instanceof PayloadError ? 'refused' : err;
          }
        };
        expect(once()).toStrictEqual(once());
      }),
      { numRuns: runs(200) },
    );
  }, timeoutFor(runs(200), 2));
});
