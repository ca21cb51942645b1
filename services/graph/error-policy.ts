// What a Graph failure means for the bot: try again later, give up on this send, or stop
// sending altogether. Codes from Meta's Graph API and Send API error references.
import { GraphApiError } from '../errors.ts';

export type FailureKind =
  /** Network, timeout, 5xx, throttling: the same call may succeed later. */
  | 'transient'
  /** The request itself is wrong (bad parameter, permissions): retrying cannot help. */
  | 'permanent'
  /** This user cannot be messaged now (blocked the Page, outside the window, unavailable). */
  | 'recipient'
  /** The access token is invalid or expired: nothing will succeed until it is replaced. */
  | 'auth';

const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 341, 613, 1200]);
const RECIPIENT_CODES = new Set([551]);
const RECIPIENT_SUBCODES = new Set([2018278, 2018108, 2018109, 1545041, 2534014, 2018001]);

export function classifyFailure(err: unknown): FailureKind {
  if (!(err instanceof GraphApiError)) return 'permanent';
  if (err.code === 190 || err.code === 102) return 'auth';
  if (err.status === undefined) return 'transient';
  if (err.code !== undefined && TRANSIENT_CODES.has(err.code)) return 'transient';
  if (err.error_subcode !== undefined && RECIPIENT_SUBCODES.has(err.error_subcode)) return 'recipient';
  if (err.code !== undefined && RECIPIENT_CODES.has(err.code)) return 'recipient';
  if (err.status >= 500 || err.status === 429) return 'transient';
  return 'permanent';
}
