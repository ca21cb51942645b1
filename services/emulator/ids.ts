// Identifiers that look like Meta's: page-scoped numeric user IDs and opaque message IDs.
import { randomBytes, randomInt } from 'node:crypto';
import type { Channel } from '../events/types.ts';

/** A PSID (16 digits, Messenger) or IGSID (17 digits, Instagram). */
export function newUserId(channel: Channel): string {
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  return channel === 'messenger' ? `2${randomInt(1, 10)}${digits(14)}` : `1${randomInt(1, 10)}${digits(15)}`;
}

/** A message ID: `m_…` on Messenger, the base64 `aWdf…` form on Instagram. */
export function newMid(channel: Channel, accountId: string): string {
  const random = randomBytes(18).toString('base64url');
  if (channel === 'messenger') return `m_${random}`;
  return Buffer.from(`ig_message_id:1:IGMessageData:${accountId}:${random}`).toString('base64url');
}

/** Graph's `fbtrace_id`: an opaque token to quote to Meta support. */
export function newTraceId(): string {
  return randomBytes(8).toString('base64url');
}
