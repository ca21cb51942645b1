// Comments and stories against the app as it runs in production: app.ts spawned as its own process
// (two threads on a SQLite file), a mock Graph API on loopback, signed notifications in Meta's
// shapes posted over HTTP. What reaches Graph: one private reply and one public reply per comment,
// once under redelivery and edits, nothing for our own comments or removals, a thank-you per story.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { mainMenu } from '../services/conversation/menu.ts';
import { createTranslations } from '../services/i18n.ts';
import { startMockGraph, type GraphCall, type MockGraph } from './support/mock-graph-server.ts';
import { SPAWN_ENV, spawnApp, type SpawnedApp } from './support/spawn-app.ts';
import { tempDir, waitFor } from './reliability/helpers.ts';

const PAGE_ID = SPAWN_ENV.PAGE_ID;
const IG_ID = '17841400000000001';
const IGSID = '7650000000000001';
const EN = createTranslations().fixedT('en_US');
const ES = createTranslations().fixedT('es_ES');

let mock: MockGraph;
let app: SpawnedApp;
let dir: { path: string; remove: () => void };

afterAll(async () => {
  await app?.kill('SIGTERM');
  await mock?.close();
  dir?.remove();
});

const now = () => Math.floor(Date.now() / 1000);

function feed(value: Record<string, unknown>) {
  return { object: 'page', entry: [{ id: PAGE_ID, time: now(), changes: [{ field: 'feed', value }] }] };
}

function feedComment(id: string, message: string, changes: Record<string, unknown> = {}) {
  const post = `${PAGE_ID}_7000000000000001`;
  return feed({ from: { id: '6000000000000001', name: 'Alex Example' }, post: { status_type: 'added_photos', is_published: true, id: post }, message, post_id: post, comment_id: id, created_time: now(), item: 'comment', parent_id: post, verb: 'add', ...changes });
}

function igComment(id: string, text: string, from: Record<string, unknown> = { id: IGSID, username: 'alex.example' }) {
  return { object: 'instagram', entry: [{ id: IG_ID, time: now(), changes: [{ field: 'comments', value: { from, media: { id: '17800000000000001', media_product_type: 'FEED' }, id, text } }] }] };
}

const answered = (calls: readonly GraphCall[]) => calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body]);

describe('comments and stories, posted to a running app', () => {
  it('answers as documented, once, and never itself', async () => {
    dir = tempDir('comments-process');
    mock = await startMockGraph();
    app = await spawnApp({ graphUrl: mock.url, databasePath: join(dir.path, 'bot.db'), cwd: dir.path, env: { IG_ACCOUNT_ID: IG_ID } });

    const fb = '7000000000000001_8000000000000002';
    const ig = '17900000000000003';
    const bodies = [
      feedComment(fb, 'Price?'),
      feedComment(fb, 'Price?'), // redelivered
      feedComment(fb, 'Price? And shipping?', { verb: 'edited' }),
      feedComment('7000000000000001_8000000000000009', 'price', { from: { id: PAGE_ID, name: 'Tidewater Tea Co.' } }),
      feedComment('7000000000000001_8000000000000010', 'precio', { verb: 'remove' }),
      igComment(ig, '¿precio?'),
      igComment('17900000000000004', 'price', { id: IG_ID, username: 'tidewater.tea' }),
      { object: 'instagram', entry: [{ id: IG_ID, time: Date.now(), messaging: [{ sender: { id: IGSID }, recipient: { id: IG_ID }, timestamp: Date.now(), message: { mid: 'aWdfmention1', attachments: [{ type: 'story_mention', payload: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x' } }] } }] }] },
    ];
    for (const body of bodies) expect(await app.post(body)).toBe(200);
    await waitFor(() => mock.calls.filter((c) => c.method === 'POST').length >= 5, 30_000, () => JSON.stringify(answered(mock.calls)));
    // Give a wrong extra call the time to show up.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const menuEN = mainMenu(EN);
    const menuES = mainMenu(ES);
    const calls = answered(mock.calls);
    const about = (needle: string) => calls.filter(([path, body]) => String(path).includes(needle) || JSON.stringify(body).includes(needle));
    // Each comment's replies in order: the private one, then the public note.
    expect(about(fb)).toEqual([
      ['/v24.0/me/messages', { recipient: { comment_id: fb }, messaging_type: 'RESPONSE', message: { text: EN('browse.intro'), quick_replies: menuEN } }],
      [`/v24.0/${fb}/comments`, { message: EN('comments.public_reply') }],
    ]);
    expect(about(ig)).toEqual([
      ['/v24.0/me/messages', { recipient: { comment_id: ig }, messaging_type: 'RESPONSE', message: { text: ES('browse.intro'), quick_replies: menuES } }],
      [`/v24.0/${ig}/replies`, { message: ES('comments.public_reply') }],
    ]);
    // The story mention, after the comment from the same IGSID: thanked once, in the comment's language.
    expect(about(IGSID).map(([, body]) => body)).toEqual([
      { recipient: { id: IGSID }, messaging_type: 'RESPONSE', message: { text: ES('stories.mention_thanks'), quick_replies: menuES } },
    ]);
    // Nothing else: not the redelivery, the edit, the removal, nor our own comments.
    expect(calls).toHaveLength(5);
    expect(app.output()).not.toContain('lookaside');
  }, 60_000);
});
