// The User Profile API behind a cache kept in the user's state: fetched once a day, and a failure
// falls back to "no name, default language" and is retried after a pause, not on every message.
import type { Channel } from './events/types.ts';
import { isGraphId } from './graph/ids.ts';
import type { SendApi } from './graph/send-api.ts';
import type { Logger } from './logger.ts';
import type { CachedProfile, UserState } from './state/store.ts';

const FRESH_MS = 24 * 60 * 60 * 1000;
const RETRY_AFTER_FAILURE_MS = 5 * 60 * 1000;

interface ProfileDeps {
  sendApi: SendApi;
  log: Logger;
  now: () => number;
}

/**
 * The cached or freshly fetched profile; updates `user.profile` in place. An id that is not a
 * numeric PSID/IGSID has no profile: nothing is fetched, nothing is cached. `account` is the one
 * the user wrote to: its token (and API) looks the profile up, as PSIDs and IGSIDs are scoped to it.
 */
export async function loadProfile(deps: ProfileDeps, user: UserState, userId: string, channel: Channel, account: string): Promise<CachedProfile | undefined> {
  if (!isGraphId(userId)) {
    deps.log.warn('sender id is not a numeric PSID/IGSID: no profile lookup');
    return undefined;
  }
  const now = deps.now();
  const cached = user.profile;
  if (cached && now - cached.fetched_at < (cached.failed ? RETRY_AFTER_FAILURE_MS : FRESH_MS)) return cached;
  try {
    const raw = await deps.sendApi.getUserProfile(userId, channel, account);
    const firstName = raw.first_name ?? raw.name?.split(' ')[0] ?? raw.username;
    user.profile = { first_name: firstName, locale: raw.locale, fetched_at: now };
  } catch (err) {
    deps.log.warn('user profile unavailable, greeting without a name', { err });
    // Keep what we knew before, if anything; only the timestamp moves.
    user.profile = { ...cached, fetched_at: now, failed: true };
  }
  return user.profile;
}
