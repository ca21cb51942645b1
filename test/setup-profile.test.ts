// `profile`: the Messenger Profile and Instagram ice breakers from locales/, read first and changed
// only where they differ; --dry-run sends nothing. Also the Messenger limits on the new strings.
import { describe, expect, it } from '@jest/globals';
import { setupDeps, setupEnv } from './support/setup-deps.ts';
import nock from 'nock';
import { appSecretProof } from '../services/graph/client.ts';
import { SUPPORTED_LOCALES, createTranslations } from '../services/i18n.ts';
import { decodePayload } from '../services/payload.ts';
import { entriesIn } from '../services/conversation/actions.ts';
import { loadShop } from '../services/shop/shop.ts';
import { profile } from '../scripts/setup/profile.ts';
import { desiredInstagramProfile, desiredMessengerProfile } from '../scripts/setup/profile-model.ts';

const GRAPH = 'https://graph.test';
const V = 'v24.0';
const ENV = setupEnv('profile');
const IG = '17841400000000009';
const translations = createTranslations();

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

function graphMock() {
  const calls: Call[] = [];
  const on = (method: string, status: number, response: unknown) =>
    nock(GRAPH)
      .intercept(`/${V}/me/messenger_profile`, method)
      .query(true)
      .reply(function (uri, body) {
        const url = new URL(uri, GRAPH);
        const auth = (this.req.headers as Record<string, string | undefined>).authorization;
        calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorization: auth });
        return [status, response];
      });
  return { calls, on, posts: () => calls.filter((c) => c.method === 'POST') };
}

function setup(env: Record<string, string> = {}) {
  return setupDeps({ ...ENV, ...env }, { translations });
}

const PROOF = appSecretProof(ENV.PAGE_ACCESS_TOKEN, ENV.APP_SECRET);
const MESSENGER_QUERY = { fields: 'get_started,greeting,persistent_menu,whitelisted_domains', appsecret_proof: PROOF };
const desired = desiredMessengerProfile(ENV.APP_URL, translations);
const desiredIg = desiredInstagramProfile(translations);

/** The profile as Meta answers a GET: locales in another order, the domain with a slash. */
function asMetaReturnsIt() {
  return {
    data: [
      {
        get_started: { payload: 'GET_STARTED' },
        greeting: [...desired.greeting].reverse(),
        persistent_menu: [...desired.persistent_menu].reverse(),
        whitelisted_domains: ['https://bot.example.test/'],
      },
    ],
  };
}

describe('profile: what it sends', () => {
  it('reads the profile with the Page token, then sets every field of an empty profile', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', 200, { data: [] });
    graph.on('POST', 200, { result: 'success' });

    await expect(profile(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => c.method)).toEqual(['GET', 'POST']);
    expect(graph.calls[0]?.query).toEqual(MESSENGER_QUERY);
    for (const call of graph.calls) {
      expect(call.path).toBe(`/${V}/me/messenger_profile`);
      expect(call.authorization).toBe(`Bearer ${ENV.PAGE_ACCESS_TOKEN}`);
    }
    const post = graph.posts()[0];
    expect(post?.query).toEqual({ appsecret_proof: PROOF });
    const en = translations.fixedT('en_US');
    const greeting = (locale: (typeof SUPPORTED_LOCALES)[number]) => translations.fixedT(locale)('profile.greeting');
    expect(post?.body).toEqual({
      get_started: { payload: 'GET_STARTED' },
      greeting: [
        { locale: 'default', text: greeting('en_US') },
        ...SUPPORTED_LOCALES.map((locale) => ({ locale, text: greeting(locale) })),
      ],
      persistent_menu: expect.arrayContaining([
        {
          locale: 'default',
          composer_input_disabled: false,
          call_to_actions: [
            // The table's persistent-menu entries in their order, then the shop link.
            ...entriesIn('persistentMenu').map((entry) => ({ type: 'postback', title: en(entry.label), payload: entry.name })),
            { type: 'web_url', title: en('profile.shop'), url: 'https://bot.example.test/shop.html', webview_height_ratio: 'full' },
          ],
        },
      ]),
      whitelisted_domains: ['https://bot.example.test'],
    });
    expect(greeting('en_US')).toContain(loadShop().name);
    const menus = (post?.body as { persistent_menu: { locale: string; call_to_actions: { title: string; payload?: string }[] }[] }).persistent_menu;
    expect(menus.map((m) => m.locale)).toEqual(['default', ...SUPPORTED_LOCALES]);
    const zh = translations.fixedT('zh_TW');
    expect(menus.find((m) => m.locale === 'zh_TW')?.call_to_actions.map((c) => c.title)).toEqual([...entriesIn('persistentMenu').map((e) => zh(e.label)), zh('profile.shop')]);
    expect(text()).toMatch(/\+\s+messenger\s+get_started\s+not set on the Page/);
    expect(text()).toContain('✔ messenger: updated get_started, greeting, persistent_menu, whitelisted_domains');
    expect(text()).not.toContain(ENV.PAGE_ACCESS_TOKEN);
  });

  it('sends nothing when the profile already matches (locale order and a trailing slash do not count)', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', 200, asMetaReturnsIt());

    await expect(profile(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => c.method)).toEqual(['GET']);
    expect(nock.pendingMocks()).toEqual([]);
    expect(text()).toMatch(/=\s+messenger\s+greeting\s+unchanged/);
    expect(text()).toContain('✔ The profile is already up to date. Nothing was sent.');
  });

  it('changes only the field that differs, and says which locales', async () => {
    const { deps, text } = setup();
    const current = asMetaReturnsIt();
    const greeting = current.data[0]?.greeting.map((g) => (g.locale === 'zh_TW' ? { ...g, text: '舊的問候語' } : g));
    const graph = graphMock();
    graph.on('GET', 200, { data: [{ ...current.data[0], greeting }] });
    graph.on('POST', 200, { result: 'success' });

    await expect(profile(deps)).resolves.toBe(0);

    expect(graph.posts()).toHaveLength(1);
    expect(graph.posts()[0]?.body).toEqual({ greeting: desired.greeting });
    expect(text()).toMatch(/~\s+messenger\s+greeting\s+changed for zh_TW/);
    expect(text()).toMatch(/=\s+messenger\s+persistent_menu\s+unchanged/);
    expect(text()).toContain('✔ messenger: updated greeting');
  });

  it('treats a reordered menu and a different domain as changes', async () => {
    const { deps, text } = setup();
    const current = asMetaReturnsIt();
    const first = current.data[0];
    const menu = first?.persistent_menu.map((m) => (m.locale === 'es_ES' ? { ...m, call_to_actions: [...m.call_to_actions].reverse() } : m));
    const graph = graphMock();
    graph.on('GET', 200, { data: [{ ...first, persistent_menu: menu, whitelisted_domains: ['https://old-tunnel.example.test'] }] });
    graph.on('POST', 200, { result: 'success' });

    await expect(profile(deps)).resolves.toBe(0);

    expect(graph.posts()[0]?.body).toEqual({ persistent_menu: desired.persistent_menu, whitelisted_domains: ['https://bot.example.test'] });
    expect(text()).toMatch(/~\s+messenger\s+persistent_menu\s+changed for es_ES/);
    expect(text()).toMatch(/~\s+messenger\s+whitelisted_domains\s+https:\/\/old-tunnel\.example\.test → https:\/\/bot\.example\.test/);
  });

  it('--dry-run prints the difference and sends nothing', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('GET', 200, { data: [{ get_started: { payload: 'OLD_START' } }] });
    graph.on('GET', 200, { data: [] });

    await expect(profile(deps, { dryRun: true })).resolves.toBe(0);

    expect(graph.calls.map((c) => c.method)).toEqual(['GET', 'GET']);
    expect(nock.pendingMocks()).toEqual([]);
    const out = text();
    expect(out).toMatch(/~\s+messenger\s+get_started\s+"OLD_START" → "GET_STARTED"/);
    expect(out).toMatch(/\+\s+messenger\s+greeting\s+not set on the Page/);
    expect(out).toMatch(/\+\s+instagram\s+ice_breakers\s+not set on the Page/);
    expect(out).toContain('Dry run: nothing was sent.');
  });
});

describe('profile: Instagram ice breakers', () => {
  it('reads and sets ice_breakers with platform=instagram, in the per-locale format', async () => {
    const { deps, text } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('GET', 200, asMetaReturnsIt());
    // Instagram answers with the old, locale-less format: it gets replaced.
    graph.on('GET', 200, { data: [{ question: 'Old question?', payload: 'OLD' }] });
    graph.on('POST', 200, { result: 'success' });

    await expect(profile(deps)).resolves.toBe(0);

    expect(graph.calls.map((c) => c.method)).toEqual(['GET', 'GET', 'POST']);
    expect(graph.calls[1]?.query).toEqual({ fields: 'ice_breakers', platform: 'instagram', appsecret_proof: PROOF });
    const post = graph.posts()[0];
    expect(post?.query).toEqual({ platform: 'instagram', appsecret_proof: PROOF });
    expect(post?.authorization).toBe(`Bearer ${ENV.PAGE_ACCESS_TOKEN}`);
    expect(post?.body).toEqual({ platform: 'instagram', ice_breakers: desiredIg.ice_breakers });
    const breakers = desiredIg.ice_breakers;
    expect(breakers.map((b) => b.locale)).toEqual(['default', ...SUPPORTED_LOCALES]);
    const en = translations.fixedT('en_US');
    expect(breakers[0]?.call_to_actions).toEqual(entriesIn('iceBreaker').map((entry) => ({ question: en(entry.label), payload: entry.name })));
    expect(text()).toContain('✔ instagram: updated ice_breakers');
  });

  it('leaves matching ice breakers alone (Instagram returns them as `data`)', async () => {
    const { deps } = setup({ IG_ACCOUNT_ID: IG });
    const graph = graphMock();
    graph.on('GET', 200, asMetaReturnsIt());
    graph.on('GET', 200, { data: [...desiredIg.ice_breakers].reverse() });
    await expect(profile(deps)).resolves.toBe(0);
    expect(graph.posts()).toEqual([]);
  });
});

describe('profile: errors', () => {
  it('reports an invalid Page token (190) on the first read and sends nothing else', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', 400, { error: { message: 'Error validating access token: The session has been invalidated.', type: 'OAuthException', code: 190, error_subcode: 460, fbtrace_id: 'Trace190' } });
    await expect(profile(deps)).resolves.toBe(1);
    expect(graph.calls).toHaveLength(1);
    expect(text()).toContain(`✖ GET /${V}/me/messenger_profile failed (HTTP 400)`);
    expect(text()).toMatch(/fbtrace_id\s+Trace190/);
    expect(text()).toContain('PAGE_ACCESS_TOKEN is invalid or expired');
  });

  it('reports a rejected update (100) and exits 1', async () => {
    const { deps, text } = setup();
    const graph = graphMock();
    graph.on('GET', 200, { data: [] });
    graph.on('POST', 400, { error: { message: '(#100) Invalid keys "greting" were found in param "name_placeholder[fields]".', type: 'OAuthException', code: 100, fbtrace_id: 'Trace100' } });
    await expect(profile(deps)).resolves.toBe(1);
    expect(text()).toMatch(/code\s+100/);
    expect(text()).toContain('usually a field name');
    expect(text()).not.toContain('✔ messenger: updated');
  });

  it('refuses an http APP_URL, which Messenger cannot allow-list, sending nothing (exit 2)', async () => {
    const { deps, text } = setup({ APP_URL: 'http://localhost:3000' });
    await expect(profile(deps)).resolves.toBe(2);
    expect(text()).toContain('Messenger allow-lists only https domains');
  });
});

describe('profile strings in locales/', () => {
  const codePoints = (s: string) => [...s].length;

  it.each(SUPPORTED_LOCALES)('%s fits the Messenger Profile limits and uses payloads the bot decodes', (locale) => {
    const messenger = desiredMessengerProfile(ENV.APP_URL, translations);
    const greeting = messenger.greeting.find((g) => g.locale === locale)?.text ?? '';
    expect(greeting).not.toBe('profile.greeting');
    expect(codePoints(greeting)).toBeLessThanOrEqual(160);
    expect(greeting).not.toMatch(/\{\{/);
    const menu = messenger.persistent_menu.find((m) => m.locale === locale)?.call_to_actions ?? [];
    expect(menu).toHaveLength(entriesIn('persistentMenu').length + 1);
    for (const item of menu) {
      expect(codePoints(item.title)).toBeLessThanOrEqual(30);
      if (item.type === 'postback') expect(decodePayload(item.payload)).toBeDefined();
    }
    const breakers = desiredInstagramProfile(translations).ice_breakers.find((b) => b.locale === locale)?.call_to_actions ?? [];
    expect(breakers.length).toBeLessThanOrEqual(4);
    for (const b of breakers) {
      expect(codePoints(b.question)).toBeLessThanOrEqual(80);
      expect(b.question).not.toMatch(/^profile\./);
      expect(decodePayload(b.payload)).toBeDefined();
    }
  });

  it('translates the profile (no locale shows the English greeting)', () => {
    const english = desired.greeting.find((g) => g.locale === 'en_US')?.text;
    const others = desired.greeting.filter((g) => !['default', 'en_US'].includes(g.locale));
    expect(others).toHaveLength(SUPPORTED_LOCALES.length - 1);
    for (const g of others) expect(g.text).not.toBe(english);
    expect(desired.greeting.find((g) => g.locale === 'default')?.text).toBe(english);
  });
});
