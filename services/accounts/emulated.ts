// The accounts the emulator plays when no credentials are set: two Pages (the first with a linked
// Instagram professional account) and one Instagram account on Instagram Login, so a new user
// sees replies routed to the right account. PAGE_ID and IG_ACCOUNT_ID still rename the first.

/** The first Page's id when PAGE_ID is not set. */
export const EMULATED_PAGE_ID = '100000000000002';
/** The Instagram professional account linked to the first Page when IG_ACCOUNT_ID is not set. */
export const EMULATED_IG_ACCOUNT_ID = '17841400000000002';
/** The second Page: Messenger only. */
export const EMULATED_SECOND_PAGE_ID = '100000000000003';
/** The Instagram account without a Page (Instagram API with Instagram Login). */
export const EMULATED_IG_LOGIN_ACCOUNT_ID = '17841400000000003';

export const EMULATED_NAMES = {
  firstPage: 'Tidewater Tea Co.',
  secondPage: 'Harbour Tea Bar',
  igLogin: 'Matcha Corner',
} as const;
