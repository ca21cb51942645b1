import { describe, expect, it } from '@jest/globals';
import { PAGE_INBOX_APP_ID } from '../services/graph/send-api.ts';
import { APP_ID, IG_ID, PAGE_ID, createHarness, fakeGraph, fixture, notification, postSigned, postbackFrom, quickReplyFrom, textFrom } from './support/harness.ts';

const ANA = '24000000000000001';
const BUDI = '24000000000000002';
const IG_USER = '7650000000000001';
const URL = 'https://bot.example.test';

const typing = (id: string) => ({ recipient: { id }, sender_action: 'typing_on' });
const text = (id: string, t: string, quick_replies?: unknown[]) => ({
  recipient: { id },
  messaging_type: 'RESPONSE',
  message: quick_replies ? { text: t, quick_replies } : { text: t },
});
const qr = (title: string, payload: string) => ({ content_type: 'text', title, payload });
const MENU_EN = [qr('Browse teas', 'BROWSE'), qr('Order status', 'ORDER_STATUS'), qr('Talk to a person', 'TALK_TO_HUMAN'), qr('Language', 'LANGUAGE')];
const WELCOME_TAIL = "Welcome to Tidewater Tea Co. 🍵 I can show you our teas, check an order, or get you a person from our team.";

async function say(h: ReturnType<typeof createHarness>, body: unknown) {
  const res = await postSigned(h.app, body);
  expect(res.status).toBe(200);
  await h.bot.idle();
}

describe('Get Started and greetings', () => {
  it('welcomes by first name from the User Profile API, then shows the main menu', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', last_name: 'Lee', locale: 'en_US' } } });
    await say(h, postbackFrom(ANA, 'GET_STARTED'));
    expect(graph.sends()).toEqual([typing(ANA), text(ANA, `Hi Ana! ${WELCOME_TAIL}`), text(ANA, 'What would you like to do?', MENU_EN)]);
    const profileCall = graph.calls.find((c) => c.method === 'GET');
    expect(profileCall?.path).toBe(`/v24.0/${ANA}`);
    expect(profileCall?.query.fields).toBe('first_name,last_name,profile_pic,locale');
  });

  it('sends every call with the token in the Authorization header and appsecret_proof, never in the URL', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await say(h, textFrom(ANA, 'hi'));
    expect(graph.calls.length).toBeGreaterThan(1);
    for (const call of graph.calls) {
      expect(call.authorization).toBe(`Bearer ${h.config.PAGE_ACCESS_TOKEN}`);
      expect(call.query.appsecret_proof).toMatch(/^[0-9a-f]{64}$/);
      expect(call.query.access_token).toBeUndefined();
      expect(JSON.stringify(call)).not.toContain(`access_token`);
    }
  });

  it('caches the profile: a second message does not fetch it again', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await say(h, textFrom(ANA, 'hello'));
    await say(h, textFrom(ANA, 'hey'));
    expect(graph.calls.filter((c) => c.method === 'GET')).toHaveLength(1);
  });

  it('falls back to a greeting without a name when the profile cannot be read', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: {} });
    await say(h, textFrom(ANA, 'Hello!'));
    expect(graph.sends()).toEqual([typing(ANA), text(ANA, `Hi there! ${WELCOME_TAIL}`), text(ANA, 'What would you like to do?', MENU_EN)]);
  });

  it('answers in the nearest supported language of the profile locale (es_MX → Spanish)', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'es_MX' } } });
    await say(h, textFrom(ANA, 'hola'));
    const welcome = graph.sends()[1] as { message: { text: string } };
    expect(welcome.message.text).toMatch(/^¡?Hola,? Ana/);
  });
});

describe('Browse', () => {
  it('shows a generic-template carousel with images under APP_URL, a postback and a web_url button per card', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Browse teas', 'BROWSE'));
    const sends = graph.sends();
    expect(sends[0]).toEqual(typing(ANA));
    expect(sends[1]).toEqual(text(ANA, "Here are this season's teas. Swipe to see them all:"));
    expect(sends[2]).toEqual({
      recipient: { id: ANA },
      messaging_type: 'RESPONSE',
      message: {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'generic',
            elements: [
              card('sencha', 'Morning Sencha', 'Grassy Japanese green tea · $12.50'),
              card('earl-grey', 'Harbour Earl Grey', 'Black tea with bergamot · $10.00'),
              card('jasmine-pearls', 'Jasmine Pearls', 'Hand-rolled, scented 6 times · $18.00'),
              card('oolong', 'Mountain Oolong', 'Creamy high-mountain oolong · $15.75'),
            ],
          },
        },
      },
    });
  });

  it('answers a details postback with a button template for that product', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, postbackFrom(ANA, 'PRODUCT_DETAILS:oolong'));
    expect(graph.sends()[1]).toEqual({
      recipient: { id: ANA },
      messaging_type: 'RESPONSE',
      message: {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'button',
            text: 'Mountain Oolong · $15.75\n\nLightly oxidised oolong from 1,500 m, creamy and floral. Steep 5 times or more, 1 minute at 90 °C. 75 g tin.',
            buttons: [
              { type: 'web_url', title: 'Buy online', url: `${URL}/shop.html#oolong` },
              { type: 'postback', title: 'All teas', payload: 'BROWSE' },
            ],
          },
        },
      },
    });
  });

  it('treats a details postback for a product that does not exist as unknown input', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, postbackFrom(ANA, 'PRODUCT_DETAILS:matcha'));
    expect(graph.sends()[1]).toEqual(text(ANA, "Sorry, I didn't catch that. Here's what I can help with:", MENU_EN));
  });
});

function card(id: string, title: string, subtitle: string) {
  return {
    title,
    subtitle,
    image_url: `${URL}/images/${id}.png`,
    buttons: [
      { type: 'postback', title: 'Details', payload: `PRODUCT_DETAILS:${id}` },
      { type: 'web_url', title: 'Buy online', url: `${URL}/shop.html#${id}` },
    ],
  };
}

describe('Order status', () => {
  const CANCEL = [qr('Cancel', 'CANCEL')];

  it('asks for the number, explains a malformed one, a missing one, then answers a real one', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Order status', 'ORDER_STATUS'));
    await say(h, textFrom(ANA, '12'));
    await say(h, textFrom(ANA, 'TW-99999'));
    await say(h, textFrom(ANA, 'tw 10232'));
    const replies = graph.sends().filter((b) => !('sender_action' in (b as object)));
    expect(replies).toEqual([
      text(ANA, 'Sure! Please type your order number. It looks like TW-10231 and is in your confirmation email.', CANCEL),
      text(ANA, '"12" doesn\'t look like an order number. It should be TW- followed by five digits, like TW-10231. Please try again, or tap Cancel.', CANCEL),
      text(ANA, "I couldn't find order TW-99999. Please check the number in your confirmation email and type it again, or tap Cancel.", CANCEL),
      text(ANA, 'Order TW-10232 is on its way with Harbor Post. Tracking number: HP4417902218.', MENU_EN),
    ]);
    // The step is over: the same text is now just unknown input.
    await say(h, textFrom(ANA, 'TW-10232'));
    expect(graph.sends().at(-1)).toEqual(text(ANA, "Sorry, I didn't catch that. Here's what I can help with:", MENU_EN));
  });

  it('lets the user cancel the question', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Order status', 'ORDER_STATUS'));
    await say(h, quickReplyFrom(ANA, 'Cancel', 'CANCEL'));
    await say(h, textFrom(ANA, 'TW-10231'));
    const replies = graph.sends().filter((b) => !('sender_action' in (b as object)));
    expect(replies[1]).toEqual(text(ANA, 'No problem. Anything else?', MENU_EN));
    expect(replies[2]).toEqual(text(ANA, "Sorry, I didn't catch that. Here's what I can help with:", MENU_EN));
  });

  it('formats dates in the user language (delivered order, Indonesian)', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'id_ID' } } });
    await say(h, quickReplyFrom(ANA, 'Status pesanan', 'ORDER_STATUS'));
    await say(h, textFrom(ANA, '#10233'));
    const last = graph.sends().at(-1) as { message: { text: string } };
    expect(last.message.text).toContain('TW-10233');
    expect(last.message.text).toContain('14 Nov 2026');
  });
});

describe('Talk to a person', () => {
  it('tells the user, passes the thread to the Page Inbox, stays quiet on standby, and resumes when control comes back', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Talk to a person', 'TALK_TO_HUMAN'));
    const handoff = graph.calls.filter((c) => c.method === 'POST');
    expect(handoff.map((c) => c.path)).toEqual(['/v24.0/me/messages', '/v24.0/me/messages', '/v24.0/me/pass_thread_control']);
    expect(handoff[1]?.body).toEqual(text(ANA, "I'm handing you over to a person from our team. They'll reply right here, usually within a few hours."));
    expect(handoff[2]?.body).toEqual({ recipient: { id: ANA }, target_app_id: PAGE_INBOX_APP_ID, metadata: 'customer asked for a person' });

    const before = graph.calls.length;
    await say(h, { object: 'page', entry: [{ id: PAGE_ID, time: 1, standby: [{ sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'm_sb', text: 'hello?' } }] }] });
    expect(graph.calls.length).toBe(before);

    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() + 0, pass_thread_control: { previous_owner_app_id: PAGE_INBOX_APP_ID, new_owner_app_id: APP_ID, metadata: 'done' } }));
    expect(graph.sends().at(-1)).toEqual(text(ANA, "I'm back! Our team has finished helping you. What would you like to do next?", MENU_EN));
  });

  it('never sends for take_thread_control, request_thread_control or app_roles', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await say(h, fixture('messenger-handover'));
    expect(graph.sends().filter((b) => !isPassBack(b))).toEqual([]);
  });
});

function isPassBack(body: unknown): boolean {
  return JSON.stringify(body).includes("I'm back");
}

describe('Language', () => {
  it('offers the four languages by their own names and keeps the choice for that user', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Language', 'LANGUAGE'));
    expect(graph.sends()[1]).toEqual(
      text(ANA, 'Which language would you like me to use?', [
        qr('English', 'SET_LOCALE:en_US'),
        qr('Bahasa Indonesia', 'SET_LOCALE:id_ID'),
        qr('繁體中文', 'SET_LOCALE:zh_TW'),
        qr('Español', 'SET_LOCALE:es_ES'),
      ]),
    );
    await say(h, quickReplyFrom(ANA, '繁體中文', 'SET_LOCALE:zh_TW'));
    await say(h, textFrom(ANA, 'hello'));
    const texts = graph.sends().map((b) => (b as { message?: { text?: string } }).message?.text).filter(Boolean);
    expect(texts.at(-2)).toMatch(/Ana/);
    expect(texts.at(-2)).toMatch(/[\u4e00-\u9fff]/);
    expect(texts.at(-1)).not.toMatch(/What would you like/);
  });
});

describe('Reactions, reads and deliveries', () => {
  it('thanks once for a reaction to a bot message, records unreact silently, and tracks sent → delivered → read', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, textFrom(ANA, 'hi'));
    const key = `messenger:${ANA}`;
    expect((await h.bot.store.getSent(key, 'm_bot_1'))?.status).toBe('sent');

    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() + 0, delivery: { mids: ['m_bot_1'], watermark: 0 } }));
    expect((await h.bot.store.getSent(key, 'm_bot_1'))?.status).toBe('delivered');
    expect((await h.bot.store.getSent(key, 'm_bot_2'))?.status).toBe('sent');

    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() + 1, read: { watermark: Date.now() + 1000 } }));
    expect((await h.bot.store.getSent(key, 'm_bot_2'))?.status).toBe('read');
    // A late delivery never moves a read message back.
    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() + 2, delivery: { mids: ['m_bot_2'], watermark: 0 } }));
    expect((await h.bot.store.getSent(key, 'm_bot_2'))?.status).toBe('read');
    const sendsBefore = graph.sends().length;

    const react = (action: 'react' | 'unreact', ts: number) =>
      notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: ts, reaction: { mid: 'm_bot_1', action, reaction: 'love', emoji: '❤' } });
    await say(h, react('react', Date.now()));
    await say(h, react('unreact', Date.now() + 1));
    await say(h, react('react', Date.now() + 2));
    expect(graph.sends().slice(sendsBefore)).toEqual([text(ANA, 'Thanks for the reaction! 💛')]);
    expect((await h.bot.store.getSent(key, 'm_bot_1'))?.reaction).toBe('❤');
  });

  it('does not answer reactions to messages the bot did not send', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana' } } });
    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now(), reaction: { mid: 'm_someone_else', action: 'react', reaction: 'smile', emoji: '😆' } }));
    expect(graph.sends()).toEqual([]);
  });
});

describe('Attachments and unknown input', () => {
  it('answers a sticker, an image and unknown text', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'm_s', attachments: [{ type: 'image', payload: { url: 'https://scontent.example/sticker.png', sticker_id: 369239263222822 } }] } }));
    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'm_i', attachments: [{ type: 'image', payload: { url: 'https://scontent.example/cat.jpg' } }] } }));
    await say(h, textFrom(ANA, 'do you sell coffee'));
    const replies = graph.sends().filter((b) => !('sender_action' in (b as object)));
    expect(replies).toEqual([
      text(ANA, 'Love the sticker! 😄'),
      text(ANA, "What a lovely picture! 📷 I can't look at images myself, but I can help you with the options below.", MENU_EN),
      text(ANA, "Sorry, I didn't catch that. Here's what I can help with:", MENU_EN),
    ]);
  });
});

describe('Timestamps', () => {
  it("answers a message whose timestamp is years old (Meta's documented example payloads): older than any redelivery, it counts as received now", async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, notification('page', { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: 1458692752478, message: { mid: 'mid.1457764197618:41d102a3e1ae206a38', text: 'hello' } }));
    expect(graph.sends()).toEqual([typing(ANA), text(ANA, `Hi Ana! ${WELCOME_TAIL}`), text(ANA, 'What would you like to do?', MENU_EN)]);
  });
});

describe('Events that never trigger a send', () => {
  it.each(['messenger-echo', 'instagram-echo', 'messenger-standby', 'instagram-standby', 'messenger-policy-enforcement', 'messenger-read', 'messenger-delivery', 'page-feed', 'instagram-unsend', 'messenger-message-edit', 'messenger-game-play'])(
    '%s',
    async (name) => {
      const h = createHarness();
      const graph = fakeGraph({ profiles: {} });
      await say(h, fixture(name));
      expect(graph.sends()).toEqual([]);
    },
  );

  it('sender-less opt-ins (checkbox plugin user_ref) send nothing', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: {} });
    await say(h, notification('page', { recipient: { id: PAGE_ID }, timestamp: Date.now(), optin: { ref: 'checkout', user_ref: 'uref_1' } }));
    expect(graph.calls).toEqual([]);
  });
});

describe('Instagram', () => {
  it('welcomes with the Instagram name, in the default language, with quick replies', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [IG_USER]: { name: 'Maya Putri', username: 'maya.p' } } });
    await say(h, textFrom(IG_USER, 'hello', 'instagram'));
    expect(graph.calls.find((c) => c.method === 'GET')?.query.fields).toBe('name,username,profile_pic');
    expect(graph.sends()).toEqual([typing(IG_USER), text(IG_USER, `Hi Maya! ${WELCOME_TAIL}`), text(IG_USER, 'What would you like to do?', MENU_EN)]);
  });

  it('shows product details as a one-card generic template (no button template on Instagram)', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [IG_USER]: { name: 'Maya' } } });
    await say(h, postbackFrom(IG_USER, 'PRODUCT_DETAILS:sencha', 'instagram'));
    const first = graph.sends()[1] as { message: { attachment: { payload: { template_type: string; elements: unknown[] } } } };
    expect(first.message.attachment.payload.template_type).toBe('generic');
    expect(first.message.attachment.payload.elements).toHaveLength(1);
  });

  it('never answers an Instagram echo even though it arrives under messages', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: {} });
    await say(h, notification('instagram', { sender: { id: IG_ID }, recipient: { id: IG_USER }, timestamp: Date.now(), message: { mid: 'm_e', text: 'Hi Maya!', is_echo: true } }));
    expect(graph.calls).toEqual([]);
  });
});

describe('Two users at once', () => {
  it('answers each in their own language when their messages arrive in one batch', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'es_ES' }, [BUDI]: { first_name: 'Budi', locale: 'id_ID' } } });
    const a = textFrom(ANA, 'hola');
    const b = textFrom(BUDI, 'halo');
    await say(h, { object: 'page', entry: [...a.entry, ...b.entry] });
    const toAna = graph.sends().filter((s) => (s as { recipient: { id: string } }).recipient.id === ANA && 'message' in (s as object));
    const toBudi = graph.sends().filter((s) => (s as { recipient: { id: string } }).recipient.id === BUDI && 'message' in (s as object));
    const es = (toAna[1] as { message: { quick_replies: { title: string }[] } }).message.quick_replies.map((q) => q.title);
    const id = (toBudi[1] as { message: { quick_replies: { title: string }[] } }).message.quick_replies.map((q) => q.title);
    expect(JSON.stringify(toAna)).toContain('Ana');
    expect(JSON.stringify(toBudi)).toContain('Budi');
    expect(es).not.toEqual(id);
    expect(es).not.toEqual(MENU_EN.map((q) => q.title));
    expect(id).not.toEqual(MENU_EN.map((q) => q.title));
  });
});

describe('Errors', () => {
  it('sends a localised apology, never error text, when Graph refuses a reply', async () => {
    const h = createHarness();
    let refused = false;
    const graph = fakeGraph({
      profiles: { [ANA]: { first_name: 'Ana', locale: 'es_ES' } },
      failSend: (body) => {
        const isWelcome = JSON.stringify(body).includes('Ana');
        if (isWelcome && !refused) {
          refused = true;
          return { status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'AxYz123' } } };
        }
        return undefined;
      },
    });
    await say(h, textFrom(ANA, 'hola'));
    const last = graph.sends().at(-1) as { message: { text: string } };
    expect(last.message.text).not.toMatch(/Invalid parameter|#100|OAuthException/);
    expect(last.message.text).not.toBe('Sorry, something went wrong on our side. Please try again in a moment.');
    const failure = h.logs.find((l) => l.msg === 'send failed permanently, not retried') as { err: { details: Record<string, unknown> } } | undefined;
    expect(failure?.err.details).toMatchObject({ code: 100, fbtrace_id: 'AxYz123', status: 400, endpoint: 'POST /v24.0/me/messages' });
  });

  it('does not apologise to a user who cannot be reached (outside the 24-hour window)', async () => {
    const h = createHarness();
    const graph = fakeGraph({
      profiles: { [ANA]: { first_name: 'Ana' } },
      failSend: (body) => ('message' in (body as object) ? { status: 400, body: { error: { message: 'outside window', code: 10, error_subcode: 2018278, fbtrace_id: 'T' } } } : undefined),
    });
    await say(h, textFrom(ANA, 'hi'));
    // typing_on, then the first message fails; nothing after it.
    expect(graph.sends()).toHaveLength(2);
  });
});
