// Comments as the normaliser reads them, from Meta's documented payloads: Page `feed` changes with
// `item: "comment"` (add, edited, remove, hide, a reply to a comment, the Page's own comment) and
// Instagram `comments` / `live_comments`. Meta's `value` is handed on unchanged; malformed comments
// become unknown events with the reason. And the dedup keys: one per comment, whatever the batch.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { normalizeNotification } from '../services/events/normalize.ts';
import type { WebhookEvent } from '../services/events/types.ts';
import { laneOf } from '../services/inbox/lanes.ts';
import { eventKey } from '../services/inbox/event-key.ts';

type JsonObject = Record<string, unknown>;

const PAGE_ID = '1234567890';
const IG_ID = '17841400000000001';

function load(name: string): JsonObject {
  return JSON.parse(readFileSync(new URL(`./fixtures/webhooks/${name}.json`, import.meta.url), 'utf8')) as JsonObject;
}

function change(body: JsonObject): { field: string; value: JsonObject } {
  const entry = (body.entry as JsonObject[])[0] as JsonObject;
  return (entry.changes as { field: string; value: JsonObject }[])[0] as { field: string; value: JsonObject };
}

function only(body: unknown): WebhookEvent {
  const { events } = normalizeNotification(body);
  expect(events).toHaveLength(1);
  return events[0] as WebhookEvent;
}

const entryTime = (body: JsonObject) => ((body.entry as JsonObject[])[0]?.time as number) * 1000;
const FEED = { channel: 'messenger', object: 'page', entry_id: PAGE_ID, standby: false, kind: 'comment', field: 'feed' };
const IG = { channel: 'instagram', object: 'instagram', entry_id: IG_ID, standby: false, kind: 'comment' };

describe('Page feed comments', () => {
  it.each(['page-feed-comment-add', 'page-feed-comment-edited', 'page-feed-comment-remove', 'page-feed-comment-hide', 'page-feed-comment-reply', 'page-feed-own-comment'])(
    '%s becomes a comment event with Meta\'s value and created_time in ms',
    (name) => {
      const body = load(name);
      const { value } = change(body);
      expect(only(body)).toStrictEqual({ ...FEED, entry_time: entryTime(body), created_at: (value.created_time as number) * 1000, value });
    },
  );

  it('takes entry.time when created_time is missing or unreadable', () => {
    const body = load('page-feed-comment-add');
    const { value } = change(body);
    const { created_time: _dropped, ...rest } = value;
    const odd = { ...body, entry: [{ ...(body.entry as JsonObject[])[0], changes: [{ field: 'feed', value: { ...rest, created_time: 'soon' } }] }] };
    expect(only(odd)).toMatchObject({ kind: 'comment', created_at: entryTime(body) });
  });

  it.each([
    ['no comment_id', { comment_id: undefined }, 'feed comment: no string comment_id or post_id'],
    ['a numeric post_id', { post_id: 7 }, 'feed comment: no string comment_id or post_id'],
    ['no verb', { verb: undefined }, 'feed comment: no string verb'],
    ['a from without id', { from: { name: 'Alex' } }, 'feed comment: from has no string id'],
    ['a message that is not text', { message: ['price'] }, 'feed comment: message or parent_id is not a string'],
  ])('a comment with %s is unknown, with the reason', (_what, changes, reason) => {
    const body = load('page-feed-comment-add');
    const value = { ...change(body).value, ...changes };
    const broken = { ...body, entry: [{ ...(body.entry as JsonObject[])[0], changes: [{ field: 'feed', value }] }] };
    expect(only(broken)).toMatchObject({ kind: 'unknown', reason });
  });

  it('leaves other feed items (a status) and Instagram-named fields under page as changes', () => {
    expect(only(load('page-feed-status'))).toMatchObject({ kind: 'change', field: 'feed' });
    const body = load('page-feed-comment-add');
    const elsewhere = { ...body, entry: [{ ...(body.entry as JsonObject[])[0], changes: [{ field: 'comments', value: change(body).value }] }] };
    expect(only(elsewhere)).toMatchObject({ kind: 'change', field: 'comments' });
  });
});

describe('Instagram comments', () => {
  it.each([
    ['instagram-comments', 'comments'],
    ['instagram-comment-price', 'comments'],
    ['instagram-comment-reply', 'comments'],
    ['instagram-own-comment', 'comments'],
    ['instagram-live-comments', 'live_comments'],
  ])('%s becomes a comment event from %s; with no creation time in the payload, entry.time stands for it', (name, field) => {
    const body = load(name);
    expect(only(body)).toStrictEqual({ ...IG, field, entry_time: entryTime(body), created_at: entryTime(body), value: change(body).value });
  });

  it.each([
    ['no id', { id: undefined }, 'comments: no string comment id'],
    ['a from without id', { from: { username: 'x' } }, 'comments: from has no string id'],
    ['a media without id', { media: { media_product_type: 'FEED' } }, 'comments: media has no string id'],
    ['text that is not a string', { text: 5 }, 'comments: text or parent_id is not a string'],
  ])('a comment with %s is unknown, with the reason', (_what, changes, reason) => {
    const body = load('instagram-comment-price');
    const value = { ...change(body).value, ...changes };
    const broken = { ...body, entry: [{ ...(body.entry as JsonObject[])[0], changes: [{ field: 'comments', value }] }] };
    expect(only(broken)).toMatchObject({ kind: 'unknown', reason });
  });
});

describe('dedup keys of comments', () => {
  const key = (body: unknown) => eventKey(only(body));
  const redelivered = (body: JsonObject) => ({ ...body, entry: [{ ...(body.entry as JsonObject[])[0], time: ((body.entry as JsonObject[])[0]?.time as number) + 3600 }] });

  it('a new comment has one key, whatever batch (entry.time) it comes in', () => {
    for (const name of ['page-feed-comment-add', 'instagram-comment-price']) {
      const body = load(name);
      expect(key(redelivered(body))).toBe(key(body));
    }
    expect(key(load('page-feed-comment-add'))).toBe('messenger:cmt:7000000000000001_8000000000000002');
    expect(key(load('instagram-comment-price'))).toBe('instagram:cmt:17900000000000003');
  });

  it('an edit, a removal or a hide of the comment is another event than the comment, each once', () => {
    const add = key(load('page-feed-comment-add'));
    const others = ['page-feed-comment-edited', 'page-feed-comment-remove', 'page-feed-comment-hide'].map((name) => key(load(name)));
    expect(new Set([add, ...others]).size).toBe(4);
    const edited = load('page-feed-comment-edited');
    expect(key(redelivered(edited))).toBe(key(edited));
  });
});

describe('inbox lanes of comments', () => {
  it('an Instagram comment shares its author\'s lane with their messages; a Facebook author has a lane of their own', () => {
    // Without the account directory, the account is the entry's id (see laneOf).
    expect(laneOf(only(load('instagram-comment-price')))).toBe('17841400000000001/instagram:7650000000000001');
    expect(laneOf(only(load('page-feed-comment-add')))).toBe(`${PAGE_ID}/messenger:commenter:6000000000000001`);
    const body = load('page-feed-comment-add');
    const { from: _from, ...value } = change(body).value;
    const anonymous = { ...body, entry: [{ ...(body.entry as JsonObject[])[0], changes: [{ field: 'feed', value }] }] };
    expect(laneOf(only(anonymous))).toBe(`${PAGE_ID}/messenger:entry:${PAGE_ID}`);
  });
});
