// The User Profile API behind a cache kept in the user's state, looked up so that no reply waits
// for it: handling greets with what the cache holds (yesterday's name and language are as good as
// today's; a new user is greeted without a name, in the default language) and asks for a lookup
// when the cache is missing or a day old. The inbox makes that lookup right after the event's
// replies are stored, while it still holds the user's lane, so the user's next event has the
// profile. A failure is cached too, and retried after a pause, not on every message.
import type { Channel } from './events/types.ts';
import { isGraphId } from './graph/ids.ts';
import type { SendApi } from './graph/send-api.ts';
import type { Logger } from './logger.ts';
import type { BotStore, CachedProfile, ProfileLookup } from './state/store.ts';
import { LOST } from './state/store.ts';

const FRESH_MS = 24 * 60 * 60 * 1000;
const RETRY_AFTER_FAILURE_MS = 5 * 60 * 1000;

/**
 * The lookup this user needs, or undefined while their cached profile is fresh (or a failure is
 * recent). An id that is not a numeric PSID/IGSID has no profile: nothing to look up.
 */
export function profileLookupFor(cached: CachedProfile | undefined, userId: string, channel: Channel, account: string, now: number): ProfileLookup | undefined {
  if (!isGraphId(userId)) return undefined;
  if (cached && now - cached.fetched_at < (cached.failed ? RETRY_AFTER_FAILURE_MS : FRESH_MS)) return undefined;
  return { userId, channel, account, cached };
}

export interface ProfileDeps {
  sendApi: SendApi;
  store: Pick<BotStore, 'putProfile'>;
  log: Logger;
  now: () => number;
  /** Who this bot is: the profile is stored only while it holds the user's lane. */
  owner: string;
}

/**
 * Looks the profile up with the token of the account the user wrote to, and caches it in the
 * user's state while `lane` is still held. Never rejects: a failed lookup is cached as failed
 * (keeping what was known before), a store that fails leaves the cache as it was.
 */
export async function lookUpProfile(deps: ProfileDeps, userKey: string, lookup: ProfileLookup, lane: string): Promise<void> {
  const log = deps.log.child({ user: userKey });
  const now = deps.now();
  let profile: CachedProfile;
  try {
    const raw = await deps.sendApi.getUserProfile(lookup.userId, lookup.channel, lookup.account);
    const firstName = raw.first_name ?? raw.name?.split(' ')[0] ?? raw.username;
    profile = { first_name: firstName, locale: raw.locale, fetched_at: now };
  } catch (err) {
    log.warn('user profile unavailable: greeted without a name, in the default language, until a lookup works', { err });
    // Keep what we knew before, if anything; only the timestamp moves.
    profile = { ...lookup.cached, fetched_at: now, failed: true };
  }
  try {
    if ((await deps.store.putProfile(userKey, profile, lane, deps.owner)) === LOST) log.debug('user profile not cached: another instance took the lane over');
  } catch (err) {
    log.warn('caching the user profile failed; it is looked up again with the next message', { err });
  }
}
