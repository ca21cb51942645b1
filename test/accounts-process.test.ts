// The app as it is deployed, with an ACCOUNTS_FILE of two Pages (the first with a linked Instagram
// account) and an Instagram Login account: a real child process (SQLite, handling on its worker
// thread), GRAPH_API_URL and INSTAGRAM_API_URL pointing at two mock servers that record every
// call. Signed batches go in; each reply comes out of the right server with the right token.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appSecretProof } from '../services/graph/client.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { ACCOUNTS, IG_LOGIN, PAGE_A, PAGE_A_IG, PAGE_B, TOKENS, accountsFile } from './support/accounts.ts';
import { recipientOf, startMockGraph, type GraphCall, type MockGraph } from './support/mock-graph-server.ts';
import { SPAWN_ENV, spawnApp, type SpawnedApp } from './support/spawn-app.ts';

const INSTAGRAM_SECRET = 'process-instagram-app-secret-0123456789';
const USERS = { ana: '24000000000000011', ben: '24000000000000012', cat: '24000000000000013', maya: '7650000000000011', noor: '7650000000000012' };

let dir: string;
let graph: MockGraph;
let instagram: MockGraph;
let app: SpawnedApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accounts-process-'));
  [graph, instagram] = await Promise.all([startMockGraph(), startMockGraph()]);
  app = await spawnApp({
    graphUrl: graph.url,
    cwd: dir,
    databasePath: join(dir, 'bot.db'),
    // The watchdog off: its subscription reads would be calls about no user (test/watchdog.test.ts covers them per account).
    env: { PAGE_ACCESS_TOKEN: '', PAGE_ID: '', ACCOUNTS_FILE: accountsFile(ACCOUNTS), INSTAGRAM_API_URL: instagram.url, INSTAGRAM_APP_SECRET: INSTAGRAM_SECRET, LOG_LEVEL: 'info', WATCHDOG_INTERVAL: 'off' },
    startTimeoutMs: 30_000,
  });
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

async function postSignedWith(secret: string, body: unknown): Promise<number> {
  const raw = toMetaJson(body);
  const res = await fetch(`${app.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(secret, raw) }, body: raw });
  await res.arrayBuffer();
  return res.status;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; graph: ${JSON.stringify(graph.calls.map((c) => [c.method, c.path]))}; instagram: ${JSON.stringify(instagram.calls.map((c) => [c.method, c.path]))}\n${app.output()}`);
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
    expect(callsAbout(instagram, USERS.noor).map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v24.0/' + USERS.noor, ...Array<string>(callsAbout(instagram, USERS.noor).length - 1).fill('POST /v24.0/me/messages')]);
    expect(callsAbout(graph, USERS.noor)).toEqual([]);
    expect(instagram.calls.filter((c) => recipientOf(c) !== USERS.noor && !c.path.endsWith(`/${USERS.noor}`))).toEqual([]);
    expect([...callsAbout(graph, USERS.cat), ...callsAbout(instagram, USERS.cat)]).toEqual([]);
    const output = app.output();
    for (const secret of [...Object.values(TOKENS), INSTAGRAM_SECRET, SPAWN_ENV.APP_SECRET]) expect(output).not.toContain(secret);
  }, 40_000);
});
