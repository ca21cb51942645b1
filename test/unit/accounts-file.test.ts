// ACCOUNTS_FILE: every way the file can be wrong gets an error that names the entry and the field
// and says what to do, all problems at once, and never a token (not even in a JSON syntax error).
// The config around it: live mode, the conflict with PAGE_ACCESS_TOKEN, the Instagram settings.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parseAccounts, readAccountsFile, AccountsFileError, type AccountsFileIo } from '../../services/accounts/file.ts';
import { loadConfig, secretsOf, signingSecrets } from '../../services/config.ts';
import { ConfigError } from '../../services/errors.ts';
import { ACCOUNTS, APP_SECRET, IG_LOGIN, INSTAGRAM_APP_SECRET, PAGE_A, PAGE_A_IG, PAGE_B, TOKENS, accountsEnv, accountsFile } from '../support/accounts.ts';

const PAGE_TOKEN = 'EAAsomePageToken0123456789';
const IG_TOKEN = 'IGAAsomeInstagramToken0123456789';

/** The problems of a file body, as `entry field: problem` lines. */
function problemsOf(body: unknown): string[] {
  try {
    parseAccounts(typeof body === 'string' ? body : JSON.stringify(body), 'accounts.json');
  } catch (err) {
    if (!(err instanceof AccountsFileError)) throw err;
    for (const secret of [PAGE_TOKEN, IG_TOKEN, ...Object.values(TOKENS)]) expect(err.message).not.toContain(secret.slice(0, 12));
    expect(err.variable).toBe('ACCOUNTS_FILE');
    expect(err.message).toMatch(/^ACCOUNTS_FILE: accounts\.json has (a problem|\d+ problems):/);
    expect(err.message).toContain('Fix: correct accounts.json (accounts.example.json shows the format)');
    for (const p of err.problems) expect(p.fix.length).toBeGreaterThan(10);
    return err.problems.map((p) => `${p.entry}${p.field === undefined ? '' : ` ${p.field}`}: ${p.problem}`);
  }
  throw new Error('the file was accepted');
}

const page = (extra: Record<string, unknown> = {}) => ({ type: 'page', page_id: '111', access_token: PAGE_TOKEN, ...extra });
const instagram = (extra: Record<string, unknown> = {}) => ({ type: 'instagram', instagram_account_id: '17841400000000003', access_token: IG_TOKEN, ...extra });

describe('the accounts file', () => {
  it('reads pages (with and without a linked Instagram account) and Instagram Login accounts, keyed by their primary id', () => {
    const accounts = parseAccounts(JSON.stringify(ACCOUNTS), 'accounts.json');
    expect(accounts).toEqual([
      { type: 'page', key: PAGE_A, page_id: PAGE_A, access_token: TOKENS.pageA, instagram_account_id: PAGE_A_IG, name: 'Tidewater' },
      { type: 'page', key: PAGE_B, page_id: PAGE_B, access_token: TOKENS.pageB, instagram_account_id: undefined, name: undefined },
      { type: 'instagram', key: IG_LOGIN, instagram_account_id: IG_LOGIN, access_token: TOKENS.igLogin, name: 'Matcha Corner' },
    ]);
  });

  it('ignores keys starting with _ (notes) at both levels', () => {
    expect(parseAccounts(JSON.stringify({ _note: 'shops', accounts: [page({ _why: 'main brand' })] }), 'a.json')).toHaveLength(1);
  });

  it.each([
    ['a JSON list', [page()], ['the file: must be a JSON object: { "accounts": [ … ] }']],
    ['no accounts', { pages: [page()] }, ['the file: has no "accounts" list', 'the file: has an unknown key "pages"']],
    ['accounts not a list', { accounts: page() }, ['the file: "accounts" must be a list']],
    ['an empty list', { accounts: [] }, ['the file: "accounts" is empty']],
    ['an entry that is not an object', { accounts: ['111'] }, ['accounts[0]: is not an object']],
    ['no type', { accounts: [{ page_id: '111', access_token: PAGE_TOKEN }] }, ['accounts[0] type: is missing']],
    ['an unknown type', { accounts: [page({ type: 'whatsapp' })] }, ['accounts[0] type: is "whatsapp", not "page" or "instagram"']],
    ['an unknown field', { accounts: [page({ acces_token: 'x' })] }, ['accounts[0] (page 111) acces_token: is not a field of this entry']],
    ['a page_id on an Instagram Login account', { accounts: [instagram({ page_id: '111' })] }, ['accounts[0] (instagram 17841400000000003) page_id: is not a field of this entry']],
    ['no page_id', { accounts: [{ type: 'page', access_token: PAGE_TOKEN }] }, ['accounts[0] page_id: is missing']],
    ['a page_id as a JSON number', { accounts: [page({ page_id: 111 })] }, ['accounts[0] page_id: is a JSON number']],
    ['a page_id that is not numeric', { accounts: [page({ page_id: 'my-shop' })] }, ['accounts[0] page_id: is not a numeric id']],
    ['a linked instagram_account_id that is not numeric', { accounts: [page({ instagram_account_id: '1784x' })] }, ['accounts[0] (page 111) instagram_account_id: is not a numeric id']],
    ['an Instagram Login account without its id', { accounts: [{ type: 'instagram', access_token: IG_TOKEN }] }, ['accounts[0] instagram_account_id: is missing']],
    ['no access_token', { accounts: [page({ access_token: undefined })] }, ['accounts[0] (page 111) access_token: is missing']],
    ['an empty access_token', { accounts: [page({ access_token: '  ' })] }, ['accounts[0] (page 111) access_token: is not a token (a non-empty string)']],
    ['a number as access_token', { accounts: [page({ access_token: 12345 })] }, ['accounts[0] (page 111) access_token: is not a token (a non-empty string)']],
    ["the example's placeholder", { accounts: [page({ access_token: '<the Page access token of Page 111>' })] }, ["accounts[0] (page 111) access_token: is still the example's placeholder"]],
    ["the issue's placeholder", { accounts: [instagram({ access_token: '…' })] }, ["accounts[0] (instagram 17841400000000003) access_token: is still the example's placeholder"]],
    ['a token with a line break', { accounts: [page({ access_token: `${PAGE_TOKEN}\n${PAGE_TOKEN}` })] }, ['accounts[0] (page 111) access_token: contains spaces or line breaks']],
    ['a token with curly quotes', { accounts: [page({ access_token: `“${PAGE_TOKEN}”` })] }, ['accounts[0] (page 111) access_token: contains characters no access token has']],
    ['a cut token', { accounts: [page({ access_token: 'EAAshort' })] }, ['accounts[0] (page 111) access_token: is too short to be an access token']],
    ['a bad name', { accounts: [page({ name: '' })] }, ['accounts[0] (page 111) name: must be a short label (1 to 100 printable characters)']],
    ['the same Page twice', { accounts: [page(), page({ access_token: `${PAGE_TOKEN}x` })] }, ["accounts[1] (page 111) page_id: 111 is already accounts[0] (page 111)'s page_id"]],
    [
      'a linked Instagram account also listed on its own',
      { accounts: [page({ instagram_account_id: '17841400000000003' }), instagram()] },
      ["accounts[1] (instagram 17841400000000003) instagram_account_id: 17841400000000003 is already accounts[0] (page 111)'s instagram_account_id"],
    ],
    ['a Page id reused as an Instagram id', { accounts: [page(), instagram({ instagram_account_id: '111' })] }, ["accounts[1] (instagram 111) instagram_account_id: 111 is already accounts[0] (page 111)'s page_id"]],
  ])('refuses %s', (_name, body, expected) => {
    expect(problemsOf(body)).toEqual(expected);
  });

  it('reports every problem of every entry at once', () => {
    const problems = problemsOf({ accounts: [page({ page_id: 111 }), { type: 'instagram', access_token: 'short' }, page({ name: 7 })] });
    expect(problems).toEqual([
      'accounts[0] page_id: is a JSON number',
      'accounts[1] instagram_account_id: is missing',
      'accounts[1] access_token: is too short to be an access token',
      'accounts[2] (page 111) name: must be a short label (1 to 100 printable characters)',
    ]);
  });

  it('refuses a file cut short, and an empty one', () => {
    expect(problemsOf(`{ "accounts": [ { "type": "page", "access_token": "${PAGE_TOKEN}" `)).toEqual([expect.stringMatching(/^the file: is not valid JSON( at line 1, column \d+| \(it ends too early\))$/)]);
    expect(problemsOf('')).toEqual([expect.stringMatching(/^the file: is not valid JSON( at line 1, column 1| \(the file is empty\))$/)]);
  });

  it('places a JSON syntax error by line and column, without quoting the text around it', () => {
    const text = `{\n  "accounts": [\n    { "type": "page", "page_id": "111", "access_token": "${PAGE_TOKEN}" }\n    { "type": "page" }\n  ]\n}`;
    const [problem] = problemsOf(text);
    expect(problem).toMatch(/^the file: is not valid JSON at line 4, column \d+$/);
  });
});

describe('accounts.example.json', () => {
  it('has the documented format: only its placeholder tokens are refused', () => {
    const text = readFileSync(new URL('../../accounts.example.json', import.meta.url), 'utf8');
    expect(problemsOf(text)).toEqual([
      "accounts[0] (page 111111111111111) access_token: is still the example's placeholder",
      "accounts[1] (page 222222222222222) access_token: is still the example's placeholder",
      "accounts[2] (instagram 17841400000000003) access_token: is still the example's placeholder",
    ]);
    const filled = text.replace(/"<[^>]*>"/g, () => `"EAAfilledInToken${Math.random().toString(36).slice(2)}0123456789"`);
    expect(parseAccounts(filled, 'accounts.json').map((a) => `${a.type} ${a.key}`)).toEqual(['page 111111111111111', 'page 222222222222222', 'instagram 17841400000000003']);
  });
});

describe('reading ACCOUNTS_FILE', () => {
  const io = (text: string | Error, mode: number | undefined = 0o600): AccountsFileIo => ({
    readText: () => {
      if (text instanceof Error) throw text;
      return text;
    },
    mode: () => mode,
  });
  const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
  const eisdir = Object.assign(new Error('EISDIR'), { code: 'EISDIR' });

  it.each([
    [enoent, 'there is no such file'],
    [eisdir, 'it is a directory'],
    [Object.assign(new Error('EACCES'), { code: 'EACCES' }), 'this user may not read it'],
  ])('names the path and why it cannot be read', (error, why) => {
    expect(() => readAccountsFile('/etc/shop/accounts.json', io(error))).toThrow(new ConfigError('ACCOUNTS_FILE', `"/etc/shop/accounts.json" cannot be used: ${why}`, 'set ACCOUNTS_FILE to the path of your accounts JSON file (copy accounts.example.json to accounts.json and fill it in)'));
  });

  it('warns (and only returns the warning) when other users may read the file', () => {
    const text = JSON.stringify({ accounts: [page()] });
    expect(readAccountsFile('accounts.json', io(text, 0o644)).warnings).toEqual(['ACCOUNTS_FILE accounts.json holds access tokens and other users may read it (mode 644): run chmod 600 accounts.json']);
    expect(readAccountsFile('accounts.json', io(text, 0o640)).warnings).toHaveLength(1);
    expect(readAccountsFile('accounts.json', io(text, 0o600)).warnings).toEqual([]);
    expect(readAccountsFile('accounts.json', io(text, undefined)).warnings).toEqual([]);
  });

  it('reads a real file and sees its real mode', () => {
    const open = accountsFile(ACCOUNTS, 0o644);
    expect(loadConfig(accountsEnv(open)).warnings).toEqual([`ACCOUNTS_FILE ${open} holds access tokens and other users may read it (mode 644): run chmod 600 ${open}`]);
    expect(loadConfig(accountsEnv(accountsFile(ACCOUNTS, 0o600))).warnings).toEqual([]);
  });
});

describe('loadConfig with ACCOUNTS_FILE', () => {
  it('is live mode with every account, the first being the default, and the first Page as the single-Page values', () => {
    const config = loadConfig(accountsEnv());
    expect(config.mode).toBe('live');
    expect(config.accounts.map((a) => a.key)).toEqual([PAGE_A, PAGE_B, IG_LOGIN]);
    expect(config).toMatchObject({ PAGE_ID: PAGE_A, PAGE_ACCESS_TOKEN: TOKENS.pageA, IG_ACCOUNT_ID: PAGE_A_IG, INSTAGRAM_API_URL: 'https://instagram.test', INSTAGRAM_APP_SECRET });
    expect(Object.isFrozen(config.accounts)).toBe(true);
    expect(Object.isFrozen(config.accounts[0])).toBe(true);
  });

  it('refuses ACCOUNTS_FILE with PAGE_ACCESS_TOKEN, naming both and saying which to keep', () => {
    const err = (() => {
      try {
        loadConfig({ ...accountsEnv(), PAGE_ACCESS_TOKEN: PAGE_TOKEN, PAGE_ID: '111' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.variable).toBe('ACCOUNTS_FILE');
    expect(err.message).toMatch(/^ACCOUNTS_FILE: and PAGE_ACCESS_TOKEN are both set/);
    expect(err.message).toContain('keep ACCOUNTS_FILE and move the Page into it');
    expect(err.message).toContain('or remove ACCOUNTS_FILE to run the one Page of PAGE_ACCESS_TOKEN');
    expect(err.message).not.toContain(PAGE_TOKEN);
  });

  it('warns that PAGE_ID and IG_ACCOUNT_ID are ignored beside it', () => {
    expect(loadConfig({ ...accountsEnv(), PAGE_ID: '999', IG_ACCOUNT_ID: '998' }).warnings).toEqual([
      'PAGE_ID is ignored: with ACCOUNTS_FILE the file lists the accounts. Remove PAGE_ID from .env',
      'IG_ACCOUNT_ID is ignored: with ACCOUNTS_FILE the file lists the accounts. Remove IG_ACCOUNT_ID from .env',
    ]);
  });

  it.each(['APP_SECRET', 'VERIFY_TOKEN'])('requires %s, as PAGE_ACCESS_TOKEN does', (name) => {
    expect(() => loadConfig({ ...accountsEnv(), [name]: '' })).toThrow(`${name}: is required when ACCOUNTS_FILE is set`);
  });

  it('stops start-up on a bad file, with the file error', () => {
    expect(() => loadConfig(accountsEnv(accountsFile({ accounts: [] })))).toThrow(AccountsFileError);
  });

  it('redacts every token and both app secrets, and verifies signatures with either secret', () => {
    const config = loadConfig(accountsEnv());
    const secrets = secretsOf(config);
    for (const secret of [APP_SECRET, INSTAGRAM_APP_SECRET, TOKENS.pageA, TOKENS.pageB, TOKENS.igLogin, config.VERIFY_TOKEN]) expect(secrets).toContain(secret);
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(signingSecrets(config)).toEqual([APP_SECRET, INSTAGRAM_APP_SECRET]);
  });
});

describe('the Instagram settings', () => {
  const LIVE = { PAGE_ACCESS_TOKEN: PAGE_TOKEN, APP_SECRET: 'live-app-secret-0123456789', VERIFY_TOKEN: 'live-verify-token-0123456789', PAGE_ID: '111' };

  it('default to graph.instagram.com and the app secret; the emulator points the Instagram API at itself', () => {
    const live = loadConfig(LIVE);
    expect(live).toMatchObject({ INSTAGRAM_API_URL: 'https://graph.instagram.com', INSTAGRAM_APP_SECRET: LIVE.APP_SECRET });
    expect(signingSecrets(live)).toEqual([LIVE.APP_SECRET]);
    expect(loadConfig({ PORT: '4321' }).INSTAGRAM_API_URL).toBe('http://127.0.0.1:4321/emulator/instagram');
    expect(loadConfig({ ...LIVE, INSTAGRAM_API_URL: 'http://127.0.0.1:9999/ig/' }).INSTAGRAM_API_URL).toBe('http://127.0.0.1:9999/ig');
  });

  it('refuses an INSTAGRAM_API_URL that is not an http(s) URL', () => {
    expect(() => loadConfig({ ...LIVE, INSTAGRAM_API_URL: 'graph.instagram.com' })).toThrow(/^INSTAGRAM_API_URL: "graph\.instagram\.com" is not a URL/);
  });

  it('make the single Page of PAGE_ID one page account, keyed by PAGE_ID', () => {
    expect(loadConfig({ ...LIVE, IG_ACCOUNT_ID: '17841400000000001' }).accounts).toEqual([
      { type: 'page', key: '111', page_id: '111', access_token: PAGE_TOKEN, instagram_account_id: '17841400000000001', name: undefined },
    ]);
  });
});
