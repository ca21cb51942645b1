// The accounts this bot serves: the Page it speaks for and its Instagram professional account.
// Events addressed to any other account are acknowledged and logged, never answered with our
// token; a multi-account registry can replace this one function later.
import type { Config } from './config.ts';

/** The Instagram professional account the emulator plays when IG_ACCOUNT_ID is not set. */
export const EMULATED_IG_ACCOUNT_ID = '17841400000000002';

/**
 * The ids of our own accounts: PAGE_ID, and IG_ACCOUNT_ID when set (in emulator mode the
 * emulator's Instagram account otherwise). Live mode without IG_ACCOUNT_ID answers no Instagram
 * conversation: the bot cannot tell its own Instagram account from anyone else's.
 */
export function ownAccountIds(config: Pick<Config, 'mode' | 'PAGE_ID' | 'IG_ACCOUNT_ID'>): ReadonlySet<string> {
  const instagram = config.IG_ACCOUNT_ID ?? (config.mode === 'emulator' ? EMULATED_IG_ACCOUNT_ID : undefined);
  return new Set(instagram === undefined ? [config.PAGE_ID] : [config.PAGE_ID, instagram]);
}
