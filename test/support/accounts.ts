// What the several-accounts tests share: two Pages (the first with a linked Instagram account) and
// one Instagram Login account, their tokens named after what they are (so a leak or a mix-up points
// at its source), an accounts file written to a private temporary directory, and the environment.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';
import { GRAPH, INSTAGRAM } from './fake-graph.ts';

// The hosts the fake Graph API answers (GRAPH_API_URL, INSTAGRAM_API_URL in accountsEnv).
export { GRAPH, INSTAGRAM };
export const VERSION = 'v24.0';

export const PAGE_A = '111111111111111';
export const PAGE_A_IG = '17841400000000001';
export const PAGE_B = '222222222222222';
export const IG_LOGIN = '17841400000000003';

export const TOKENS = {
  pageA: 'EAApageAtoken0123456789abcdef',
  pageB: 'EAApageBtoken0123456789abcdef',
  igLogin: 'IGAAloginToken0123456789abcdef',
} as const;

export const APP_SECRET = 'accounts-app-secret-0123456789';
export const INSTAGRAM_APP_SECRET = 'accounts-instagram-secret-0123456789';

export const ACCOUNTS = {
  accounts: [
    { type: 'page', page_id: PAGE_A, access_token: TOKENS.pageA, instagram_account_id: PAGE_A_IG, name: 'Tidewater' },
    { type: 'page', page_id: PAGE_B, access_token: TOKENS.pageB },
    { type: 'instagram', instagram_account_id: IG_LOGIN, access_token: TOKENS.igLogin, name: 'Matcha Corner' },
  ],
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` (JSON unless a string) to a fresh accounts.json readable by its owner only. */
export function accountsFile(content: unknown = ACCOUNTS, mode = 0o600): string {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-'));
  dirs.push(dir);
  const path = join(dir, 'accounts.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  chmodSync(path, mode);
  return path;
}

/** A live environment with ACCOUNTS_FILE (and a distinct Instagram app secret). */
export function accountsEnv(file: string = accountsFile(), extra: Record<string, string> = {}): Record<string, string> {
  return {
    ACCOUNTS_FILE: file,
    APP_ID: '333333333333333',
    APP_SECRET,
    INSTAGRAM_APP_SECRET,
    VERIFY_TOKEN: 'accounts-verify-token-0123456789',
    APP_URL: 'https://bot.example.test',
    GRAPH_API_URL: GRAPH,
    INSTAGRAM_API_URL: INSTAGRAM,
    GRAPH_API_VERSION: VERSION,
    DATABASE_URL: 'memory:',
    LOG_LEVEL: 'debug',
    ...extra,
  };
}
