import type { EventBase, UnknownEvent } from './types.ts';

/** Authentic but unrecognised: kept whole so the route can log it and still answer 200. */
export function unknownEvent(base: EventBase, reason: string, raw: unknown): UnknownEvent {
  return { ...base, kind: 'unknown', reason, raw };
}
