// What a customer sees, scenario by scenario: real signed webhooks into the real app, the Send API
// bodies that come out. Expected texts come from locales/ and the action table, so rewording a
// message or reordering the menu does not break these tests; what the bot does with them would.
import { describe, expect, it } from '@jest/globals';
import { ACTIONS, entriesIn, type ActionName } from '../services/conversation/actions.ts';
import { PAGE_INBOX_APP_ID } from '../services/graph/send-api.ts';
import { SUPPORTED_LOCALES, languageTag, type Locale, type MessageKey } from '../services/i18n.ts';
import { loadCatalog, type Product } from '../services/shop/catalog.ts';
import { hoursFormat, weekGroupedByHours, WEEKDAYS } from '../services/shop/hours.ts';
import { customer, mainMenuIn, quickReply, t, text } from './support/chat.ts';
import { APP_ID, IG_ID, PAGE_ID, createHarness, fixture, notification, postSigned, textFrom } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';
import { instantAt } from './support/clock.ts';
import { userKey } from '../services/state/store.ts';

const URL = 'https://bot.example.test';
const EN = t('en_US');
const ES = t('es_ES');
const ZH = t('zh_TW');
const { shop, products } = loadCatalog();
/** Ana has written to the shop before: the bot has her profile (a User Profile API lookup) cached. */
const ana = (locale: Locale = 'en_US') => customer({ profile: { first_name: 'Ana', last_name: 'Lee', locale }, known: true });

describe('Get Started and greetings', () => {
  it('welcomes a new customer at once, without a name, then looks up their profile: from the next message on, by first name', async () => {
    const c = customer({ profile: { first_name: 'Ana', last_name: 'Lee', locale: 'en_US' } });
    expect(await c.presses('GET_STARTED')).toEqual([text(c.id, EN('welcome.anonymous')), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    // No typing indicator ahead of an answer that is ready; the lookup comes after the answer.
    expect(c.graph.sends().every((body) => 'message' in body)).toBe(true);
    const [profileCall] = c.graph.profileLookups();
    expect(profileCall?.path).toBe(`/v24.0/${c.id}`);
    expect(profileCall?.query.fields).toBe('first_name,last_name,profile_pic,locale');
    expect(c.graph.calls.findIndex((call) => call.method === 'GET')).toBeGreaterThan(c.graph.calls.findIndex((call) => call.method === 'POST'));
    expect(await c.says('hi')).toEqual([text(c.id, EN('welcome.named', { name: 'Ana' })), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
  });

  it('welcomes a customer the bot knows by first name from the first message, without looking them up again', async () => {
    const c = ana();
    expect(await c.presses('GET_STARTED')).toEqual([text(c.id, EN('welcome.named', { name: 'Ana' })), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(c.graph.profileLookups()).toEqual([]);
  });

  it('names the shop from data/shop.json', () => {
    expect(EN('welcome.anonymous')).toContain(shop.name);
    expect(EN('welcome.anonymous')).not.toContain('{{');
  });

  it('sends every call with the token in the Authorization header and appsecret_proof, never in the URL', async () => {
    const c = ana();
    await c.says('hi');
    expect(c.graph.calls.length).toBeGreaterThan(1);
    for (const call of c.graph.calls) {
      expect(call.authorization).toBe(`Bearer ${c.harness.config.PAGE_ACCESS_TOKEN}`);
      expect(call.query.appsecret_proof).toMatch(/^[0-9a-f]{64}$/);
      expect(call.query.access_token).toBeUndefined();
      expect(JSON.stringify(call)).not.toContain(`access_token`);
    }
  });

  it('caches the profile: a second message does not fetch it again', async () => {
    const c = customer({ profile: { first_name: 'Ana', locale: 'en_US' } });
    await c.says('hello');
    await c.says('hey');
    expect(c.graph.profileLookups()).toHaveLength(1);
  });

  it('goes on greeting without a name when the profile cannot be read, and does not ask again at every message', async () => {
    const c = customer();
    expect(await c.says('Hello!')).toEqual([text(c.id, EN('welcome.anonymous')), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(await c.says('Hello!')).toEqual([text(c.id, EN('welcome.anonymous')), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(c.graph.profileLookups()).toHaveLength(1);
  });

  it('from the second message on, answers in the nearest supported language of the profile locale (es_MX → Spanish)', async () => {
    const c = customer({ profile: { first_name: 'Ana', locale: 'es_MX' } });
    expect(await c.says('hello')).toEqual([text(c.id, EN('welcome.anonymous')), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(await c.says('hello')).toEqual([text(c.id, ES('welcome.named', { name: 'Ana' })), text(c.id, ES('menu.prompt'), mainMenuIn('es_ES'))]);
  });

  it('answers "¡Hola!" with the Spanish welcome and "¿ayuda?" with the Spanish menu, and keeps Spanish', async () => {
    const c = ana('en_US');
    expect(await c.says('¡Hola!')).toEqual([text(c.id, ES('welcome.named', { name: 'Ana' })), text(c.id, ES('menu.prompt'), mainMenuIn('es_ES'))]);
    expect(await c.says('  ¿AYUDA?  ')).toEqual([text(c.id, ES('menu.prompt'), mainMenuIn('es_ES'))]);
    expect(await c.taps('ORDER_STATUS')).toEqual([text(c.id, ES('orders.ask'), [quickReply(ES('orders.cancel'), 'CANCEL')])]);
  });

  it('keeps the profile language when the greeting is English, which people use everywhere', async () => {
    const c = ana('es_ES');
    expect(await c.says('Hello!')).toEqual([text(c.id, ES('welcome.named', { name: 'Ana' })), text(c.id, ES('menu.prompt'), mainMenuIn('es_ES'))]);
  });
});

describe('Text intents: typing an entry\'s words does what tapping it does, in every language', () => {
  // Punctuation, case, full-width forms and spaces as people type them.
  const decorate = (word: string, locale: Locale) =>
    locale === 'zh_TW' ? `${word}？` : locale === 'es_ES' ? `¡${word.toUpperCase()}!` : `  ${word.charAt(0).toUpperCase()}${word.slice(1)}!!  `;
  const cases = Object.entries(ACTIONS).flatMap(([name, entry]) =>
    'intents' in entry ? SUPPORTED_LOCALES.map((locale) => [name as ActionName, locale, entry.intents[locale][0] ?? ''] as const) : [],
  );

  it.each(cases)('%s in %s ("%s")', async (name, locale, word) => {
    const c = ana(locale);
    const typed = await c.says(decorate(word, locale));
    expect(typed.length).toBeGreaterThan(0);
    expect(await c.taps(name)).toEqual(typed);
  });

  it('never matches part of a message', async () => {
    const c = ana();
    expect(await c.says('do you sell coffee or tea')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });
});

describe('Opening hours', () => {
  const hours = shop.opening_hours;
  const firstOpenDay = WEEKDAYS.find((day) => hours.days[day].length > 0) ?? 'monday';
  const [firstRange] = hours.days[firstOpenDay];

  /** The answer as it must read: the week from data/shop.json, then the state, address and website. */
  function hoursAnswer(locale: Locale, state: string): string {
    const tr = t(locale);
    const format = hoursFormat(languageTag(locale));
    const week = weekGroupedByHours(hours).map(({ first, last, ranges }) => {
      const days = first === last ? format.weekday(first, 'short') : tr('hours.days', { first: format.weekday(first, 'short'), last: format.weekday(last, 'short') });
      return tr('hours.line', { days, times: ranges.length > 0 ? format.ranges(ranges) : tr('hours.closed') });
    });
    const title = tr('hours.title', { time_zone: format.timeZone(hours.time_zone) });
    return [title, ...week, '', state, tr('hours.address', { address: shop.address }), tr('hours.website', { website: shop.website })].join('\n');
  }

  it('answers the quick reply with the week, "open now" and the address: the exact Send API body', async () => {
    if (!firstRange) throw new Error('data/shop.json: the first open day has no range');
    const c = customer({ profile: { first_name: 'Ana', locale: 'en_US' }, clockAt: instantAt(hours.time_zone, firstOpenDay, firstRange.from + 1) });
    const format = hoursFormat('en-US');
    expect(await c.taps('HOURS')).toEqual([
      {
        recipient: { id: c.id },
        messaging_type: 'RESPONSE',
        message: { text: hoursAnswer('en_US', EN('hours.open_now', { time: format.time(firstRange.to) })), quick_replies: mainMenuIn('en_US') },
      },
    ]);
  });

  it('says when it opens again when it is closed, and answers "營業時間？" in Chinese', async () => {
    if (!firstRange || firstRange.from === 0) throw new Error('data/shop.json: expected the first open day to open after midnight');
    const c = customer({ profile: { first_name: 'Ana', locale: 'zh_TW' }, clockAt: instantAt(hours.time_zone, firstOpenDay, firstRange.from - 1) });
    const format = hoursFormat('zh-TW');
    const state = ZH('hours.closed_now', { when: ZH('hours.today', { time: format.time(firstRange.from) }) });
    expect(await c.says('營業時間？')).toEqual([text(c.id, hoursAnswer('zh_TW', state), mainMenuIn('zh_TW'))]);
  });

  it('is in the main menu and the persistent menu', () => {
    expect(entriesIn('quickReply').map((e) => e.name)).toContain('HOURS');
    expect(entriesIn('persistentMenu').map((e) => e.name)).toContain('HOURS');
  });
});

/** A product's text from locales/ (product ids come from data/products.json). */
function productText(locale: Locale, product: Product, field: 'title' | 'tagline' | 'details'): string {
  return t(locale)(`products.${product.id}.${field}` as MessageKey & `products.${string}`);
}

const price = (product: Product, locale: Locale = 'en_US') => new Intl.NumberFormat(languageTag(locale), { style: 'currency', currency: product.currency }).format(Number(product.price));

function card(product: Product) {
  return {
    title: productText('en_US', product, 'title'),
    subtitle: EN('browse.subtitle', { tagline: productText('en_US', product, 'tagline'), price: price(product) }),
    image_url: `${URL}/${product.image}`,
    buttons: [
      { type: 'postback', title: EN('browse.details_button'), payload: `PRODUCT_DETAILS:${product.id}` },
      { type: 'web_url', title: EN('browse.buy'), url: `${URL}/shop.html#${product.id}` },
    ],
  };
}

describe('Browse', () => {
  it('shows a generic-template carousel with images under APP_URL, a postback and a web_url button per card', async () => {
    const c = ana();
    expect(await c.taps('BROWSE')).toEqual([
      text(c.id, EN('browse.intro')),
      {
        recipient: { id: c.id },
        messaging_type: 'RESPONSE',
        message: { attachment: { type: 'template', payload: { template_type: 'generic', elements: products.slice(0, 10).map(card) } } },
      },
    ]);
  });

  it('answers a details postback with a button template for that product', async () => {
    const c = ana();
    const [oolong] = products.filter((p) => p.id === 'oolong');
    if (!oolong) throw new Error('data/products.json has no oolong');
    expect(await c.presses('PRODUCT_DETAILS:oolong')).toEqual([
      {
        recipient: { id: c.id },
        messaging_type: 'RESPONSE',
        message: {
          attachment: {
            type: 'template',
            payload: {
              template_type: 'button',
              text: EN('browse.details', { title: productText('en_US', oolong, 'title'), price: price(oolong), details: productText('en_US', oolong, 'details') }),
              buttons: [
                { type: 'web_url', title: EN('browse.buy'), url: `${URL}/shop.html#oolong` },
                { type: 'postback', title: EN('browse.back'), payload: 'BROWSE' },
              ],
            },
          },
        },
      },
    ]);
  });

  it('treats a details postback for a product that does not exist as unknown input', async () => {
    const c = ana();
    expect(await c.presses('PRODUCT_DETAILS:no-such-tea')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });
});

describe('Order status', () => {
  const CANCEL = [quickReply(EN('orders.cancel'), 'CANCEL')];

  it('asks for the number, explains a malformed one, a missing one, then answers a real one', async () => {
    const c = ana();
    expect(await c.taps('ORDER_STATUS')).toEqual([text(c.id, EN('orders.ask'), CANCEL)]);
    expect(await c.says('12')).toEqual([text(c.id, EN('orders.invalid', { text: '12' }), CANCEL)]);
    expect(await c.says('TW-99999')).toEqual([text(c.id, EN('orders.not_found', { number: 'TW-99999' }), CANCEL)]);
    expect(await c.says('tw 10232')).toEqual([text(c.id, EN('orders.status.shipped', { number: 'TW-10232', carrier: 'Harbor Post', tracking: 'HP4417902218' }), mainMenuIn('en_US'))]);
    // The question is over: the same text is now just unknown input.
    expect(await c.says('TW-10232')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });

  it('quotes at most 40 characters of what the user typed, without cutting an emoji in half', async () => {
    const c = ana();
    await c.taps('ORDER_STATUS');
    // 40 code points at most, the ellipsis included: the two-code-point emoji fits whole, the rest goes.
    const typed = `${'a'.repeat(37)}👍🏽 and more`;
    expect(await c.says(typed)).toEqual([text(c.id, EN('orders.invalid', { text: `${'a'.repeat(37)}👍🏽…` }), CANCEL)]);
  });

  it('lets the user cancel the question', async () => {
    const c = ana();
    await c.taps('ORDER_STATUS');
    expect(await c.taps('CANCEL')).toEqual([text(c.id, EN('orders.cancelled'), mainMenuIn('en_US'))]);
    expect(await c.says('TW-10231')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });

  it('lets the user ask something else instead of typing the number', async () => {
    const c = ana();
    await c.taps('ORDER_STATUS');
    expect(await c.says('menu')).toEqual([text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(await c.says('TW-10231')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });

  it('formats dates in the user language (delivered order, Indonesian)', async () => {
    const c = ana('id_ID');
    await c.taps('ORDER_STATUS');
    const [answer] = await c.says('#10233');
    expect(answer).toEqual(text(c.id, t('id_ID')('orders.status.delivered', { number: 'TW-10233', delivered: '14 Nov 2026' }), mainMenuIn('id_ID')));
  });
});

describe('Talk to a person', () => {
  it('tells the user how else to reach the shop, passes the thread to the Page Inbox, stays quiet on standby, and resumes when control comes back', async () => {
    const c = ana();
    const contact = new Intl.ListFormat('en-US', { type: 'disjunction' }).format([shop.contact.email, ...(shop.contact.phone ? [shop.contact.phone] : [])]);
    expect(await c.taps('TALK_TO_HUMAN')).toEqual([text(c.id, EN('human.handoff', { contact }))]);
    // After the message: the thread goes to the Page Inbox.
    expect(c.graph.threadControl().map(({ path, body, sendsBefore }) => ({ path, body, sendsBefore }))).toEqual([
      { path: '/v24.0/me/pass_thread_control', body: { recipient: { id: c.id }, target_app_id: PAGE_INBOX_APP_ID, metadata: 'customer asked for a person' }, sendsBefore: 1 },
    ]);

    const before = c.graph.calls.length;
    const standby = { object: 'page', entry: [{ id: PAGE_ID, time: 1, standby: [{ sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'm_sb', text: 'hello?' } }] }] };
    expect(await c.posts(standby)).toEqual([]);
    expect(c.graph.calls.length).toBe(before);

    const passBack = { sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: Date.now(), pass_thread_control: { previous_owner_app_id: PAGE_INBOX_APP_ID, new_owner_app_id: APP_ID, metadata: 'done' } };
    expect(await c.sends(passBack)).toEqual([text(c.id, EN('human.back'), mainMenuIn('en_US'))]);
  });

  it('never sends for take_thread_control, request_thread_control or app_roles', async () => {
    const c = customer();
    // The fixture's pass_thread_control goes to another app: nothing to say either.
    expect(await c.posts(fixture('messenger-handover'))).toEqual([]);
    expect(c.graph.sends()).toEqual([]);
  });
});

describe('Language', () => {
  it('offers the four languages by their own names and keeps the choice for that user', async () => {
    const c = ana();
    expect(await c.taps('LANGUAGE')).toEqual([text(c.id, EN('language.prompt'), SUPPORTED_LOCALES.map((l) => quickReply(t(l)('language.name'), `SET_LOCALE:${l}`)))]);
    expect(await c.taps('SET_LOCALE:zh_TW')).toEqual([text(c.id, ZH('language.changed'), mainMenuIn('zh_TW'))]);
    // An English greeting does not undo a language the user picked.
    expect(await c.says('hello')).toEqual([text(c.id, ZH('welcome.named', { name: 'Ana' })), text(c.id, ZH('menu.prompt'), mainMenuIn('zh_TW'))]);
  });
});

describe('Reactions, reads and deliveries', () => {
  it('thanks once for a reaction to a bot message, records unreact silently, and tracks sent → delivered → read', async () => {
    const c = ana();
    await c.says('hi');
    const status = async (mid: string) => (await c.harness.bot.store.getSent(c.key, mid))?.status;
    expect(await status('m_bot_1')).toBe('sent');
    const at = (offset: number) => ({ sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: Date.now() + offset });

    expect(await c.sends({ ...at(0), delivery: { mids: ['m_bot_1'], watermark: 0 } })).toEqual([]);
    expect([await status('m_bot_1'), await status('m_bot_2')]).toEqual(['delivered', 'sent']);
    expect(await c.sends({ ...at(1), read: { watermark: Date.now() + 1000 } })).toEqual([]);
    expect(await status('m_bot_2')).toBe('read');
    // A late delivery never moves a read message back.
    await c.sends({ ...at(2), delivery: { mids: ['m_bot_2'], watermark: 0 } });
    expect(await status('m_bot_2')).toBe('read');

    const react = (action: 'react' | 'unreact', offset: number) => ({ ...at(offset), reaction: { mid: 'm_bot_1', action, reaction: 'love', emoji: '❤' } });
    expect(await c.sends(react('react', 3))).toEqual([text(c.id, EN('reaction.thanks'))]);
    expect(await c.sends(react('unreact', 4))).toEqual([]);
    expect(await c.sends(react('react', 5))).toEqual([]);
    expect((await c.harness.bot.store.getSent(c.key, 'm_bot_1'))?.reaction).toBe('❤');
  });

  it('does not answer reactions to messages the bot did not send', async () => {
    const c = customer();
    expect(await c.sends({ sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: Date.now(), reaction: { mid: 'm_someone_else', action: 'react', reaction: 'smile', emoji: '😆' } })).toEqual([]);
  });
});

describe('Attachments and unknown input', () => {
  it('answers a sticker, an image and unknown text', async () => {
    const c = ana();
    const message = (mid: string, url: string, extra: Record<string, unknown> = {}) => ({
      sender: { id: c.id },
      recipient: { id: PAGE_ID },
      timestamp: Date.now(),
      message: { mid, attachments: [{ type: 'image', payload: { url, ...extra } }] },
    });
    expect(await c.sends(message('m_s', 'https://scontent.example/sticker.png', { sticker_id: 369239263222822 }))).toEqual([text(c.id, EN('attachment.sticker'))]);
    expect(await c.sends(message('m_i', 'https://scontent.example/cat.jpg'))).toEqual([text(c.id, EN('attachment.image'), mainMenuIn('en_US'))]);
    expect(await c.says('do you sell coffee')).toEqual([text(c.id, EN('fallback'), mainMenuIn('en_US'))]);
  });
});

describe('Timestamps', () => {
  it("answers a message whose timestamp is years old (Meta's documented example payloads): older than any redelivery, it counts as received now", async () => {
    const c = ana();
    const old = { sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: 1458692752478, message: { mid: 'mid.1457764197618:41d102a3e1ae206a38', text: 'hello' } };
    expect(await c.sends(old)).toEqual([text(c.id, EN('welcome.named', { name: 'Ana' })), text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
  });
});

describe('Events that never trigger a send', () => {
  it.each(['messenger-echo', 'instagram-echo', 'messenger-standby', 'instagram-standby', 'messenger-policy-enforcement', 'messenger-read', 'messenger-delivery', 'page-feed', 'instagram-unsend', 'messenger-message-edit', 'messenger-game-play'])(
    '%s',
    async (name) => {
      const c = customer();
      expect(await c.posts(fixture(name))).toEqual([]);
      expect(c.graph.sends()).toEqual([]);
    },
  );

  it('sender-less opt-ins (checkbox plugin user_ref) send nothing', async () => {
    const c = customer();
    expect(await c.posts(notification('page', { recipient: { id: PAGE_ID }, timestamp: Date.now(), optin: { ref: 'checkout', user_ref: 'uref_1' } }))).toEqual([]);
    expect(c.graph.calls).toEqual([]);
  });
});

describe('Account linking', () => {
  it('confirms a linked account with the shop name', async () => {
    const c = customer({ profile: { first_name: 'Ana' } });
    const linking = { sender: { id: c.id }, recipient: { id: PAGE_ID }, timestamp: Date.now(), account_linking: { status: 'linked', authorization_code: 'code-1' } };
    expect(await c.sends(linking)).toEqual([text(c.id, EN('account_linking.linked'))]);
    expect(EN('account_linking.linked')).toContain(shop.name);
  });
});

describe('Instagram', () => {
  it('welcomes with the Instagram name once it is looked up (after the first answer), in the default language, with quick replies', async () => {
    const maya = customer({ channel: 'instagram', profile: { name: 'Maya Putri', username: 'maya.p' } });
    expect(await maya.says('hello')).toEqual([text(maya.id, EN('welcome.anonymous')), text(maya.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(maya.graph.profileLookups()[0]?.query.fields).toBe('name,username,profile_pic');
    expect(await maya.says('hello')).toEqual([text(maya.id, EN('welcome.named', { name: 'Maya' })), text(maya.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
  });

  it('speaks the language of a greeting, since Instagram profiles have no locale', async () => {
    const maya = customer({ channel: 'instagram', profile: { name: 'Maya Putri' }, known: true });
    expect(await maya.says('Halo!')).toEqual([text(maya.id, t('id_ID')('welcome.named', { name: 'Maya' })), text(maya.id, t('id_ID')('menu.prompt'), mainMenuIn('id_ID'))]);
    const [intro] = await maya.taps('BROWSE');
    expect(intro).toEqual(text(maya.id, t('id_ID')('browse.intro')));
  });

  it('shows product details as a one-card generic template (no button template on Instagram)', async () => {
    const maya = customer({ channel: 'instagram', profile: { name: 'Maya' } });
    const [first] = (await maya.presses('PRODUCT_DETAILS:sencha')) as { message: { attachment: { payload: { template_type: string; elements: unknown[] } } } }[];
    expect(first?.message.attachment.payload.template_type).toBe('generic');
    expect(first?.message.attachment.payload.elements).toHaveLength(1);
  });

  it('never answers an Instagram echo even though it arrives under messages', async () => {
    const maya = customer({ channel: 'instagram' });
    expect(await maya.sends({ sender: { id: IG_ID }, recipient: { id: maya.id }, timestamp: Date.now(), message: { mid: 'm_e', text: 'Hi Maya!', is_echo: true } })).toEqual([]);
    expect(maya.graph.calls).toEqual([]);
  });
});

describe('Two users at once', () => {
  it('answers each in their own language when their messages arrive in one batch', async () => {
    const ANA = '24000000000000001';
    const BUDI = '24000000000000002';
    const h = createHarness();
    const graph = fakeGraph();
    // Both have written before: their profiles (Spanish, Indonesian) are cached. Both now write in English.
    await h.bot.store.putUser(userKey(PAGE_ID, 'messenger', ANA), { profile: { first_name: 'Ana', locale: 'es_ES', fetched_at: Date.now() } });
    await h.bot.store.putUser(userKey(PAGE_ID, 'messenger', BUDI), { profile: { first_name: 'Budi', locale: 'id_ID', fetched_at: Date.now() } });
    const a = textFrom(ANA, 'hello');
    const b = textFrom(BUDI, 'hello');
    expect((await postSigned(h.app, { object: 'page', entry: [...a.entry, ...b.entry] })).status).toBe(200);
    await h.bot.idle();
    expect(graph.messages(ANA)).toEqual([text(ANA, ES('welcome.named', { name: 'Ana' })), text(ANA, ES('menu.prompt'), mainMenuIn('es_ES'))]);
    expect(graph.messages(BUDI)).toEqual([text(BUDI, t('id_ID')('welcome.named', { name: 'Budi' })), text(BUDI, t('id_ID')('menu.prompt'), mainMenuIn('id_ID'))]);
  });
});

describe('Errors', () => {
  it('sends a localised apology, never error text, when Graph refuses a reply', async () => {
    let refused = false;
    const c = customer({
      profile: { first_name: 'Ana', locale: 'es_ES' },
      known: true,
      failSend: (body) => {
        if (!JSON.stringify(body).includes('Ana') || refused) return undefined;
        refused = true;
        return { status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'AxYz123' } } };
      },
    });
    expect(await c.says('hola')).toEqual([text(c.id, ES('welcome.named', { name: 'Ana' })), text(c.id, ES('apology'))]);
    const failure = c.harness.logs.find((l) => l.msg === 'send failed permanently, not retried') as { err: { details: Record<string, unknown> } } | undefined;
    expect(failure?.err.details).toMatchObject({ code: 100, fbtrace_id: 'AxYz123', status: 400, endpoint: 'POST /v24.0/me/messages' });
  });

  it('does not apologise to a user who cannot be reached (outside the 24-hour window)', async () => {
    const c = customer({
      profile: { first_name: 'Ana' },
      failSend: (body) => ('message' in (body as object) ? { status: 400, body: { error: { message: 'outside window', code: 10, error_subcode: 2018278, fbtrace_id: 'T' } } } : undefined),
    });
    await c.says('hi');
    // The first message fails; nothing after it.
    expect(c.graph.sends()).toHaveLength(1);
  });
});
