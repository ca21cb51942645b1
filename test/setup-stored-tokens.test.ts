// `npm run setup` checks the Instagram Login token the bot sends with: the one it refreshed and
// kept in its store (DATABASE_URL), not the older one in ACCOUNTS_FILE, so `doctor` shows the real
// days left. A real SQLite store written the way the bot writes it, the Instagram API faked with
// nock (the exact requests), and the real script as a child process; when the store cannot be
// read, the file's token with a note, never a crash.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import type { SetupDeps } from '../scripts/setup/context.ts';
import { doctor } from '../scripts/setup/doctor.ts';
import { INSTAGRAM_FIELDS } from '../scripts/setup/fields.ts';
import { createStreamOutput } from '../scripts/setup/output.ts';
import { desiredInstagramProfile } from '../scripts/setup/profile-model.ts';
import { setupTokens, type ReadableTokenStore } from '../scripts/setup/stored-tokens.ts';
import { tokenOrigin, type StoredToken } from '../services/accounts/tokens.ts';
import { commentTriggers } from '../services/comments/triggers.ts';
import { loadConfig, secretsOf } from '../services/config.ts';
import { appSecretProof, graphClientFor } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { createSecretSet, formsOf } from '../services/redact.ts';
import { createSqliteStore } from '../services/state/sqlite-store.ts';
import { ACCOUNTS, APP_SECRET, GRAPH, IG_LOGIN, INSTAGRAM, INSTAGRAM_APP_SECRET, TOKENS, VERSION as V, accountsEnv, accountsFile } from './support/accounts.ts';
import { startMockGraph, type GraphCall, type MockGraph } from './support/mock-graph-server.ts';
import { runScript, type ScriptRun } from './support/run-script.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-11-23T10:00:00Z');
const APP = '333333333333333';
const APP_URL = 'https://bot.example.test';
const CHALLENGE = '4815162342';
const REFRESHED = 'IGAArefreshedByTheBot0123456789abcdef';
const translations = createTranslations();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'setup-stored-tokens-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What the bot's refresher keeps after refreshing the configured token 10 days ago: 50 days left. */
const refreshedByTheBot = (now = NOW): StoredToken => ({ token: REFRESHED, refreshed_at: now - 10 * DAY, expires_at: now + 50 * DAY, origin: tokenOrigin(TOKENS.igLogin) });

/** A SQLite database as the bot leaves it, with this token stored for the Instagram Login account. */
async function botDatabase(name: string, stored: StoredToken): Promise<string> {
  const path = join(dir, name);
  const store = createSqliteStore(path);
  await store.putToken(IG_LOGIN, stored);
  await store.close();
  return path;
}

function configWith(databaseUrl: string) {
  return loadConfig(accountsEnv(undefined, { DATABASE_URL: databaseUrl }));
}

/** The Instagram API's debug_token: the file's token has 3 days left, the refreshed one 50. */
function instagramApi() {
  const calls: { path: string; query: Record<string, string>; authorization: string | undefined }[] = [];
  const record = (path: string, answer: (query: Record<string, string>) => unknown) =>
    nock(INSTAGRAM)
      .get(path)
      .query(true)
      .reply(function (uri) {
        const query = Object.fromEntries(new URL(uri, INSTAGRAM).searchParams);
        calls.push({ path, query, authorization: (this.req.headers as Record<string, string | undefined>).authorization });
        return [200, answer(query) as nock.ReplyBody];
      });
  const expiresIn = (token: string | undefined) => Math.floor(NOW / 1000) + (token === REFRESHED ? 50 : 3) * 86400;
  record(`/${V}/me`, () => ({ user_id: IG_LOGIN, username: 'matcha.corner', account_type: 'BUSINESS' }));
  record(`/${V}/debug_token`, (q) => ({ data: { type: 'USER', is_valid: true, user_id: IG_LOGIN, expires_at: expiresIn(q.input_token), scopes: ['instagram_business_basic', 'instagram_business_manage_messages'] } }));
  record(`/${V}/${IG_LOGIN}/subscribed_apps`, () => ({ data: [{ subscribed_fields: [...INSTAGRAM_FIELDS] }] }));
  record(`/${V}/me/messenger_profile`, () => ({ data: desiredInstagramProfile(translations).ice_breakers }));
  nock(GRAPH)
    .get(`/${V}/${APP}/subscriptions`)
    .query(true)
    .reply(200, { data: [{ object: 'instagram', callback_url: `${APP_URL}/webhook`, active: true, fields: INSTAGRAM_FIELDS.map((name) => ({ name, version: V })) }] });
  nock(APP_URL).get('/webhook').query(true).reply(200, CHALLENGE);
  return calls;
}

/** doctor --account of the Instagram Login account, its output through the script's redacting output. */
async function doctorOf(config: ReturnType<typeof configWith>, tokens: SetupDeps['tokens']) {
  const written: string[] = [];
  const secrets = createSecretSet(secretsOf(config));
  const out = createStreamOutput({ isTTY: false, write: (chunk: string) => written.push(chunk) }, secrets);
  const deps: SetupDeps = { config, graph: graphClientFor(config), comments: commentTriggers([]), out, translations, challenge: () => CHALLENGE, now: () => NOW, ...(tokens ? { tokens } : {}) };
  const code = await doctor(deps, { account: IG_LOGIN });
  return { code, text: written.join('') };
}

describe('doctor with the token the bot refreshed', () => {
  it('checks the stored token (the requests carry it) and shows its real days left; the file’s token would show 3', async () => {
    const config = configWith(`sqlite:${await botDatabase('refreshed.db', refreshedByTheBot())}`);
    const secrets = createSecretSet(secretsOf(config));
    const { tokens, notes } = await setupTokens({ config, secrets });
    expect(tokens.current(IG_LOGIN)).toBe(REFRESHED);
    expect(notes).toEqual([`instagram ${IG_LOGIN} (Matcha Corner): the token the bot refreshed on 2026-11-13 (kept in ${join(dir, 'refreshed.db')}) is used, not the older one in ACCOUNTS_FILE`]);
    // The stored token is a secret of this run from now on.
    expect(secrets.values()).toContain(REFRESHED);

    const calls = instagramApi();
    const checked = await doctorOf(config, tokens);
    expect(checked.code).toBe(0);
    expect(checked.text).toMatch(/✔\s+Expiry\s+expires 2027-01-12 \(in 50 days; the bot refreshes it\)/);
    expect(calls.map((c) => c.path)).toEqual([`/${V}/me`, `/${V}/debug_token`, `/${V}/${IG_LOGIN}/subscribed_apps`, `/${V}/me/messenger_profile`]);
    for (const call of calls) {
      expect(call.authorization).toBe(`Bearer ${REFRESHED}`);
      expect(call.query.appsecret_proof).toBe(appSecretProof(REFRESHED, INSTAGRAM_APP_SECRET));
      expect(call.query.access_token).toBeUndefined();
    }
    expect(calls[1]?.query.input_token).toBe(REFRESHED);
    for (const form of [...formsOf(REFRESHED), TOKENS.igLogin, APP_SECRET]) expect(checked.text).not.toContain(form);

    // What doctor said before: the file's token, 3 days left, a warning that the bot is not running.
    instagramApi();
    const stale = await doctorOf(config, undefined);
    expect(stale.text).toMatch(/!\s+Expiry\s+expires 2026-11-26, in 3 days: the bot refreshes it while it runs; is it running\?/);
  });

  it('when Meta does not describe the token, shows the expiry the bot stored with it', async () => {
    const config = configWith(`sqlite:${await botDatabase('undescribed.db', refreshedByTheBot())}`);
    const { tokens } = await setupTokens({ config, secrets: createSecretSet(secretsOf(config)) });
    nock(INSTAGRAM).get(`/${V}/me`).query(true).reply(200, { user_id: IG_LOGIN, username: 'matcha.corner' });
    nock(INSTAGRAM).get(`/${V}/debug_token`).query(true).reply(400, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'X' } });
    nock(INSTAGRAM).get(/.*/).query(true).times(2).reply(400, { error: { message: 'down', code: 1 } });
    nock(GRAPH).get(/.*/).query(true).reply(400, { error: { message: 'down', code: 1 } });
    nock(APP_URL).get('/webhook').query(true).reply(200, CHALLENGE);
    const { text } = await doctorOf(config, tokens);
    expect(text).toMatch(/✔\s+Expiry\s+expires 2027-01-12 \(in 50 days; the bot refreshes it\)/);
  });
});

describe('the tokens of the accounts file, with a note', () => {
  it('a token in the file newer than the stored one (someone generated it): the file’s, as the bot does', async () => {
    const config = configWith(`sqlite:${await botDatabase('replaced.db', { ...refreshedByTheBot(), origin: tokenOrigin('IGAAanEarlierConfiguredToken0123456789') })}`);
    const { tokens, notes } = await setupTokens({ config, secrets: createSecretSet(secretsOf(config)) });
    expect(tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(notes).toEqual([`instagram ${IG_LOGIN} (Matcha Corner): the token in ACCOUNTS_FILE replaced the one the bot refreshed; it is the one checked (and the bot's from its next start)`]);
  });

  it('no database yet: nothing is created', async () => {
    const path = join(dir, 'nothing-here', 'bot.db');
    const { tokens, notes } = await setupTokens({ config: configWith(`sqlite:${path}`), secrets: createSecretSet() });
    expect(tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(notes).toEqual([`no database at ${path} yet (has the bot run here?): the access_token in ACCOUNTS_FILE is used`]);
    expect(existsSync(join(dir, 'nothing-here'))).toBe(false);
  });

  it('a token recorded but not refreshed yet is the file’s own: no note', async () => {
    const config = configWith(`sqlite:${await botDatabase('recorded.db', { token: TOKENS.igLogin, refreshed_at: NOW, expires_at: 0, origin: tokenOrigin(TOKENS.igLogin) })}`);
    const { tokens, notes } = await setupTokens({ config, secrets: createSecretSet() });
    expect(tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(notes).toEqual([]);
  });

  it('memory: says the bot keeps no refreshed token; Pages only: no store is opened at all', async () => {
    expect((await setupTokens({ config: configWith('memory:'), secrets: createSecretSet() })).notes).toEqual(['DATABASE_URL is memory:, where the bot keeps no refreshed Instagram token: the access_token in ACCOUNTS_FILE is used']);
    const pagesOnly = loadConfig(accountsEnv(accountsFile({ accounts: ACCOUNTS.accounts.filter((a) => a.type === 'page') }), { DATABASE_URL: 'sqlite:/nonexistent/bot.db' }));
    const open = () => Promise.reject(new Error('must not be opened'));
    expect(await setupTokens({ config: pagesOnly, secrets: createSecretSet(), open })).toMatchObject({ notes: [] });
  });

  it.each([
    ['a file that is not a database', () => `sqlite:${writeGarbage('garbage.db')}`, /could not read the refreshed Instagram tokens from .*garbage\.db \(file is not a database\): the access_token in ACCOUNTS_FILE is used, and it may be older than the one the bot uses/],
    [
      'a PostgreSQL server that refuses the connection',
      () => 'postgres://setup:pg-password-0123456789@127.0.0.1:9/shop',
      /could not read the refreshed Instagram tokens from postgres:\/\/setup@127\.0\.0\.1:9\/shop \(could not open the PostgreSQL database .*\): the access_token in ACCOUNTS_FILE is used/,
    ],
  ])('%s: never a crash, never the password', async (_name, url, note) => {
    const config = configWith(url());
    const { tokens, notes } = await setupTokens({ config, secrets: createSecretSet(secretsOf(config)) });
    expect(tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(note);
    expect(notes[0]).not.toContain('pg-password-0123456789');
  });

  it('a store that does not answer in time, or fails while read: the file’s token; a late store is closed', async () => {
    const config = configWith(`sqlite:${await botDatabase('slow.db', refreshedByTheBot())}`);
    let closed = 0;
    let answer: (store: ReadableTokenStore) => void = () => undefined;
    const slow = () => new Promise<ReadableTokenStore>((resolve) => (answer = resolve));
    const late = await setupTokens({ config, secrets: createSecretSet(), open: slow, timeoutMs: 20 });
    expect(late.tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(late.notes[0]).toMatch(/\(no answer within 0 s\): the access_token in ACCOUNTS_FILE is used/);
    answer({ getToken: () => Promise.resolve(undefined), close: () => Promise.resolve(void (closed += 1)) });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(1);

    const failing = () => Promise.resolve<ReadableTokenStore>({ getToken: () => Promise.reject(new Error(`SQLITE_BUSY near ${REFRESHED}`)), close: () => Promise.resolve(void (closed += 1)) });
    const secrets = createSecretSet([REFRESHED]);
    const failed = await setupTokens({ config, secrets, open: failing });
    expect(failed.tokens.current(IG_LOGIN)).toBe(TOKENS.igLogin);
    expect(failed.notes).toEqual([`could not read the refreshed Instagram tokens from ${join(dir, 'slow.db')} (SQLITE_BUSY near [REDACTED]): the access_token in ACCOUNTS_FILE is used, and it may be older than the one the bot uses`]);
    expect(closed).toBe(2);
  });
});

function writeGarbage(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, 'this is not a SQLite database, and it is long enough to have a header\n'.repeat(20));
  return path;
}

// ---- the real script -------------------------------------------------------------------------


function runSetup(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return runScript('scripts/setup.ts', args, { cwd: dir, env });
}

describe('npm run setup -- doctor (child process, mock Graph and Instagram APIs)', () => {
  let graph: MockGraph;
  let instagram: MockGraph;
  beforeAll(async () => {
    [graph, instagram] = await Promise.all([startMockGraph(), startMockGraph()]);
  });
  afterAll(async () => {
    await Promise.all([graph.close(), instagram.close()]);
  });

  it('opens DATABASE_URL as the bot does and checks the refreshed token: its requests, its days left, never shown', async () => {
    const now = Date.now();
    // An hour to spare: the script runs a moment after `now`.
    const stored = { ...refreshedByTheBot(now), expires_at: now + 50 * DAY + 60 * 60 * 1000 };
    const path = await botDatabase('script.db', stored);
    const answer = (call: GraphCall) => {
      if (call.path === `/${V}/me`) return { user_id: IG_LOGIN, username: 'matcha.corner', account_type: 'BUSINESS' };
      if (call.path === `/${V}/debug_token`) return { data: { type: 'USER', is_valid: true, expires_at: Math.floor((call.query.input_token === REFRESHED ? stored.expires_at : now + 3 * DAY) / 1000), scopes: ['instagram_business_basic', 'instagram_business_manage_messages'] } };
      return { data: [] };
    };
    instagram.setFault((call) => ({ kind: 'status', status: 200, body: answer(call) }));
    graph.setFault(() => ({ kind: 'status', status: 200, body: { data: [] } }));
    const env = { ...accountsEnv(undefined, { DATABASE_URL: `sqlite:${path}`, GRAPH_API_URL: graph.url, INSTAGRAM_API_URL: instagram.url, APP_URL: graph.url }) };
    const { stdout, stderr } = await runSetup(['doctor', '--account', IG_LOGIN], env);

    expect(stderr).toContain(`note: instagram ${IG_LOGIN} (Matcha Corner): the token the bot refreshed on ${new Date(now - 10 * DAY).toISOString().slice(0, 10)}`);
    expect(stdout).toMatch(/✔\s+Expiry\s+expires \d{4}-\d\d-\d\d \(in 50 days; the bot refreshes it\)/);
    expect(instagram.calls.length).toBeGreaterThanOrEqual(4);
    for (const call of instagram.calls) {
      expect(call.authorization).toBe(`Bearer ${REFRESHED}`);
      expect(call.query.appsecret_proof).toBe(appSecretProof(REFRESHED, INSTAGRAM_APP_SECRET));
    }
    expect(instagram.calls.find((c) => c.path === `/${V}/debug_token`)?.query.input_token).toBe(REFRESHED);
    for (const text of [stdout, stderr]) for (const secret of [REFRESHED, TOKENS.igLogin, APP_SECRET, INSTAGRAM_APP_SECRET]) expect(text).not.toContain(secret);
    // Read only: the stored token is as the bot left it.
    const store = createSqliteStore(path);
    expect(await store.getToken(IG_LOGIN)).toEqual(stored);
    await store.close();
  }, 30_000);
});
