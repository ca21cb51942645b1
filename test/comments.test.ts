// From comment to conversation, through the real app: signed comment notifications in Meta's
// documented shapes (test/fixtures/webhooks/) posted to /webhook, the Send API and comment-reply
// calls that come out (Graph faked by nock). The bot's clock runs at the fixtures' time, so the
// 7-day limit on private replies can be crossed on purpose.
import { afterEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import type { Locale, PlainMessageKey } from '../services/i18n.ts';
import { realTimers } from '../services/outbox/timers.ts';
import { mainMenuIn, t } from './support/chat.ts';
import { IG_ID, PAGE_ID, VERSION, createHarness, fixture, notification, postSigned, type Harness } from './support/harness.ts';
import { fakeGraph, type FakeGraph, type FakeGraphOptions } from './support/fake-graph.ts';

type Json = Record<string, unknown>;

/** created_time of the feed fixtures (seconds) and entry.time of the Instagram ones. */
const COMMENT_TIME = 1700000000 * 1000;
const DAY = 24 * 60 * 60 * 1000;
const FB_COMMENT = '7000000000000001_8000000000000002';
const IG_COMMENT = '17900000000000003';
const IGSID = '7650000000000001';

afterEach(() => {
  nock.cleanAll();
});

interface Shop {
  harness: Harness;
  graph: FakeGraph;
  /** Posts a notification and waits until every event is handled and every reply sent. */
  post(body: unknown): Promise<void>;
}

/** The real app with its clock at `at` (ms), and the fake Graph API. */
function shopAt(at: number, options: FakeGraphOptions = {}): Shop {
  const offset = at - Date.now();
  const harness = createHarness({}, { timers: { now: () => Date.now() + offset, sleep: (ms) => realTimers.sleep(ms) } });
  const graph = fakeGraph(options);
  return {
    harness,
    graph,
    async post(body) {
      const res = await postSigned(harness.app, body);
      expect(res.status).toBe(200);
      await harness.bot.idle();
    },
  };
}

/** The public replies under comments: where, what, and how many Send API calls went before. */
const publicReplies = (shop: Shop) => shop.graph.commentReplies().map(({ path, body, sendsBefore }) => ({ path, body, sendsBefore }));

const EN = t('en_US');
const privateReply = (commentId: string, locale: Locale = 'en_US') => ({
  recipient: { comment_id: commentId },
  messaging_type: 'RESPONSE',
  message: { text: t(locale)('browse.intro'), quick_replies: mainMenuIn(locale) },
});
const publicNote = (locale: Locale = 'en_US') => ({ message: t(locale)('comments.public_reply' satisfies PlainMessageKey) });

/** A fixture with its comment's text (and optionally id and author) replaced. */
function feedComment(changes: Json, base = 'page-feed-comment-add'): Json {
  const body = fixture(base) as { entry: { changes: { value: Json }[] }[] };
  const entry = body.entry[0] as { changes: { value: Json }[] };
  const value = { ...(entry.changes[0] as { value: Json }).value, ...changes };
  return { ...body, entry: [{ ...entry, changes: [{ field: 'feed', value }] }] };
}

function igComment(changes: Json, base = 'instagram-comment-price'): Json {
  const body = fixture(base) as { entry: { changes: { field: string; value: Json }[] }[] };
  const entry = body.entry[0] as { changes: { field: string; value: Json }[] };
  const change = entry.changes[0] as { field: string; value: Json };
  return { ...body, entry: [{ ...entry, changes: [{ field: change.field, value: { ...change.value, ...changes } }] }] };
}

describe('a matching new comment on Facebook', () => {
  it('gets one private reply to the comment (the carousel\'s opening line and the menu), then the public note under it', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('page-feed-comment-add'));
    expect(shop.graph.sends()).toEqual([privateReply(FB_COMMENT)]);
    // After the private reply: the note says a message was sent.
    expect(publicReplies(shop)).toEqual([{ path: `/${VERSION}/${FB_COMMENT}/comments`, body: publicNote(), sendsBefore: 1 }]);
    expect(shop.graph.calls.map((c) => c.path)).toEqual([`/${VERSION}/me/messages`, `/${VERSION}/${FB_COMMENT}/comments`]);
    expect(shop.harness.logs.some((l) => l.msg === 'comment answered' && l.trigger === 'price' && l.locale === 'en_US')).toBe(true);
  });

  it('is answered in the language of its words: Spanish, Indonesian, Traditional Chinese inside a sentence', async () => {
    const cases: [string, Locale][] = [
      ['¿Precio?', 'es_ES'],
      ['harga dong kak', 'id_ID'],
      ['請問價格多少', 'zh_TW'],
      ['PRICE please 🙏', 'en_US'],
    ];
    for (const [[words, locale], i] of cases.map((c, n) => [c, n] as const)) {
      const shop = shopAt(COMMENT_TIME + 60_000);
      const id = `7000000000000001_800000000000010${i}`;
      await shop.post(feedComment({ message: words, comment_id: id }));
      expect(shop.graph.sends()).toEqual([privateReply(id, locale)]);
      expect(publicReplies(shop).map((c) => c.body)).toEqual([publicNote(locale)]);
      nock.cleanAll();
    }
  });

  it('words of two languages leave the language unknown: the default is used', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(feedComment({ message: 'price / precio?' }));
    expect(shop.graph.sends()).toEqual([privateReply(FB_COMMENT, 'en_US')]);
  });

  it('a reply to another customer\'s comment is a comment too', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('page-feed-comment-reply'));
    expect(shop.graph.sends()).toEqual([privateReply('7000000000000001_8000000000000003', 'es_ES')]);
  });

  it('a comment that matches no trigger gets nothing', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(feedComment({ message: 'Lovely photo!' }));
    await shop.post(feedComment({ message: 'priceless view', comment_id: '7000000000000001_8000000000000077' }));
    expect(shop.graph.calls).toEqual([]);
    expect(publicReplies(shop)).toEqual([]);
  });
});

describe('a matching new comment on Instagram', () => {
  it('gets one private reply to the comment and a public reply on the replies edge', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('instagram-comment-price'));
    expect(shop.graph.sends()).toEqual([privateReply(IG_COMMENT)]);
    expect(publicReplies(shop)).toEqual([{ path: `/${VERSION}/${IG_COMMENT}/replies`, body: publicNote(), sendsBefore: 1 }]);
  });

  it('when Meta refuses the private reply (already replied), no public note says a message was sent, and no apology follows', async () => {
    const refused = { status: 400, body: { error: { message: '(#10900) Activity already replied to', type: 'OAuthException', code: 10900, fbtrace_id: 'AbC' } } };
    const shop = shopAt(COMMENT_TIME + 60_000, { failSend: () => refused });
    await shop.post(fixture('instagram-comment-price'));
    expect(shop.graph.sends()).toEqual([privateReply(IG_COMMENT)]);
    expect(publicReplies(shop)).toEqual([]);
  });

  it('live comments are answered the same way, in their language', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('instagram-live-comments'));
    expect(shop.graph.sends()).toEqual([privateReply('17900000000000006', 'es_ES')]);
  });
});

describe('never twice, never for ourselves, never when removed or hidden', () => {
  it('a redelivery, in the same or another batch, is answered once', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    const body = fixture('page-feed-comment-add') as { entry: Json[] };
    await shop.post(body);
    await shop.post(body);
    await shop.post({ ...body, entry: [{ ...body.entry[0], time: 1700003600 }] });
    const ig = fixture('instagram-comment-price') as { entry: Json[] };
    await shop.post(ig);
    await shop.post({ ...ig, entry: [{ ...ig.entry[0], time: 1700000500 }] });
    expect(shop.graph.sends()).toEqual([privateReply(FB_COMMENT), privateReply(IG_COMMENT)]);
    expect(publicReplies(shop)).toHaveLength(2);
  });

  it('an edit of an answered comment gets nothing more, nor does an edit that newly matches', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('page-feed-comment-add'));
    await shop.post(fixture('page-feed-comment-edited'));
    await shop.post(feedComment({ verb: 'edited', message: 'precio', comment_id: '7000000000000001_8000000000000055' }, 'page-feed-comment-edited'));
    expect(shop.graph.sends()).toEqual([privateReply(FB_COMMENT)]);
    expect(publicReplies(shop)).toHaveLength(1);
  });

  it('removed and hidden comments are left alone', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('page-feed-comment-remove'));
    await shop.post(fixture('page-feed-comment-hide'));
    expect(shop.graph.calls).toEqual([]);
    expect(publicReplies(shop)).toEqual([]);
  });

  it('the Page\'s and the Instagram account\'s own comments and replies are never answered, whatever they say', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('page-feed-own-comment'));
    await shop.post(feedComment({ message: 'price list below', from: { id: PAGE_ID, name: 'Tidewater Tea Co.' }, comment_id: '7000000000000001_8000000000000066' }));
    await shop.post(fixture('instagram-own-comment'));
    await shop.post(igComment({ id: '17900000000000099', text: 'price', from: { id: IG_ID, username: 'tidewater.tea' } }));
    expect(shop.graph.calls).toEqual([]);
    expect(publicReplies(shop)).toEqual([]);
  });

  it('a comment on another account\'s post is not ours to answer', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    const body = fixture('page-feed-comment-add') as { entry: Json[] };
    await shop.post({ ...body, entry: [{ ...body.entry[0], id: '999999999' }] });
    expect(shop.graph.calls).toEqual([]);
  });

  it('a comment without an author could be our own: not answered', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(feedComment({ from: undefined }));
    expect(shop.graph.calls).toEqual([]);
    expect(shop.harness.logs.some((l) => String(l.msg).includes('without from.id'))).toBe(true);
  });
});

describe('the 7-day limit of private replies', () => {
  it('a comment 6 days 23 hours old is answered; one 7 days old (or more) is refused locally with the reason logged', async () => {
    const fresh = shopAt(COMMENT_TIME + 7 * DAY - 60 * 60_000);
    await fresh.post(fixture('page-feed-comment-add'));
    expect(fresh.graph.sends()).toEqual([privateReply(FB_COMMENT)]);
    nock.cleanAll();

    // The Instagram comment came with entry.time, a second after the Facebook one was made.
    const stale = shopAt(COMMENT_TIME + 7 * DAY + 1000);
    await stale.post(fixture('page-feed-comment-add'));
    await stale.post(fixture('instagram-comment-price'));
    expect(stale.graph.calls).toEqual([]);
    expect(publicReplies(stale)).toEqual([]);
    const refusals = stale.harness.logs.filter((l) => l.msg === 'private reply refused: the comment is older than 7 days');
    expect(refusals.map((l) => [l.channel, l.comment_id, l.age_hours])).toEqual([
      ['messenger', FB_COMMENT, 168],
      ['instagram', IG_COMMENT, 168],
    ]);
  });
});

describe('when the customer answers the private reply', () => {
  it('Instagram: the commenter is the IGSID that writes next; the conversation goes on in the language of the comment', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(igComment({ text: 'precio por favor' }));
    expect(shop.graph.sends()).toEqual([privateReply(IG_COMMENT, 'es_ES')]);
    expect((await shop.harness.bot.store.getUser(`${PAGE_ID}/instagram:${IGSID}`)).locale).toBe('es_ES');
    // They tap "Ver tés" in the private reply's menu: a quick reply from their IGSID.
    await shop.post(
      notification('instagram', { sender: { id: IGSID }, recipient: { id: IG_ID }, timestamp: COMMENT_TIME + 120_000, message: { mid: 'aWdfZAG1faWQ6MTpJR01lc3NhZA2VfaWQ6tap1', text: t('es_ES')('menu.browse'), quick_reply: { payload: 'BROWSE' } } }),
    );
    const after = shop.graph.sends().slice(1) as Json[];
    expect(after[0]).toEqual({ recipient: { id: IGSID }, messaging_type: 'RESPONSE', message: { text: t('es_ES')('browse.intro') } });
    expect((after[1] as { message: { attachment: { payload: { template_type: string } } } }).message.attachment.payload.template_type).toBe('generic');
  });

  it('Facebook: the customer writes from a PSID the comment did not carry; they are answered like anyone: at once, then by name in their profile\'s language', async () => {
    const psid = '24000000000000555';
    const shop = shopAt(COMMENT_TIME + 60_000, { profiles: { [psid]: { first_name: 'Carla', locale: 'es_LA' } } });
    await shop.post(feedComment({ message: 'precio' }));
    expect(shop.graph.sends()).toEqual([privateReply(FB_COMMENT, 'es_ES')]);
    await shop.post(notification('page', { sender: { id: psid }, recipient: { id: PAGE_ID }, timestamp: COMMENT_TIME + 120_000, message: { mid: 'm_reply_1', text: 'hola' } }));
    // New to the bot: greeted at once, without a name, in the language of "hola".
    expect(shop.graph.messages(psid)[0]).toEqual({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: t('es_ES')('welcome.anonymous') } });
    await shop.post(notification('page', { sender: { id: psid }, recipient: { id: PAGE_ID }, timestamp: COMMENT_TIME + 180_000, message: { mid: 'm_reply_2', text: 'hello' } }));
    expect(shop.graph.messages(psid)[2]).toEqual({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: t('es_ES')('welcome.named', { name: 'Carla' }) } });
  });
});

describe('story mentions and story replies on Instagram', () => {
  const mention = (mid: string, at = COMMENT_TIME + 60_000) =>
    notification('instagram', { sender: { id: IGSID }, recipient: { id: IG_ID }, timestamp: at, message: { mid, attachments: [{ type: 'story_mention', payload: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=story-1&signature=abc' } }] } });
  const storyReply = (mid: string, text: string, story = '18000000000000003') =>
    notification('instagram', { sender: { id: IGSID }, recipient: { id: IG_ID }, timestamp: COMMENT_TIME + 90_000, message: { mid, text, reply_to: { story: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=story-2&signature=def', id: story } } } });
  const thanks = (key: 'stories.mention_thanks' | 'stories.reply_thanks', locale: Locale = 'en_US') => ({
    recipient: { id: IGSID },
    messaging_type: 'RESPONSE',
    message: { text: t(locale)(key), quick_replies: mainMenuIn(locale) },
  });

  it('a mention is thanked once, even redelivered; the CDN URL is in no stored state and no log line', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('instagram-story-mention'));
    await shop.post(fixture('instagram-story-mention'));
    expect(shop.graph.messages()).toEqual([thanks('stories.mention_thanks')]);
    const user = await shop.harness.bot.store.getUser(`${PAGE_ID}/instagram:${IGSID}`);
    expect(user.thanked_stories).toHaveLength(1);
    expect(JSON.stringify(user)).not.toContain('lookaside');
    expect(shop.harness.logText()).not.toContain('lookaside');
  });

  it('another story is thanked again; the user keeps only the last 20 stories', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    for (let i = 0; i < 22; i += 1) await shop.post(mention(`aWdfmention${i}`, COMMENT_TIME + 60_000 + i));
    expect(shop.graph.messages()).toHaveLength(22);
    expect((await shop.harness.bot.store.getUser(`${PAGE_ID}/instagram:${IGSID}`)).thanked_stories).toHaveLength(20);
  });

  it('a reply to our story is thanked once with the menu; the next reply to that story is answered as a message', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(fixture('instagram-story-reply'));
    await shop.post(storyReply('aWdfreply2', 'menu'));
    expect(shop.graph.messages()).toEqual([thanks('stories.reply_thanks'), { recipient: { id: IGSID }, messaging_type: 'RESPONSE', message: { text: EN('menu.prompt'), quick_replies: mainMenuIn('en_US') } }]);
  });

  it('a first reply that asks for something gets the thanks, then the answer, in the language of the words', async () => {
    const shop = shopAt(COMMENT_TIME + 60_000);
    await shop.post(storyReply('aWdfreply3', 'ayuda', '18000000000000009'));
    const ES = t('es_ES');
    expect(shop.graph.messages()).toEqual([
      { recipient: { id: IGSID }, messaging_type: 'RESPONSE', message: { text: ES('stories.reply_thanks') } },
      { recipient: { id: IGSID }, messaging_type: 'RESPONSE', message: { text: ES('menu.prompt'), quick_replies: mainMenuIn('es_ES') } },
    ]);
  });
});
