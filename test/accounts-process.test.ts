// The app as it is deployed, with an ACCOUNTS_FILE of two Pages (the first with a linked Instagram
// account) and an Instagram Login account: a real child process (SQLite, handling on its worker
// thread), GRAPH_API_URL and INSTAGRAM_API_URL pointing at two mock servers that record every
// call. Signed batches go in; each reply comes out of the right server with the right token; a
// 190 on one account pauses that account only, and its replies wait for a restart with a new token.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenOrigin } from '../services/accounts/tokens.ts';
import { appSecretProof } from '../services/graph/client.ts';
import { createTranslations } from '../services/i18n.ts';
import { formsOf } from '../services/redact.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { createSqliteStore } from '../services/state/sqlite-store.ts';
import { ACCOUNTS, IG_LOGIN, PAGE_A, PAGE_A_IG, PAGE_B, TOKENS, accountsFile } from './support/accounts.ts';
import { recipientOf, startMockGraph, type GraphCall, type MockGraph } from './support/mock-graph-server.ts';
import { SPAWN_ENV, spawnApp, type SpawnedApp } from './support/spawn-app.ts';

const INSTAGRAM_SECRET = 'process-instagram-app-secret-0123456789';
const USERS = { ana: '24000000000000011', ben: '24000000000000012', cat: '24000000000000013', maya: '7650000000000011', noor: '7650000000000012' };

let dir: string;
let graph: MockGraph;
let instagram: MockGraph;
let app: SpawnedApp;

/** A deployment with this accounts file, on the SQLite file `db` in `dir` (the same file across a restart). */
function accountsApp(file: string, db = 'bot.db', env: Record<string, string> = {}): Promise<SpawnedApp> {
  return spawnApp({
    graphUrl: graph.url,
    cwd: dir,
    databasePath: join(dir, db),
    // The watchdog off: its subscription reads would be calls about no user (test/watchdog.test.ts covers them per account).
    env: { PAGE_ACCESS_TOKEN: '', PAGE_ID: '', ACCOUNTS_FILE: file, INSTAGRAM_API_URL: instagram.url, INSTAGRAM_APP_SECRET: INSTAGRAM_SECRET, LOG_LEVEL: 'info', WATCHDOG_INTERVAL: 'off', ...env },
    startTimeoutMs: 30_000,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accounts-process-'));
  [graph, instagram] = await Promise.all([startMockGraph(), startMockGraph()]);
  app = await accountsApp(accountsFile(ACCOUNTS));
}, 40_000);

afterAll(async () => {
  await app.kill('SIGTERM');
  await Promise.all([graph.close(), instagram.close()]);
  rmSync(dir, { recursive: true, force: true });
});

let clock = Date.now() - 60_000;
const message = (sender: string, recipient: string, text: string) => {
  clock += 1000;
  return { sender: { id: sender }, recipient: { id: recipient }, timestamp: clock, message: { mid: `m_${sender}_${clock}`, text } };
};
const entry = (id: string, item: Record<string, unknown>) => ({ id, time: clock, messaging: [item] });

async function postSignedWith(secret: string, body: unknown, to: SpawnedApp = app): Promise<number> {
  const raw = toMetaJson(body);
  const res = await fetch(`${to.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(secret, raw) }, body: raw });
  await res.arrayBuffer();
  return res.status;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, to: SpawnedApp = app): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out; graph: ${JSON.stringify(graph.calls.map((c) => [c.method, c.path, c.status]))}; instagram: ${JSON.stringify(instagram.calls.map((c) => [c.method, c.path, c.status]))}\n${to.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const textsTo = (mock: MockGraph, user: string) => mock.sends().filter((c) => recipientOf(c) === user && (c.body as { message?: unknown }).message !== undefined);
const callsAbout = (mock: MockGraph, user: string) => mock.calls.filter((c) => recipientOf(c) === user || c.path.endsWith(`/${user}`));

function expectCredentials(calls: readonly GraphCall[], token: string, secret: string) {
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call.authorization).toBe(`Bearer ${token}`);
    expect(call.query.appsecret_proof).toBe(appSecretProof(token, secret));
    expect(call.query.access_token).toBeUndefined();
  }
}

describe('a deployed bot with several accounts', () => {
  it('routes mixed batches by entry.id: each account answered with its own token through its own API, others never', async () => {
    expect((await app.health()).status).toBe(200);
    const pages = { object: 'page', entry: [entry(PAGE_A, message(USERS.ana, PAGE_A, 'hello')), entry(PAGE_B, message(USERS.ben, PAGE_B, 'hello')), entry('999999999999999', message(USERS.cat, '999999999999999', 'hello'))] };
    const linked = { object: 'instagram', entry: [entry(PAGE_A_IG, message(USERS.maya, PAGE_A_IG, 'hi')), entry('17841499999999999', message(USERS.cat, '17841499999999999', 'hi'))] };
    const login = { object: 'instagram', entry: [entry(IG_LOGIN, message(USERS.noor, IG_LOGIN, 'hi'))] };
    expect(await postSignedWith(SPAWN_ENV.APP_SECRET, pages)).toBe(200);
    expect(await postSignedWith(SPAWN_ENV.APP_SECRET, linked)).toBe(200);
    expect(await postSignedWith(INSTAGRAM_SECRET, login)).toBe(200);
    expect(await postSignedWith('a-secret-this-app-does-not-have', login)).toBe(403);

    await until(() => textsTo(graph, USERS.ana).length >= 2 && textsTo(graph, USERS.ben).length >= 2 && textsTo(graph, USERS.maya).length >= 2 && textsTo(instagram, USERS.noor).length >= 2);
    // Let anything that would wrongly follow arrive too.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expectCredentials(callsAbout(graph, USERS.ana), TOKENS.pageA, SPAWN_ENV.APP_SECRET);
    expectCredentials(callsAbout(graph, USERS.ben), TOKENS.pageB, SPAWN_ENV.APP_SECRET);
    expectCredentials(callsAbout(graph, USERS.maya), TOKENS.pageA, SPAWN_ENV.APP_SECRET);
    expectCredentials(callsAbout(instagram, USERS.noor), TOKENS.igLogin, INSTAGRAM_SECRET);
    // The first reply waits for nothing; the profile is looked up once, after it, on the same API.
    const noorCalls = callsAbout(instagram, USERS.noor).map((c) => `${c.method} ${c.path}`);
    expect(noorCalls[0]).toBe('POST /v24.0/me/messages');
    expect([...noorCalls].sort()).toEqual(['GET /v24.0/' + USERS.noor, ...Array<string>(noorCalls.length - 1).fill('POST /v24.0/me/messages')]);
    expect(callsAbout(graph, USERS.noor)).toEqual([]);
    expect(instagram.calls.filter((c) => recipientOf(c) !== USERS.noor && !c.path.endsWith(`/${USERS.noor}`))).toEqual([]);
    expect([...callsAbout(graph, USERS.cat), ...callsAbout(instagram, USERS.cat)]).toEqual([]);
    const output = app.output();
    for (const secret of [...Object.values(TOKENS), INSTAGRAM_SECRET, SPAWN_ENV.APP_SECRET]) expect(output).not.toContain(secret);
  }, 40_000);
});

describe('a 190 on one account while the others keep sending', () => {
  const FIXED = 'EAApageAfixedToken0123456789abcdef';
  // Users of their own: the counts below compare what each account's user got for the same words.
  const U = { ana: '24000000000000021', ben: '24000000000000022', maya: '7650000000000021', noor: '7650000000000022' };
  const rejected = `Bearer ${TOKENS.pageA}`;
  let paused: SpawnedApp | undefined;
  let restarted: SpawnedApp | undefined;

  afterAll(async () => {
    graph.setFault(undefined);
    await Promise.all([paused?.kill('SIGTERM'), restarted?.kill('SIGTERM')]);
  });

  const sendsWith = (token: string, user: string) => textsTo(graph, user).filter((c) => c.authorization === `Bearer ${token}`);
  const texts = (calls: readonly GraphCall[]) => calls.map((c) => (c.body as { message: { text?: string } }).message.text ?? '(attachment)');
  /** One round: the same words to each account, a Page and a linked Instagram entry for A. */
  async function round(to: SpawnedApp, words: string) {
    const pages = { object: 'page', entry: [entry(PAGE_A, message(U.ana, PAGE_A, words)), entry(PAGE_B, message(U.ben, PAGE_B, words))] };
    const linked = { object: 'instagram', entry: [entry(PAGE_A_IG, message(U.maya, PAGE_A_IG, words))] };
    const login = { object: 'instagram', entry: [entry(IG_LOGIN, message(U.noor, IG_LOGIN, words))] };
    expect(await postSignedWith(SPAWN_ENV.APP_SECRET, pages, to)).toBe(200);
    expect(await postSignedWith(SPAWN_ENV.APP_SECRET, linked, to)).toBe(200);
    expect(await postSignedWith(INSTAGRAM_SECRET, login, to)).toBe(200);
  }

  it("pauses that account only (named in /healthz), keeps its replies, and sends them with the new token after a restart", async () => {
    // Graph rejects Page A's token (the Page and its linked Instagram account), and only that one.
    graph.setFault((call) => (call.authorization === rejected ? { kind: 'graph', code: 190, status: 400 } : undefined));
    const file = accountsFile(ACCOUNTS);
    paused = await accountsApp(file, 'paused.db');
    const running = paused;
    const before = { graph: graph.calls.length, instagram: instagram.calls.length };
    const since = (mock: MockGraph, from: number) => mock.calls.slice(from);

    await round(running, 'hello');
    await until(async () => (await running.health()).body.paused_accounts?.includes(PAGE_A) === true && textsTo(graph, U.ben).length >= 1 && textsTo(instagram, U.noor).length >= 1, 20_000, running);
    const firstRound = { ben: textsTo(graph, U.ben).length, noor: textsTo(instagram, U.noor).length };
    const aSendsAtPause = since(graph, before.graph).filter((c) => c.authorization === rejected && c.path === '/v24.0/me/messages').length;

    // Once A is paused, the others still answer each new message; A's new replies wait with the rest.
    await round(running, 'menu');
    await until(() => textsTo(graph, U.ben).length > firstRound.ben && textsTo(instagram, U.noor).length > firstRound.noor, 20_000, running);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const calls = since(graph, before.graph);
    const aCalls = calls.filter((c) => c.authorization === rejected);
    // A's sends stopped at the first 190 of each lane already in flight (its Page and its Instagram user): no more.
    const aSends = aCalls.filter((c) => c.path === '/v24.0/me/messages');
    expect(aSends.length).toBe(aSendsAtPause);
    expect(aSends.length).toBeGreaterThanOrEqual(1);
    expect(aSends.length).toBeLessThanOrEqual(2);
    for (const c of aCalls) expect(c.status).toBe(400);
    // The others: every call answered, with their own token and proof, on their own host and path.
    const benCalls = calls.filter((c) => recipientOf(c) === U.ben || c.path.endsWith(`/${U.ben}`));
    expectCredentials(benCalls, TOKENS.pageB, SPAWN_ENV.APP_SECRET);
    expect(benCalls.filter((c) => c.method === 'POST').map((c) => [c.path, c.status])).toEqual(Array.from({ length: benCalls.filter((c) => c.method === 'POST').length }, () => ['/v24.0/me/messages', 200]));
    const noorCalls = since(instagram, before.instagram).filter((c) => recipientOf(c) === U.noor || c.path.endsWith(`/${U.noor}`));
    expectCredentials(noorCalls, TOKENS.igLogin, INSTAGRAM_SECRET);
    expect(noorCalls.filter((c) => c.method === 'POST').every((c) => c.path === '/v24.0/me/messages' && c.status === 200)).toBe(true);
    expect(calls.filter((c) => recipientOf(c) === U.noor)).toEqual([]);

    const health = await running.health();
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'degraded', token: 'invalid', paused_accounts: [PAGE_A], backlog: { failed: 0 } });
    expect(health.body.reason).toContain(`Graph rejected the token of account ${PAGE_A} (code 190)`);
    expect(health.body.reason).toContain(`the access_token of account ${PAGE_A} in ${file}`);
    // Kept, not lost: A's replies of both rounds wait in the outbox.
    expect(health.body.backlog?.outbox).toBeGreaterThan(0);
    expect(running.output()).toContain(`ACCESS_TOKEN_INVALID: Graph rejected the token of account ${PAGE_A} (code 190)`);
    await running.kill('SIGTERM');

    // The operator puts a new token for A in the accounts file and restarts on the same database.
    const fixed = accountsFile({ accounts: ACCOUNTS.accounts.map((a) => (a.type === 'page' && a.page_id === PAGE_A ? { ...a, access_token: FIXED } : a)) });
    const atRestart = { graph: graph.calls.length, instagram: instagram.calls.length };
    restarted = await accountsApp(fixed, 'paused.db');
    const second = restarted;
    await until(async () => {
      const h = await second.health();
      return h.status === 200 && h.body.backlog?.outbox === 0;
    }, 20_000, second);

    const after = since(graph, atRestart.graph);
    // Only A's kept replies went out, each with the new token and its proof, to the Send API.
    expect(after.every((c) => recipientOf(c) === U.ana || recipientOf(c) === U.maya)).toBe(true);
    expectCredentials(after, FIXED, SPAWN_ENV.APP_SECRET);
    expect(after.every((c) => c.method === 'POST' && c.path === '/v24.0/me/messages' && c.status === 200)).toBe(true);
    expect(since(instagram, atRestart.instagram)).toEqual([]);
    // Both rounds, as many messages as Page B's user and the Instagram Login user got for the same words.
    expect(sendsWith(FIXED, U.ana).length).toBe(textsTo(graph, U.ben).length);
    expect(sendsWith(FIXED, U.maya).length).toBe(textsTo(instagram, U.noor).length);
    // The same replies (a new user is greeted without a name on every account: no reply waits for a profile).
    const t = createTranslations().fixedT('en_US');
    expect(texts(textsTo(graph, U.ben))).toContain(t('welcome.anonymous'));
    expect(texts(sendsWith(FIXED, U.ana))).toEqual(texts(textsTo(graph, U.ben)));
    const healthy = await second.health();
    expect(healthy.body.paused_accounts).toBeUndefined();
    expect(healthy.body.backlog).toMatchObject({ outbox: 0, failed: 0 });
    for (const out of [running.output(), second.output()]) for (const secret of [...Object.values(TOKENS), FIXED, INSTAGRAM_SECRET, SPAWN_ENV.APP_SECRET]) expect(out).not.toContain(secret);
  }, 90_000);
});

describe('a token refreshed on the bot worker', () => {
  const REFRESHED = 'refreshed"on/the-worker-0123456789abcdef';
  const DASHBOARD_TOKEN = 'process-dashboard-token-0123456789';
  const NOOR = '7650000000000031';
  let refreshing: SpawnedApp | undefined;

  afterAll(async () => {
    instagram.setFault(undefined);
    await refreshing?.kill('SIGTERM');
  });

  it('is used from then on, and never shown: not on the dashboard (whose thread never learns it), not in the log', async () => {
    // The configured token was recorded two days ago: the worker refreshes it as it starts.
    const seeded = createSqliteStore(join(dir, 'refreshed.db'));
    await seeded.putToken(IG_LOGIN, { token: TOKENS.igLogin, refreshed_at: Date.now() - 2 * 24 * 60 * 60 * 1000, expires_at: 0, origin: tokenOrigin(TOKENS.igLogin) });
    await seeded.close();
    const from = instagram.calls.length;
    let echoed = false;
    instagram.setFault((call) => {
      if (call.path === '/v24.0/refresh_access_token') return { kind: 'status', status: 200, body: { access_token: REFRESHED, token_type: 'bearer', expires_in: 5_184_000 } };
      // Graph echoes the token it was given in an error (to the first reply; its apology goes through):
      // the dashboard records Graph's answers as they come.
      if (recipientOf(call) === NOOR && (call.body as { message?: unknown }).message !== undefined && !echoed) {
        echoed = true;
        return { kind: 'status', status: 400, body: { error: { message: `(#100) token ${REFRESHED} is odd`, code: 100, error_data: JSON.stringify({ access_token: REFRESHED }), fbtrace_id: 'Echo4' } } };
      }
      return undefined;
    });
    refreshing = await accountsApp(accountsFile(ACCOUNTS), 'refreshed.db', { DASHBOARD_TOKEN });
    const running = refreshing;
    // Until the worker has stored and adopted the new token (it logs that), not merely until the
    // mock answered: a message handled in between goes out, rightly, with the token still current.
    await until(() => instagram.calls.slice(from).some((c) => c.path === '/v24.0/refresh_access_token' && c.status === 200) && running.output().includes('Instagram token refreshed'), 20_000, running);
    const refresh = instagram.calls.slice(from).filter((c) => c.path === '/v24.0/refresh_access_token');
    expect(refresh.map((c) => c.query)).toEqual([{ grant_type: 'ig_refresh_token', access_token: TOKENS.igLogin }]);

    expect(await postSignedWith(INSTAGRAM_SECRET, { object: 'instagram', entry: [entry(IG_LOGIN, message(NOOR, IG_LOGIN, 'hi'))] }, running)).toBe(200);
    await until(() => textsTo(instagram, NOOR).length >= 1, 20_000, running);
    expectCredentials(callsAbout(instagram, NOOR), REFRESHED, INSTAGRAM_SECRET);

    let records = '';
    await until(async () => {
      const res = await fetch(`${running.url}/dashboard/api/records`, { headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
      records = await res.text();
      return res.status === 200 && records.includes('Echo4');
    }, 10_000, running);
    expect(records).toContain('[REDACTED] is odd');
    expect(records).not.toContain('refresh_access_token');
    for (const form of formsOf(REFRESHED)) {
      expect(records).not.toContain(form);
      expect(running.output()).not.toContain(form);
    }
  }, 60_000);
});
