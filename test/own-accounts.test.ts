// The bot answers only for its own Page and Instagram account, never its own accounts as if they
// were users, and never a sender id that cannot be a PSID/IGSID. Signed bodies go to the real app;
// Graph is faked at the HTTP boundary (support/fake-graph.ts), which records every call, expected or not.
import { describe, expect, it } from '@jest/globals';
import { accountKeyOf, createAccountDirectory } from '../services/accounts/directory.ts';
import { EMULATED_IG_ACCOUNT_ID, EMULATED_IG_LOGIN_ACCOUNT_ID, EMULATED_SECOND_PAGE_ID } from '../services/accounts/emulated.ts';
import { loadConfig } from '../services/config.ts';
import { graphClientFor } from '../services/graph/client.ts';
import { InvalidGraphIdError } from '../services/graph/ids.ts';
import type { SendRequest } from '../services/graph/messages.ts';
import { createSendApi } from '../services/graph/send-api.ts';
import { profileLookupFor } from '../services/profile-cache.ts';
import { IG_ID, PAGE_ID, TEST_ENV, createHarness, fixture, notification, postSigned } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';

const ANA = '24000000000000001';
const OTHER_USER = '24000000000000002';
const IG_USER = '7650000000000001';
const OTHER_PAGE = '1895382890692546';

type Harness = ReturnType<typeof createHarness>;

async function deliver(h: Harness, body: unknown) {
  const res = await postSigned(h.app, body);
  expect(res.status).toBe(200);
  await h.bot.idle();
}

function text(sender: string, body: string, mid: string, object: 'page' | 'instagram' = 'page', entryId?: string) {
  const account = object === 'page' ? PAGE_ID : IG_ID;
  return notification(object, { sender: { id: sender }, recipient: { id: account }, timestamp: Date.now() - 1000, message: { mid, text: body } }, entryId);
}

const recipients = (sends: SendRequest[]) => sends.map((s) => s.recipient.id);

describe('the account directory of the single-Page variables', () => {
  const live = { ...TEST_ENV, DATABASE_URL: 'memory:' };
  const own = (env: Record<string, string>) => {
    const directory = createAccountDirectory(loadConfig(env).accounts);
    return ['100000000000002', EMULATED_IG_ACCOUNT_ID, EMULATED_SECOND_PAGE_ID, EMULATED_IG_LOGIN_ACCOUNT_ID, PAGE_ID, IG_ID, '42', '43'].filter((id) => directory.isOwnId(id));
  };

  it('is one page account keyed by PAGE_ID, with the Instagram account linked to it', () => {
    const directory = createAccountDirectory(loadConfig(live).accounts);
    expect(directory.keys()).toEqual([PAGE_ID]);
    expect(own(live)).toEqual([PAGE_ID, IG_ID]);
    expect(accountKeyOf({ channel: 'instagram', entry_id: IG_ID }, directory)).toBe(PAGE_ID);
    expect(accountKeyOf({ channel: 'messenger', entry_id: PAGE_ID }, directory)).toBe(PAGE_ID);
    // A Page id is a Messenger entry's, an Instagram id an Instagram entry's: never the other way round.
    expect(accountKeyOf({ channel: 'instagram', entry_id: PAGE_ID }, directory)).toBeUndefined();
    expect(accountKeyOf({ channel: 'messenger', entry_id: IG_ID }, directory)).toBeUndefined();
  });

  it('is only the Page in live mode without IG_ACCOUNT_ID', () => {
    expect(own({ ...live, IG_ACCOUNT_ID: '' })).toEqual([PAGE_ID]);
  });

  it("is the emulator's two Pages (the first with its Instagram account) and its Instagram Login account in emulator mode", () => {
    expect(own({})).toEqual(['100000000000002', EMULATED_IG_ACCOUNT_ID, EMULATED_SECOND_PAGE_ID, EMULATED_IG_LOGIN_ACCOUNT_ID]);
    expect(own({ PAGE_ID: '42', IG_ACCOUNT_ID: '43' })).toEqual([EMULATED_SECOND_PAGE_ID, EMULATED_IG_LOGIN_ACCOUNT_ID, '42', '43']);
  });
});

describe('only our own accounts are answered', () => {
  it("answers the entry of our Page in a batch, and neither answers nor remembers another Page's user", async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await deliver(h, fixture('messenger-batch-other-page'));
    expect(graph.sends().length).toBeGreaterThan(0);
    expect(new Set(recipients(graph.sends()))).toEqual(new Set([ANA]));
    expect(graph.profileLookups().map((c) => c.path)).toEqual([`/v24.0/${ANA}`]);
    expect(graph.unexpected()).toEqual([]);
    for (const account of [PAGE_ID, OTHER_PAGE]) expect(await h.bot.store.getUser(`${account}/messenger:${OTHER_USER}`)).toEqual({});
    expect(h.logs).toContainEqual(expect.objectContaining({ msg: 'event for an account this bot does not serve: acknowledged, not handled', entry_id: OTHER_PAGE }));
  });

  it('never answers an Instagram conversation of another Instagram account', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [IG_USER]: { name: 'Maya' } } });
    await deliver(h, text(IG_USER, 'hi', 'aWdf_other_account', 'instagram', '17841499999999999'));
    expect(graph.calls).toEqual([]);
    for (const account of [PAGE_ID, '17841499999999999']) expect(await h.bot.store.getUser(`${account}/instagram:${IG_USER}`)).toEqual({});
  });

  it('answers no Instagram conversation in live mode without IG_ACCOUNT_ID: the bot cannot know its account', async () => {
    const h = createHarness({ IG_ACCOUNT_ID: '' });
    const graph = fakeGraph({ profiles: { [IG_USER]: { name: 'Maya' } } });
    await deliver(h, text(IG_USER, 'hi', 'aWdf_no_ig_account', 'instagram'));
    expect(graph.calls).toEqual([]);
    await deliver(h, text(ANA, 'hi', 'm_still_messenger'));
    expect(recipients(graph.sends())).toContain(ANA);
  });

  it.each([
    ['placeholder ids (quick-start mocks)', 'messenger-placeholder-ids'],
    ["the App Dashboard's Instagram test (entry 0)", 'dashboard-test-instagram-messages'],
    ["the App Dashboard's Page test (entry 0)", 'dashboard-test-page-messages'],
  ])('acknowledges %s and sends nothing', async (_label, name) => {
    const h = createHarness();
    const graph = fakeGraph();
    await deliver(h, fixture(name));
    expect(graph.calls).toEqual([]);
  });

  it('never answers messaging items of a body whose object is neither page nor instagram', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    for (const object of ['user', 'whatsapp_business_account']) {
      const body = { ...text(ANA, 'hi', `m_object_${object}`), object };
      await deliver(h, body);
    }
    await deliver(h, fixture('unknown-object-messaging'));
    expect(graph.calls).toEqual([]);
    expect(await h.bot.store.getUser(`${PAGE_ID}/messenger:${ANA}`)).toEqual({});
  });
});

describe('never a reply to our own accounts', () => {
  it.each([
    ['our Page, in a camelCase echo without is_echo', 'messenger-echo-camelcase'],
    ['our Instagram account, without is_echo', 'instagram-sender-is-own-account'],
  ])('does not answer a message whose sender is %s', async (_label, name) => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [PAGE_ID]: { first_name: 'Page' }, [IG_ID]: { name: 'Shop' } } });
    await deliver(h, fixture(name));
    expect(graph.calls).toEqual([]);
  });

  it("does not answer our Instagram account writing in our Page's entry, or our Page in the Instagram entry", async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [PAGE_ID]: { first_name: 'Page' }, [IG_ID]: { name: 'Shop' } } });
    await deliver(h, text(IG_ID, 'hi', 'm_ig_as_sender'));
    await deliver(h, text(PAGE_ID, 'hi', 'aWdf_page_as_sender', 'instagram'));
    expect(graph.calls).toEqual([]);
    expect(await h.bot.store.getUser(`${PAGE_ID}/messenger:${IG_ID}`)).toEqual({});
    expect(await h.bot.store.getUser(`${PAGE_ID}/instagram:${PAGE_ID}`)).toEqual({});
  });
});

describe('sender ids that cannot be a PSID or IGSID', () => {
  it.each(['..', '../me', '24000000000000001/feed', 'me', '', ' 2400', '٢٤٠٠'])('makes no Graph request for sender %j and sends nothing', async (sender) => {
    const h = createHarness();
    const graph = fakeGraph();
    await deliver(h, text(sender, 'hi', `m_bad_sender_${Buffer.from(sender).toString('hex')}`));
    expect(graph.calls).toEqual([]);
    expect(h.logs.some((l) => l.msg === 'sender id is not a numeric PSID/IGSID: handled as an event without a sender' || l.msg === 'message without a sender')).toBe(true);
  });

  it('still answers the next real user as usual', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await deliver(h, text('..', 'hi', 'm_dotdot'));
    await deliver(h, text(ANA, 'hi', 'm_ana_after_dotdot'));
    expect(new Set(recipients(graph.sends()))).toEqual(new Set([ANA]));
  });

  it('refuses a profile lookup for such an id with a typed error, without a request', async () => {
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
    const graph = fakeGraph();
    const sendApi = createSendApi(graphClientFor(config));
    for (const id of ['..', '', '12/34', '1e5', 'me']) {
      await expect(sendApi.getUserProfile(id, 'messenger')).rejects.toBeInstanceOf(InvalidGraphIdError);
    }
    expect(graph.calls).toEqual([]);
  });

  it('treats such an id as having no profile in the profile cache: no lookup is asked for', () => {
    for (const id of ['..', '', '12/34', 'me']) expect(profileLookupFor(undefined, id, 'messenger', PAGE_ID, 1)).toBeUndefined();
    expect(profileLookupFor(undefined, ANA, 'messenger', PAGE_ID, 1)).toEqual({ userId: ANA, channel: 'messenger', account: PAGE_ID, cached: undefined });
  });
});
