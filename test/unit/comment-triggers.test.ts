// data/comment-replies.json: what the shipped example answers, how words are found in a comment
// (as whole words, whatever the case, accents or punctuation; anywhere in scripts without spaces),
// where a trigger answers, and the start-up errors that name the file and the field.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commentTriggers, loadCommentTriggers, type CommentTrigger } from '../../services/comments/triggers.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
import { withDataDir } from '../support/data-dir.ts';

const ENGLISH = fileURLToPath(new URL('../../locales/en_US.json', import.meta.url));
const shipped = JSON.parse(readFileSync(new URL('../../data/comment-replies.json', import.meta.url), 'utf8')) as Record<string, unknown>[];

const trigger = (changes: Partial<CommentTrigger> = {}): CommentTrigger => ({
  name: 'price',
  keywords: { en_US: ['price', 'how much'], es_ES: ['precio'], zh_TW: ['價格'], id_ID: ['harga'] },
  platforms: ['facebook', 'instagram'],
  private_reply: { text: 'browse.intro', menu: true },
  ...changes,
});

describe('the shipped triggers', () => {
  const { commentReplies } = loadCatalog();

  it('answer "price" and its Indonesian, Traditional Chinese and Spanish words, privately with the carousel\'s opening line and the menu, publicly with a note', () => {
    expect(commentReplies.triggers).toEqual([
      expect.objectContaining({ name: 'price', private_reply: { text: 'browse.intro', menu: true }, public_reply: { text: 'comments.public_reply' }, platforms: ['facebook', 'instagram'] }),
    ]);
    for (const [text, locale] of [
      ['price', 'en_US'],
      ['harga', 'id_ID'],
      ['價格', 'zh_TW'],
      ['precio', 'es_ES'],
    ] as const) {
      expect(commentReplies.match({ channel: 'instagram', text, media_id: '17800000000000001' })).toEqual({ trigger: commentReplies.triggers[0], locales: [locale] });
      expect(commentReplies.match({ channel: 'messenger', text, post_id: '1_2' })?.locales).toEqual([locale]);
    }
    expect(commentReplies.covers('messenger')).toBe(true);
    expect(commentReplies.covers('instagram')).toBe(true);
  });
});

describe('matching a comment', () => {
  const triggers = commentTriggers([trigger()]);
  const match = (text: string) => triggers.match({ channel: 'messenger', text, post_id: '1_2' })?.locales;

  it.each([
    ['Price?', ['en_US']],
    ['PRICE please 🙏', ['en_US']],
    ['@ana.lee price', ['en_US']],
    ['How   much??', ['en_US']],
    ['¿Precio?', ['es_ES']],
    ['PRECIO!!!', ['es_ES']],
    ['請問價格多少？', ['zh_TW']],
    ['Harga berapa kak', ['id_ID']],
    ['price / precio', ['en_US', 'es_ES']],
  ])('%j matches in %j', (text, locales) => {
    expect(match(text)).toEqual(locales);
  });

  it.each(['priceless', 'nice pics', '', '🙏🙏', 'prices are high'])('%j does not match', (text) => {
    expect(match(text)).toBeUndefined();
  });

  it('tries triggers in the file\'s order: the first that matches wins', () => {
    const two = commentTriggers([trigger({ name: 'first', keywords: { en_US: ['tea'] } }), trigger({ name: 'second', keywords: { en_US: ['tea', 'price'] } })]);
    expect(two.match({ channel: 'messenger', text: 'tea price', post_id: '1_2' })?.trigger.name).toBe('first');
    expect(two.match({ channel: 'messenger', text: 'price', post_id: '1_2' })?.trigger.name).toBe('second');
  });
});

describe('where a trigger answers', () => {
  it('on every post of both platforms by default', () => {
    const all = commentTriggers([trigger()]);
    expect(all.match({ channel: 'messenger', text: 'price', post_id: '1_9' })).toBeDefined();
    expect(all.match({ channel: 'instagram', text: 'price', media_id: '9' })).toBeDefined();
  });

  it('named posts: only those Facebook posts (full id or the post\'s own id), and no Instagram media', () => {
    const some = commentTriggers([trigger({ post_ids: ['1234567890_7000000000000001', '7000000000000002'] })]);
    expect(some.match({ channel: 'messenger', text: 'price', post_id: '1234567890_7000000000000001' })).toBeDefined();
    expect(some.match({ channel: 'messenger', text: 'price', post_id: '1234567890_7000000000000002' })).toBeDefined();
    expect(some.match({ channel: 'messenger', text: 'price', post_id: '1234567890_7000000000000003' })).toBeUndefined();
    expect(some.match({ channel: 'instagram', text: 'price', media_id: '7000000000000001' })).toBeUndefined();
    expect(some.covers('instagram')).toBe(false);
  });

  it('named media: only those Instagram media; platforms: only there', () => {
    const media = commentTriggers([trigger({ media_ids: ['17800000000000001'] })]);
    expect(media.match({ channel: 'instagram', text: 'price', media_id: '17800000000000001' })).toBeDefined();
    expect(media.match({ channel: 'instagram', text: 'price', media_id: '17800000000000002' })).toBeUndefined();
    expect(media.match({ channel: 'messenger', text: 'price', post_id: '1_2' })).toBeUndefined();
    const instagram = commentTriggers([trigger({ platforms: ['instagram'] })]);
    expect(instagram.match({ channel: 'messenger', text: 'price', post_id: '1_2' })).toBeUndefined();
    expect(instagram.covers('messenger')).toBe(false);
    expect(commentTriggers([]).covers('instagram')).toBe(false);
  });
});

describe('data/comment-replies.json is validated at start-up, the error naming the field', () => {
  const load = (content: unknown) => () => withDataDir({ 'comment-replies.json': content }, (dir) => loadCommentTriggers(dir, ENGLISH));
  const one = (changes: Record<string, unknown>) => [{ ...shipped[0], ...changes }];

  it('a shop without the file has no triggers', () => {
    const none = withDataDir({}, (dir) => loadCommentTriggers(`${dir}missing/`, ENGLISH));
    expect(none.triggers).toEqual([]);
  });

  it.each([
    ['not JSON', '[{"name": "price",', /^data\/comment-replies\.json: not valid JSON/],
    ['not an array', { price: {} }, 'data/comment-replies.json: (top level) must be a JSON array, got an object'],
    ['a misspelt field', one({ keyword: {} }), 'data/comment-replies.json: [0] has unknown field "keyword" (known: name, keywords, platforms, post_ids, media_ids, private_reply, public_reply)'],
    ['no name', one({ name: undefined }), 'data/comment-replies.json: [0].name must be a non-empty string, got nothing (the field is missing)'],
    ['a name with spaces', one({ name: 'Price list' }), 'data/comment-replies.json: [0].name must be lower-case letters'],
    ['a duplicate name', [shipped[0], shipped[0]], 'data/comment-replies.json: [1].name "price" appears twice'],
    ['an unknown language', one({ keywords: { fr_FR: ['prix'] } }), 'data/comment-replies.json: [0].keywords has unknown field "fr_FR" (known: en_US, id_ID, zh_TW, es_ES)'],
    ['words that are not a list', one({ keywords: { en_US: 'price' } }), 'data/comment-replies.json: [0].keywords.en_US must be a JSON array, got "price"'],
    ['a word of punctuation only', one({ keywords: { en_US: ['price', '???'] } }), 'data/comment-replies.json: [0].keywords.en_US[1] "???" has no letters or digits left to match'],
    ['no words at all', one({ keywords: { en_US: [] } }), 'data/comment-replies.json: [0].keywords has no words'],
    ['no private reply', one({ private_reply: undefined }), 'data/comment-replies.json: [0].private_reply must be an object, got nothing (the field is missing)'],
    ['a text that is not a translation', one({ private_reply: { text: 'browse.intorduction' } }), 'data/comment-replies.json: [0].private_reply.text "browse.intorduction" is not a text in locales/en_US.json'],
    ['a text with variables', one({ private_reply: { text: 'welcome.named' } }), 'data/comment-replies.json: [0].private_reply.text "welcome.named" needs {{name}}, which a comment reply cannot fill'],
    ['menu that is not a boolean', one({ private_reply: { text: 'browse.intro', menu: 'yes' } }), 'data/comment-replies.json: [0].private_reply.menu must be true or false, got "yes"'],
    ['a public reply without text', one({ public_reply: {} }), 'data/comment-replies.json: [0].public_reply.text must be a non-empty string'],
    ['a bad post id', one({ post_ids: ['my-post'] }), 'data/comment-replies.json: [0].post_ids[0] must be a Facebook post id'],
    ['an empty media list', one({ media_ids: [] }), 'data/comment-replies.json: [0].media_ids is empty: leave it out to answer comments on every post'],
    ['an unknown platform', one({ platforms: ['tiktok'] }), 'data/comment-replies.json: [0].platforms[0] must be one of "facebook", "instagram", got "tiktok"'],
    ['posts on a platform left out', one({ platforms: ['instagram'], post_ids: ['1_2'] }), 'data/comment-replies.json: [0].post_ids names Facebook posts, but platforms leaves out "facebook"'],
  ])('%s', (_what, content, message) => {
    expect(load(content)).toThrow(message);
  });

  it('start-up (loadCatalog) reads and checks the file too', () => {
    expect(() => withDataDir({ 'comment-replies.json': one({ private_reply: { text: 'nope' } }) }, (dir) => loadCatalog({ data: dir }))).toThrow('data/comment-replies.json: [0].private_reply.text "nope"');
  });
});
