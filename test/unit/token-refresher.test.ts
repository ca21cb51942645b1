// Instagram Login tokens kept alive with a fake clock: refreshed once when due (never twice by
// overlapping checks), stored before use, taken up from the store by another instance, set aside
// when the accounts file gets a new token, retried after a failure, never logged. And the refresh
// call itself: Meta's documented request, no token in its error or anywhere it is recorded.
import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import type { Account } from '../../services/accounts/types.ts';
import { createAccountTokens, createMemoryTokenStore, tokenOrigin, type StoredToken } from '../../services/accounts/tokens.ts';
import { createTokenRefresher, type TokenRefresherDeps } from '../../services/accounts/token-refresher.ts';
import { GraphApiError } from '../../services/errors.ts';
import { createRefreshCall, type RefreshCall } from '../../services/graph/instagram-token.ts';
import { createLogger } from '../../services/logger.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const START = Date.parse('2025-05-01T00:00:00Z');
const IG = '17841400000000003';
const CONFIGURED = 'IGAAconfiguredToken0123456789';
const ACCOUNTS: Account[] = [
  { type: 'page', key: '111', page_id: '111', access_token: 'EAApageToken0123456789abcdef', instagram_account_id: undefined, name: undefined },
  { type: 'instagram', key: IG, instagram_account_id: IG, access_token: CONFIGURED, name: undefined },
];

function setup(options: { refresh?: RefreshCall; accounts?: Account[] } = {}) {
  let now = START;
  const calls: string[] = [];
  let n = 0;
  const refresh: RefreshCall =
    options.refresh ??
    ((token) => {
      calls.push(token);
      n += 1;
      return Promise.resolve({ access_token: `IGAArefreshed${n}Token0123456789`, expires_in: 60 * DAY / 1000 });
    });
  const accounts = options.accounts ?? ACCOUNTS;
  const tokens = createAccountTokens(accounts);
  const store = createMemoryTokenStore();
  const lines: string[] = [];
  const deps: TokenRefresherDeps = { accounts, tokens, store, refresh, now: () => now, log: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
  return {
    refresher: createTokenRefresher(deps),
    deps,
    tokens,
    store,
    calls,
    lines,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('the token refresher', () => {
  it('records a configured token at first sight, refreshes it once it is known for a day, stores and uses the new one, then waits a week', async () => {
    const t = setup();
    await t.refresher.check();
    expect(t.calls).toEqual([]);
    expect(await t.store.getToken(IG)).toEqual({ token: CONFIGURED, refreshed_at: START, expires_at: 0, origin: tokenOrigin(CONFIGURED) });
    expect(t.refresher.status()).toEqual([{ account: IG, expires_at: undefined, refreshed_at: undefined, days_left: undefined }]);
    t.advance(23 * HOUR);
    await t.refresher.check();
    expect(t.calls).toEqual([]);

    t.advance(HOUR);
    await t.refresher.check();
    const refreshedAt = START + DAY;
    expect(t.calls).toEqual([CONFIGURED]);
    expect(await t.store.getToken(IG)).toEqual({ token: 'IGAArefreshed1Token0123456789', refreshed_at: refreshedAt, expires_at: refreshedAt + 60 * DAY, origin: tokenOrigin(CONFIGURED) });
    expect(t.tokens.current(IG)).toBe('IGAArefreshed1Token0123456789');
    expect(t.refresher.status()).toEqual([{ account: IG, expires_at: refreshedAt + 60 * DAY, refreshed_at: refreshedAt, days_left: 60 }]);

    for (const step of [HOUR, DAY, 5 * DAY]) {
      t.advance(step);
      await t.refresher.check();
    }
    expect(t.calls).toHaveLength(1);
    t.advance(DAY);
    await t.refresher.check();
    // The second refresh starts from the refreshed token, not the configured one.
    expect(t.calls).toEqual([CONFIGURED, 'IGAArefreshed1Token0123456789']);
    expect(t.tokens.current(IG)).toBe('IGAArefreshed2Token0123456789');
    expect(t.store.size).toBe(1);
  });

  it('counts the first day across restarts: a new refresher finds the record and refreshes on time', async () => {
    const t = setup();
    await t.refresher.check();
    t.advance(DAY + HOUR);
    const restarted = createTokenRefresher({ ...t.deps, tokens: createAccountTokens(ACCOUNTS) });
    await restarted.check();
    expect(t.calls).toEqual([CONFIGURED]);
  });

  it('never touches a Page token', async () => {
    const t = setup();
    await t.refresher.check();
    expect(t.tokens.current('111')).toBe('EAApageToken0123456789abcdef');
    expect(await t.store.getToken('111')).toBeUndefined();
  });

  it('refreshes once when checks overlap', async () => {
    const t = setup();
    await t.store.putToken(IG, { token: CONFIGURED, refreshed_at: START - 2 * DAY, expires_at: 0, origin: tokenOrigin(CONFIGURED) });
    await Promise.all([t.refresher.check(), t.refresher.check(), t.refresher.check()]);
    expect(t.calls).toHaveLength(1);
  });

  it('takes up a token another instance refreshed, without refreshing it again', async () => {
    const t = setup();
    const other: StoredToken = { token: 'IGAAfromAnotherInstance0123456789', refreshed_at: START - DAY, expires_at: START + 59 * DAY, origin: tokenOrigin(CONFIGURED) };
    await t.store.putToken(IG, other);
    await t.refresher.check();
    expect(t.calls).toEqual([]);
    expect(t.tokens.current(IG)).toBe(other.token);
  });

  it('refreshes early when fewer than 10 days are left, but never a token younger than a day', async () => {
    const t = setup();
    await t.store.putToken(IG, { token: 'IGAAyoungButShort0123456789', refreshed_at: START - HOUR, expires_at: START + 5 * DAY, origin: tokenOrigin(CONFIGURED) });
    await t.refresher.check();
    expect(t.calls).toEqual([]);
    t.advance(DAY);
    await t.refresher.check();
    expect(t.calls).toEqual(['IGAAyoungButShort0123456789']);
  });

  it('sets a stored chain aside when the accounts file has a new token, and starts again from the new one', async () => {
    const t = setup();
    await t.store.putToken(IG, { token: 'IGAAfromTheOldToken0123456789', refreshed_at: START - 2 * DAY, expires_at: START + 58 * DAY, origin: tokenOrigin('IGAAanOlderConfiguredToken0123') });
    await t.refresher.check();
    expect(t.tokens.current(IG)).toBe(CONFIGURED);
    expect(await t.store.getToken(IG)).toMatchObject({ token: CONFIGURED, origin: tokenOrigin(CONFIGURED) });
    expect(t.lines.join('\n')).toContain('the configured Instagram token changed');
    t.advance(DAY);
    await t.refresher.check();
    expect(t.calls).toEqual([CONFIGURED]);
  });

  it('logs an expired token once, as an error that says what to do, and does not try to refresh it', async () => {
    const t = setup();
    await t.store.putToken(IG, { token: 'IGAAexpiredToken0123456789', refreshed_at: START - 61 * DAY, expires_at: START - DAY, origin: tokenOrigin(CONFIGURED) });
    await t.refresher.check();
    await t.refresher.check();
    expect(t.calls).toEqual([]);
    const errors = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
    expect(errors).toEqual([expect.objectContaining({ msg: expect.stringMatching(/^INSTAGRAM_TOKEN_EXPIRED: .*generate a new one and put it in ACCOUNTS_FILE$/) as unknown, account: IG })]);
  });

  it('after a failure, logs it without the token and tries again an hour later, not before', async () => {
    let fail = true;
    const calls: string[] = [];
    const t = setup({
      refresh: (token) => {
        calls.push(token);
        if (fail) return Promise.reject(new GraphApiError({ status: 400, code: 190, error_subcode: undefined, type: 'OAuthException', fbtrace_id: 'T', endpoint: 'GET /v24.0/refresh_access_token', graphMessage: 'Session has expired' }));
        return Promise.resolve({ access_token: 'IGAAafterFailure0123456789', expires_in: 5_184_000 });
      },
    });
    await t.store.putToken(IG, { token: CONFIGURED, refreshed_at: START - 2 * DAY, expires_at: 0, origin: tokenOrigin(CONFIGURED) });
    await t.refresher.check();
    t.advance(30 * 60 * 1000);
    await t.refresher.check();
    expect(calls).toHaveLength(1);
    fail = false;
    t.advance(31 * 60 * 1000);
    await t.refresher.check();
    expect(calls).toHaveLength(2);
    expect(t.tokens.current(IG)).toBe('IGAAafterFailure0123456789');
    const text = t.lines.join('\n');
    expect(text).toContain('Instagram token not refreshed');
    expect(text).not.toContain(CONFIGURED);
    expect(text).not.toContain('IGAAafterFailure0123456789');
  });

  it('keeps checking the other accounts when the store fails for one', async () => {
    const second: Account = { type: 'instagram', key: '17841400000000004', instagram_account_id: '17841400000000004', access_token: 'IGAAsecondAccount0123456789', name: undefined };
    const t = setup({ accounts: [...ACCOUNTS, second] });
    await t.store.putToken(second.key, { token: second.access_token, refreshed_at: START - 2 * DAY, expires_at: 0, origin: tokenOrigin(second.access_token) });
    const get = t.store.getToken.bind(t.store);
    t.deps.store.getToken = (account) => (account === IG ? Promise.reject(new Error('disk full')) : get(account));
    await t.refresher.check();
    expect(t.calls).toEqual(['IGAAsecondAccount0123456789']);
  });
});

describe('the refresh call', () => {
  const BASE = 'https://instagram.unit.test';

  it("is Meta's documented GET with grant_type=ig_refresh_token and the token, under INSTAGRAM_API_URL and the version", async () => {
    const scope = nock(BASE, { badheaders: ['authorization'] })
      .get('/v24.0/refresh_access_token')
      .query({ grant_type: 'ig_refresh_token', access_token: CONFIGURED })
      .reply(200, { access_token: 'IGAAnewToken0123456789', token_type: 'bearer', expires_in: 5_183_944 });
    await expect(createRefreshCall({ baseUrl: BASE, version: 'v24.0' })(CONFIGURED)).resolves.toEqual({ access_token: 'IGAAnewToken0123456789', expires_in: 5_183_944 });
    expect(scope.isDone()).toBe(true);
  });

  it('fails with a GraphApiError that holds neither the URL query nor the token, even when Graph echoes it', async () => {
    nock(BASE)
      .get('/v24.0/refresh_access_token')
      .query(true)
      .reply(400, { error: { message: `Invalid OAuth access token - Cannot parse access token ${CONFIGURED}`, type: 'OAuthException', code: 190, fbtrace_id: 'AbC' } });
    const err = await createRefreshCall({ baseUrl: BASE, version: 'v24.0' })(CONFIGURED).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GraphApiError);
    const text = `${String(err)} ${JSON.stringify(err)} ${JSON.stringify((err as GraphApiError).toLog())}`;
    expect(text).not.toContain(CONFIGURED);
    expect(text).not.toContain('access_token=');
    expect((err as GraphApiError).endpoint).toBe('GET /v24.0/refresh_access_token');
    expect((err as GraphApiError).code).toBe(190);
  });

  it('refuses an answer without a token, without echoing the answer', async () => {
    nock(BASE).get('/v24.0/refresh_access_token').query(true).reply(200, { token_type: 'bearer', expires_in: 5_184_000, note: 'IGAAsomethingElse0123456789' });
    const err = await createRefreshCall({ baseUrl: BASE, version: 'v24.0' })(CONFIGURED).then(
      () => undefined,
      (e: unknown) => e as GraphApiError,
    );
    expect(err?.graphMessage).toBe('the answer has no access_token and expires_in');
    expect(JSON.stringify(err?.toLog())).not.toContain('IGAAsomethingElse');
  });

  it('turns a network failure into a GraphApiError with a code only', async () => {
    nock(BASE).get('/v24.0/refresh_access_token').query(true).replyWithError(Object.assign(new Error(`socket hang up for ${CONFIGURED}`), { code: 'ECONNRESET' }));
    const err = await createRefreshCall({ baseUrl: BASE, version: 'v24.0' })(CONFIGURED).then(
      () => undefined,
      (e: unknown) => e as GraphApiError,
    );
    expect(err).toMatchObject({ status: undefined, type: 'ECONNRESET' });
    expect(JSON.stringify(err?.toLog())).not.toContain(CONFIGURED);
  });
});
