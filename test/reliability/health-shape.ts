// What /healthz says about this instance, as the jest suites expect it (kept apart from helpers.ts,
// which the real-browser tests load outside jest).
import { expect } from '@jest/globals';

/**
 * The /healthz fields that say which database this instance uses and what it holds: the owner name
 * is random per run, the claims are what this instance holds at the moment (none when idle).
 */
export function healthOfInstance(kind: 'memory' | 'sqlite' | 'postgres', claims: unknown = { inbox: 0, outbox: 0 }): Record<string, unknown> {
  return { database: { kind, ok: true }, instance: { owner: expect.stringMatching(/\S/), claims } };
}
