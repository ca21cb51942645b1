// normalizeNotification against Meta's documented payload shapes (test/fixtures/webhooks/*.json).
// Envelopes (kind, channel, object, entry_id, entry_time, standby, sender, recipient, timestamp) are
// written out literally; Meta's payload objects are compared with the fixture's own objects, because
// the normaliser must hand them on unchanged.
import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { normalizeNotification } from '../services/events/normalize.ts';
import { PayloadError } from '../services/errors.ts';
import type { EventKind, EventOf, WebhookEvent } from '../services/events/types.ts';

type JsonObject = Record<string, unknown>;

const PAGE_ID = '1234567890';
const PSID = '24000000000000001';
const IG_ID = '17841400000000001';
const IGSID = '7650000000000001';
const ENTRY_TIME = 1700000001000;
const TS = 1700000000000;
/** When the test pretends the notification arrived. */
const RECEIVED_AT = 1700000009000;

const FIXTURES = new URL('./fixtures/webhooks/', import.meta.url);

function load(name: string): JsonObject {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as JsonObject;
}

/** The raw items of the fixture's first entry, to compare payloads with. */
function items(body: JsonObject, source = 'messaging'): JsonObject[] {
  const [entry] = body.entry as JsonObject[];
  return (entry?.[source] ?? []) as JsonObject[];
}

function item(body: JsonObject, index = 0, source = 'messaging'): JsonObject {
  const found = items(body, source)[index];
  if (found === undefined) throw new Error(`fixture has no ${source}[${index}]`);
  return found;
}

function events(name: string): WebhookEvent[] {
  return normalizeNotification(load(name)).events;
}

function ofKind<K extends EventKind>(event: WebhookEvent | undefined, kind: K): EventOf<K> {
  if (event?.kind !== kind) throw new Error(`expected a ${kind} event, got ${event?.kind ?? 'nothing'}`);
  return event as EventOf<K>;
}

const MESSENGER = { channel: 'messenger', object: 'page', entry_id: PAGE_ID, entry_time: ENTRY_TIME, standby: false };
const INSTAGRAM = { channel: 'instagram', object: 'instagram', entry_id: IG_ID, entry_time: ENTRY_TIME, standby: false };
const FROM_PSID = { sender: { id: PSID }, recipient: { id: PAGE_ID } };
const TO_PSID = { sender: { id: PAGE_ID }, recipient: { id: PSID } };
const FROM_IGSID = { sender: { id: IGSID }, recipient: { id: IG_ID } };

describe('Messenger messages', () => {
  it('normalises a text message with Meta envelope and the message object as sent', () => {
    const body = load('messenger-text');
    expect(normalizeNotification(body)).toStrictEqual({
      object: 'page',
      events: [{ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message }],
    });
    expect(ofKind(events('messenger-text')[0], 'message').message.text).toBe('hello, world!');
  });

  it('keeps the quick reply payload', () => {
    const body = load('messenger-quick-reply');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message },
    ]);
    expect(ofKind(events('messenger-quick-reply')[0], 'message').message.quick_reply).toEqual({ payload: 'COLOR_RED' });
  });

  it('normalises image, video, audio and file attachments, one event per item in order', () => {
    const body = load('messenger-attachments-media');
    const result = normalizeNotification(body).events;
    expect(result).toStrictEqual(
      items(body).map((raw, i) => ({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS + i, message: raw.message })),
    );
    const types = result.map((e) => ofKind(e, 'message').message.attachments?.[0]?.type);
    expect(types).toEqual(['image', 'video', 'audio', 'file']);
  });

  it('keeps a location attachment with its coordinates', () => {
    const body = load('messenger-attachment-location');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message });
    const attachment = ofKind(event, 'message').message.attachments?.[0];
    expect(attachment?.type).toBe('location');
    expect(attachment?.payload?.coordinates).toEqual({ lat: 48.8583701, long: 2.2944813 });
  });

  it('keeps a fallback attachment (shared link)', () => {
    const body = load('messenger-attachment-fallback');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.attachments?.[0]).toEqual({
      type: 'fallback',
      payload: { url: 'https://shop.example/p/42', title: 'Blue mug - Example Shop' },
    });
  });

  it('keeps a sticker as given: type image with sticker_id, plus the newer sticker type', () => {
    const body = load('messenger-attachment-sticker');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message });
    const attachments = ofKind(event, 'message').message.attachments ?? [];
    expect(attachments.map((a) => [a.type, a.payload?.sticker_id])).toEqual([
      ['image', 369239263222822],
      ['sticker', 369239263222822],
    ]);
  });

  it('keeps reply_to with the replied-to mid', () => {
    const body = load('messenger-reply-to');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.reply_to).toEqual({ mid: 'm_fakeMid0001TextHello', is_self_reply: false });
  });

  it('keeps an ads or shops referral inside a message as a message, not a referral event', () => {
    const body = load('messenger-message-referral');
    const result = normalizeNotification(body).events;
    expect(result).toStrictEqual([
      { ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body, 0).message },
      { ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS + 1, message: item(body, 1).message },
    ]);
    expect(ofKind(result[0], 'message').message.referral?.source).toBe('ADS');
    expect(ofKind(result[1], 'message').message.referral?.product).toEqual({ id: '5000000000000001' });
  });

  it('keeps commands', () => {
    const body = load('messenger-commands');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.commands).toEqual([{ name: 'orders' }]);
  });
});

describe('Messenger echoes and edits', () => {
  it('turns message.is_echo === true into an echo sent by the Page', () => {
    const body = load('messenger-echo');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'echo', ...TO_PSID, timestamp: TS, message: item(body).message });
    const echo = ofKind(event, 'echo');
    expect([echo.message.is_echo, echo.message.app_id, echo.message.metadata]).toEqual([
      true,
      1000000000000001,
      'order-confirmation',
    ]);
  });

  it('keeps a template attachment on an echo', () => {
    const body = load('messenger-echo-template');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'echo', ...TO_PSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'echo').message.attachments?.[0]?.payload?.template_type).toBe('button');
  });

  it('normalises message_edit', () => {
    const body = load('messenger-message-edit');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'message_edit',
        ...FROM_PSID,
        timestamp: TS,
        message_edit: { mid: 'm_fakeMid0001TextHello', text: 'hello, world! (edited)', num_edit: 1 },
      },
    ]);
  });
});

describe('Messenger postbacks, reads, deliveries, reactions, referrals', () => {
  it('normalises a Get Started postback with its referral', () => {
    const body = load('messenger-postback');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...MESSENGER, kind: 'postback', ...FROM_PSID, timestamp: TS, postback: item(body).postback });
    const { postback } = ofKind(event, 'postback');
    expect([postback.payload, postback.referral?.ref]).toEqual(['GET_STARTED', 'qr-store-berlin']);
  });

  it('normalises a read with its watermark', () => {
    expect(events('messenger-read')).toStrictEqual([
      { ...MESSENGER, kind: 'read', ...FROM_PSID, timestamp: TS, read: { watermark: TS - 5000 } },
    ]);
  });

  it('normalises a delivery with mids and watermark', () => {
    expect(events('messenger-delivery')).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'delivery',
        ...FROM_PSID,
        timestamp: TS,
        delivery: { mids: ['m_fakeMid0014Echo'], watermark: TS - 4000 },
      },
    ]);
  });

  it('normalises react and unreact', () => {
    expect(events('messenger-reactions')).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'reaction',
        ...FROM_PSID,
        timestamp: TS,
        reaction: { reaction: 'love', emoji: '\u2764\ufe0f', action: 'react', mid: 'm_fakeMid0014Echo' },
      },
      {
        ...MESSENGER,
        kind: 'reaction',
        ...FROM_PSID,
        timestamp: TS + 1,
        reaction: { action: 'unreact', mid: 'm_fakeMid0014Echo' },
      },
    ]);
  });

  it('normalises m.me, ad and chat plugin referrals; a guest has only a user_ref', () => {
    const body = load('messenger-referrals');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, kind: 'referral', ...FROM_PSID, timestamp: TS, referral: item(body, 0).referral },
      { ...MESSENGER, kind: 'referral', ...FROM_PSID, timestamp: TS + 1, referral: item(body, 1).referral },
      {
        ...MESSENGER,
        kind: 'referral',
        sender: { user_ref: 'chatplugin-user-ref-0001' },
        recipient: { id: PAGE_ID },
        timestamp: TS + 2,
        referral: item(body, 2).referral,
      },
    ]);
    const sources = events('messenger-referrals').map((e) => ofKind(e, 'referral').referral.source);
    expect(sources).toEqual(['SHORTLINK', 'ADS', 'CUSTOMER_CHAT_PLUGIN']);
  });
});

describe('Messenger optins, handover, policy, account linking, game plays', () => {
  it('normalises plugin, checkbox (no sender) and notification_messages optins', () => {
    const body = load('messenger-optins');
    const result = normalizeNotification(body).events;
    expect(result).toStrictEqual([
      { ...MESSENGER, kind: 'optin', ...FROM_PSID, timestamp: TS, optin: { ref: 'send-to-messenger-footer' } },
      {
        ...MESSENGER,
        kind: 'optin',
        recipient: { id: PAGE_ID },
        timestamp: TS + 1,
        optin: { ref: 'checkout-checkbox', user_ref: 'checkbox-user-ref-0001' },
      },
      { ...MESSENGER, kind: 'optin', ...FROM_PSID, timestamp: TS + 2, optin: item(body, 2).optin },
    ]);
    const { optin } = ofKind(result[2], 'optin');
    expect(optin).toMatchObject({
      type: 'notification_messages',
      notification_messages_token: 'fake-notif-token-0001',
      notification_messages_frequency: 'WEEKLY',
      notification_messages_timezone: 'Europe/Berlin',
      token_expiry_timestamp: 1731536000000,
      user_token_status: 'NOT_REFRESHED',
      payload: 'RESTOCK_ALERTS',
      title: 'Restock alerts',
    });
  });

  it('normalises pass, take, request thread control and app_roles with their action', () => {
    const body = load('messenger-handover');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'handover',
        action: 'pass_thread_control',
        ...FROM_PSID,
        timestamp: TS,
        pass_thread_control: item(body, 0).pass_thread_control,
      },
      {
        ...MESSENGER,
        kind: 'handover',
        action: 'take_thread_control',
        ...FROM_PSID,
        timestamp: TS + 1,
        take_thread_control: item(body, 1).take_thread_control,
      },
      {
        ...MESSENGER,
        kind: 'handover',
        action: 'request_thread_control',
        ...FROM_PSID,
        timestamp: TS + 2,
        request_thread_control: item(body, 2).request_thread_control,
      },
      {
        ...MESSENGER,
        kind: 'handover',
        action: 'app_roles',
        recipient: { id: PAGE_ID },
        timestamp: TS + 3,
        app_roles: { '1000000000000001': ['primary_receiver'], '263902037430900': ['secondary_receiver'] },
      },
    ]);
  });

  it('exposes policy_enforcement and the hyphenated spelling the same way, without a sender', () => {
    const body = load('messenger-policy-enforcement');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'policy',
        recipient: { id: PAGE_ID },
        timestamp: TS,
        policy_enforcement: item(body, 0).policy_enforcement,
      },
      {
        ...MESSENGER,
        kind: 'policy',
        recipient: { id: PAGE_ID },
        timestamp: TS + 1,
        policy_enforcement: { action: 'unblock' },
      },
    ]);
    expect(ofKind(events('messenger-policy-enforcement')[0], 'policy').policy_enforcement.action).toBe('block');
  });

  it('normalises linked (with authorization_code) and unlinked account linking', () => {
    expect(events('messenger-account-linking')).toStrictEqual([
      {
        ...MESSENGER,
        kind: 'account_linking',
        ...FROM_PSID,
        timestamp: TS,
        account_linking: { status: 'linked', authorization_code: 'fake-pass-through-code-0001' },
      },
      { ...MESSENGER, kind: 'account_linking', ...FROM_PSID, timestamp: TS + 1, account_linking: { status: 'unlinked' } },
    ]);
  });

  it('normalises a game play', () => {
    const body = load('messenger-game-play');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, kind: 'game_play', ...FROM_PSID, timestamp: TS, game_play: item(body).game_play },
    ]);
    expect(ofKind(events('messenger-game-play')[0], 'game_play').game_play.score).toBe(1200);
  });

  it('marks messages and echoes from entry.standby as standby', () => {
    const body = load('messenger-standby');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, standby: true, kind: 'message', ...FROM_PSID, timestamp: TS, message: item(body, 0, 'standby').message },
      { ...MESSENGER, standby: true, kind: 'echo', ...TO_PSID, timestamp: TS + 1, message: item(body, 1, 'standby').message },
    ]);
  });
});

describe('Instagram messaging', () => {
  it('normalises a text message with channel and object instagram and the IG account as entry_id', () => {
    const body = load('instagram-text');
    expect(normalizeNotification(body)).toStrictEqual({
      object: 'instagram',
      events: [{ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body).message }],
    });
  });

  it.each([
    ['instagram-media', ['image', 'video', 'audio', 'file']],
    ['instagram-share', ['share']],
  ])('keeps the attachments of %s', (name, types) => {
    const body = load(name);
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.attachments?.map((a) => a.type)).toEqual(types);
  });

  it('keeps ig_reel and reel attachments with their reel_video_id', () => {
    const body = load('instagram-reels');
    const result = normalizeNotification(body).events;
    expect(result).toStrictEqual([
      { ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body, 0).message },
      { ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS + 1, message: item(body, 1).message },
    ]);
    const reels = result.map((e) => {
      const attachment = ofKind(e, 'message').message.attachments?.[0];
      return [attachment?.type, attachment?.payload?.reel_video_id];
    });
    expect(reels).toEqual([
      ['ig_reel', '18000000000000001'],
      ['reel', '18000000000000002'],
    ]);
  });

  it('keeps a story mention without the story\'s CDN URL (never stored)', () => {
    const body = load('instagram-story-mention');
    const [event] = normalizeNotification(body).events;
    const { mid } = item(body).message as { mid: string };
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: { mid, attachments: [{ type: 'story_mention', payload: {} }] } });
    expect(JSON.stringify(event)).not.toContain('lookaside');
  });

  it('keeps a story reply (reply_to.story) with the story id, without its CDN URL', () => {
    const body = load('instagram-story-reply');
    const [event] = normalizeNotification(body).events;
    const { mid, text } = item(body).message as { mid: string; text: string };
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: { mid, text, reply_to: { story: { id: '18000000000000003' } } } });
    expect(JSON.stringify(event)).not.toContain('lookaside');
  });

  it('keeps an unsent message (is_deleted) as a message event', () => {
    const body = load('instagram-unsend');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        ...INSTAGRAM,
        kind: 'message',
        ...FROM_IGSID,
        timestamp: TS,
        message: { mid: 'aWdfZAG1faWQ6MTpJR01lc3NhZA2VfaWQ6MTc4NDE0MDAwMDAwMDAwMTo0001', is_deleted: true },
      },
    ]);
  });

  it('keeps an unsupported message (is_unsupported) as a message event', () => {
    const body = load('instagram-unsupported');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.is_unsupported).toBe(true);
  });

  it('keeps an ad referral inside an Instagram message', () => {
    const body = load('instagram-ad-referral-message');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body).message });
    expect(ofKind(event, 'message').message.referral?.ad_id).toBe('23850000000000002');
  });

  it('turns an is_echo message sent by the IG account into an echo', () => {
    const body = load('instagram-echo');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        ...INSTAGRAM,
        kind: 'echo',
        sender: { id: IG_ID },
        recipient: { id: IGSID },
        timestamp: TS,
        message: item(body).message,
      },
    ]);
  });

  it('normalises an ice breaker postback with its mid and ig.me referral', () => {
    const body = load('instagram-postback');
    const [event] = normalizeNotification(body).events;
    expect(event).toStrictEqual({ ...INSTAGRAM, kind: 'postback', ...FROM_IGSID, timestamp: TS, postback: item(body).postback });
    const { postback } = ofKind(event, 'postback');
    expect([postback.mid, postback.payload, postback.referral?.source]).toEqual([
      'aWdfZAG1faWQ6MTpJR01lc3NhZA2VfaWQ6MTc4NDE0MDAwMDAwMDAwMTo0011',
      'ICEBREAKER_HOURS',
      'SHORTLINKS',
    ]);
  });

  it('normalises messaging_seen (read with a mid) as a read', () => {
    expect(events('instagram-seen')).toStrictEqual([
      {
        ...INSTAGRAM,
        kind: 'read',
        ...FROM_IGSID,
        timestamp: TS,
        read: { mid: 'aWdfZAG1faWQ6MTpJR01lc3NhZA2VfaWQ6MTc4NDE0MDAwMDAwMDAwMTo0010' },
      },
    ]);
  });

  it('normalises a reaction', () => {
    const body = load('instagram-reaction');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...INSTAGRAM, kind: 'reaction', ...FROM_IGSID, timestamp: TS, reaction: item(body).reaction },
    ]);
  });

  it('normalises messaging_referral from an ig.me link', () => {
    expect(events('instagram-referral')).toStrictEqual([
      {
        ...INSTAGRAM,
        kind: 'referral',
        ...FROM_IGSID,
        timestamp: TS,
        referral: { ref: 'bio_link', source: 'SHORTLINKS', type: 'OPEN_THREAD' },
      },
    ]);
  });

  it('marks Instagram standby items as standby', () => {
    const body = load('instagram-standby');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...INSTAGRAM, standby: true, kind: 'message', ...FROM_IGSID, timestamp: TS, message: item(body, 0, 'standby').message },
    ]);
  });
});

// Change notifications stamp entry.time in seconds (1700000001); events carry milliseconds.
const CHANGE_TIME = 1700000001000;

describe('changes and changed_fields', () => {
  it('normalises a page feed item other than a comment as a change with its value', () => {
    const body = load('page-feed-status');
    expect(normalizeNotification(body).events).toStrictEqual([
      {
        channel: 'messenger',
        object: 'page',
        entry_id: PAGE_ID,
        entry_time: CHANGE_TIME,
        standby: false,
        kind: 'change',
        field: 'feed',
        value: item(body, 0, 'changes').value,
      },
    ]);
  });

  it('normalises a page feed comment as a comment event (more in comments-events.test.ts)', () => {
    const body = load('page-feed');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, entry_time: CHANGE_TIME, kind: 'comment', created_at: 1700000000000, field: 'feed', value: item(body, 0, 'changes').value },
    ]);
  });

  it.each([['instagram-mentions', 'mentions']])('normalises %s as an Instagram change', (name, field) => {
    const body = load(name);
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...INSTAGRAM, entry_time: CHANGE_TIME, kind: 'change', field, value: item(body, 0, 'changes').value },
    ]);
  });

  it('adds entry.uid to user changes', () => {
    expect(events('user-changes')).toStrictEqual([
      {
        channel: 'messenger',
        object: 'user',
        entry_id: '5000000000000009',
        entry_time: CHANGE_TIME,
        standby: false,
        kind: 'change',
        field: 'photos',
        value: { verb: 'update', object_id: '9000000000000001' },
        uid: '5000000000000009',
      },
    ]);
  });

  it('yields one change per changed_fields name, without a value', () => {
    const base = { channel: 'messenger', object: 'user', entry_id: '5000000000000009', entry_time: CHANGE_TIME };
    expect(events('user-changed-fields')).toStrictEqual([
      { ...base, standby: false, kind: 'change', field: 'name', uid: '5000000000000009' },
      { ...base, standby: false, kind: 'change', field: 'picture', uid: '5000000000000009' },
    ]);
  });

  it('normalises other objects (permissions) on the messenger channel, without uid when absent', () => {
    expect(normalizeNotification(load('permissions-changed-fields'))).toStrictEqual({
      object: 'permissions',
      events: [
        {
          channel: 'messenger',
          object: 'permissions',
          entry_id: '5000000000000009',
          entry_time: CHANGE_TIME,
          standby: false,
          kind: 'change',
          field: 'email',
        },
      ],
    });
  });
});

describe('unknown shapes are events, not exceptions', () => {
  it('turns unrecognised messaging items into unknown events with a reason and the raw item', () => {
    const body = load('unknown-items');
    const raw = items(body);
    const unknown = (reason: string, index: number) => ({ ...MESSENGER, kind: 'unknown', reason, raw: raw[index] });
    expect(normalizeNotification(body).events).toStrictEqual([
      unknown('messaging item has no known field', 0),
      unknown('message: no string mid', 1),
      unknown('messaging item is not an object', 2),
      unknown('message: no string mid', 3),
      unknown('postback: no string payload', 4),
    ]);
  });

  it('reads the items of the docs quick-start curl body (entry without id and time), at the time of receipt', () => {
    const body = load('docs-curl-test');
    const raw = item(body);
    expect(normalizeNotification(body, { receivedAt: RECEIVED_AT }).events).toStrictEqual([
      {
        channel: 'messenger',
        object: 'page',
        entry_id: '',
        entry_time: RECEIVED_AT,
        standby: false,
        kind: 'unknown',
        reason: 'message: no string mid',
        raw,
      },
    ]);
  });

  it('keeps going past bad entries, bad sources and bad change items', () => {
    const body = load('unknown-entries');
    const entries = body.entry as JsonObject[];
    const orphan = { channel: 'messenger', object: 'page', entry_id: '', entry_time: RECEIVED_AT, standby: false };
    expect(() => normalizeNotification(body)).not.toThrow();
    expect(normalizeNotification(body, { receivedAt: RECEIVED_AT }).events).toStrictEqual([
      { ...orphan, kind: 'unknown', reason: 'entry is not an object', raw: 'not an entry' },
      {
        ...MESSENGER,
        kind: 'unknown',
        reason: 'entry has no messaging, standby, changes or changed_fields',
        raw: entries[1],
      },
      { ...MESSENGER, kind: 'unknown', reason: 'entry.messaging is not an array', raw: { sender: { id: PSID } } },
      { ...MESSENGER, kind: 'unknown', reason: 'change has no string field', raw: { value: { verb: 'add' } } },
      { ...MESSENGER, kind: 'change', field: 'name' },
      { ...MESSENGER, kind: 'unknown', reason: 'changed field is not a string', raw: 7 },
    ]);
  });

  it.each([
    ['a reaction with an unknown action', { reaction: { mid: 'm_1', action: 'love' } }, 'reaction: no mid or react/unreact action'],
    ['attachments that are not a list', { message: { mid: 'm_1', attachments: {} } }, 'message: malformed text, quick_reply, reply_to or attachments'],
    ['a quick reply without payload', { message: { mid: 'm_1', quick_reply: {} } }, 'message: malformed text, quick_reply, reply_to or attachments'],
    ['a reply_to that is a string', { message: { mid: 'm_1', text: 'love this one', reply_to: '{"story":{"id":"18000000000000003"}}' } }, 'message: malformed text, quick_reply, reply_to or attachments'],
    ['a story reply whose story is not an object', { message: { mid: 'm_1', text: 'hi', reply_to: { story: 'x' } } }, 'message: malformed text, quick_reply, reply_to or attachments'],
    ['a sender that is a string', { sender: PSID, read: { watermark: 1 } }, 'read: sender is not a participant'],
    ['a handover without an app id', { pass_thread_control: { metadata: 'x' } }, 'pass_thread_control: no new_owner_app_id'],
    ['an account linking with another status', { account_linking: { status: 'pending' } }, 'account_linking: status is not linked or unlinked'],
    ['a recipient that is a number', { recipient: 1234567890, read: { watermark: 1 } }, 'read: recipient is not a participant'],
    ['a message_edit without mid', { message_edit: { text: 'x' } }, 'message_edit: no string mid'],
    ['a read with neither watermark nor mid', { read: {} }, 'read: neither watermark nor mid'],
    ['a delivery without watermark', { delivery: { mids: ['m_1'] } }, 'delivery: no number watermark'],
    ['a referral that is not an object', { referral: 'summer' }, 'referral: not an object'],
    ['an optin that is null', { optin: null }, 'optin: not an object'],
    ['a take_thread_control without previous owner', { take_thread_control: { metadata: 'x' } }, 'take_thread_control: no previous_owner_app_id'],
    ['a request_thread_control without app id', { request_thread_control: {} }, 'request_thread_control: no requested_owner_app_id'],
    ['app_roles that are not lists', { app_roles: { '1': 'primary_receiver' } }, 'app_roles: roles are not string lists'],
    ['a policy enforcement without action', { policy_enforcement: { reason: 'spam' } }, 'policy_enforcement: no string action'],
    ['a game play without game_id', { game_play: { player_id: 'p', context_type: 'SOLO' } }, 'game_play: no game_id, player_id or context_type'],
  ])('rejects %s with a reason', (_label, fields, reason) => {
    const raw = { recipient: { id: PAGE_ID }, timestamp: TS, ...fields };
    const body = { object: 'page', entry: [{ id: PAGE_ID, time: ENTRY_TIME, messaging: [raw] }] };
    expect(normalizeNotification(body).events).toStrictEqual([{ ...MESSENGER, kind: 'unknown', reason, raw }]);
  });

  it('treats arrays as non-objects at entry and item level', () => {
    const body = { object: 'page', entry: [[], { id: PAGE_ID, time: ENTRY_TIME, messaging: [['message']] }] };
    const reasons = normalizeNotification(body).events.map((e) => ofKind(e, 'unknown').reason);
    expect(reasons).toEqual(['entry is not an object', 'messaging item is not an object']);
  });

  it('leaves value out of a change item that has none', () => {
    const body = { object: 'page', entry: [{ id: PAGE_ID, time: ENTRY_TIME, changes: [{ field: 'feed' }] }] };
    expect(normalizeNotification(body).events).toStrictEqual([{ ...MESSENGER, kind: 'change', field: 'feed' }]);
  });

});

describe('times as they really arrive', () => {
  const at = (timestamp: unknown, time: unknown = ENTRY_TIME) => ({
    object: 'page',
    entry: [{ id: PAGE_ID, time, messaging: [{ sender: { id: PSID }, recipient: { id: PAGE_ID }, timestamp, postback: { payload: 'P' } }] }],
  });
  const first = (body: unknown) => normalizeNotification(body, { receivedAt: RECEIVED_AT }).events[0];

  it.each([
    ['a number in milliseconds', 1527459824123, 1527459824123],
    ['a number in seconds', 1527459824, 1527459824000],
    ['a numeric string in seconds (App Dashboard samples)', '1527459824', 1527459824000],
    ['a numeric string in milliseconds', '1527459824123', 1527459824123],
    ['an ISO 8601 string with Z', '2018-05-27T22:23:44.123Z', 1527459824123],
    ["an ISO 8601 string with Graph's +0000", '2018-05-27T22:23:44+0000', 1527459824000],
    ['an ISO 8601 string without a zone (UTC)', '2018-05-27T22:23:44', 1527459824000],
  ])('reads a timestamp sent as %s', (_label, timestamp, ms) => {
    expect(ofKind(first(at(timestamp)), 'postback').timestamp).toBe(ms);
  });

  it.each([
    ['a numeric string in seconds', '1700000001', 1700000001000],
    ['an ISO 8601 string', '2023-11-14T22:13:21.000Z', 1700000001000],
    ['a number in seconds', 1700000001, 1700000001000],
  ])('reads entry.time sent as %s', (_label, time, ms) => {
    expect(ofKind(first(at(TS, time)), 'postback').entry_time).toBe(ms);
  });

  it("takes the entry's time for an item without a timestamp (Meta's message_deliveries example)", () => {
    const body = load('messenger-delivery-no-timestamp');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, kind: 'delivery', ...FROM_PSID, timestamp: ENTRY_TIME, delivery: item(body).delivery },
    ]);
  });

  it.each([
    ['a word', 'yesterday'],
    ['zero', 0],
    ['a negative number', -5],
    ['a boolean', true],
    ['an object', { seconds: 1 }],
    ['a date past what JavaScript can hold', '99999999999999999'],
  ])("takes the entry's time for a timestamp that is %s", (_label, timestamp) => {
    expect(ofKind(first(at(timestamp)), 'postback').timestamp).toBe(ENTRY_TIME);
  });

  it.each([
    ['missing', undefined],
    ['a word', 'soon'],
    ['an object', {}],
    ['negative', -1],
  ])('keeps the events of an entry whose time is %s, at the time of receipt', (_label, time) => {
    const body = { object: 'page', entry: [{ id: PAGE_ID, ...(time === undefined ? {} : { time }), messaging: [{ sender: { id: PSID }, recipient: { id: PAGE_ID }, postback: { payload: 'P' } }] }] };
    const event = ofKind(first(body), 'postback');
    expect(event.entry_time).toBe(RECEIVED_AT);
    expect(event.timestamp).toBe(RECEIVED_AT);
  });

  it('keeps the message of messenger-bad-entry-time, at the time of receipt', () => {
    const body = load('messenger-bad-entry-time');
    expect(normalizeNotification(body, { receivedAt: RECEIVED_AT }).events).toStrictEqual([
      { ...MESSENGER, entry_time: RECEIVED_AT, kind: 'message', ...FROM_PSID, timestamp: RECEIVED_AT, message: item(body).message },
    ]);
  });

  it('uses the time of the call when no receipt time is given', () => {
    const before = Date.now();
    const event = ofKind(normalizeNotification({ object: 'page', entry: [{ id: PAGE_ID, messaging: [{ sender: { id: PSID }, postback: { payload: 'P' } }] }] }).events[0], 'postback');
    expect(event.timestamp).toBeGreaterThanOrEqual(before);
    expect(event.timestamp).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    ['messenger-text-string-timestamp', 'message', 1527459824000, ENTRY_TIME],
    ['messenger-postback-string-ms-timestamp', 'postback', 1527459824123, ENTRY_TIME],
    ['messenger-seconds-times', 'message', 1527459824000, 1527459825000],
    ['instagram-text-iso-times', 'message', Date.parse('2024-04-18T16:13:08.512Z'), Date.parse('2024-04-18T16:13:09Z')],
    ['instagram-seen-string-timestamp', 'read', 1527459824000, ENTRY_TIME],
  ] as const)('normalises %s to a %s with millisecond times', (name, kind, timestamp, entryTime) => {
    const body = load(name);
    const [event] = normalizeNotification(body).events;
    expect(event?.kind).toBe(kind);
    expect(event).toMatchObject({ timestamp, entry_time: entryTime, sender: item(body).sender });
  });
});

describe('ids and objects as they really arrive', () => {
  it('reads exact numeric ids (hand-written framework bodies) as the strings Meta sends', () => {
    const body = load('messenger-numeric-ids');
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...MESSENGER, kind: 'message', sender: { id: '2400000000000001' }, recipient: { id: PAGE_ID }, timestamp: TS, message: item(body).message },
    ]);
  });

  it('refuses a numeric id past 2^53: JSON.parse has already changed its digits', () => {
    const raw = JSON.parse(`{"sender":{"id":24000000000000001},"timestamp":${TS},"postback":{"payload":"P"}}`) as JsonObject;
    const body = { object: 'page', entry: [{ id: PAGE_ID, time: ENTRY_TIME, messaging: [raw] }] };
    expect(normalizeNotification(body).events).toStrictEqual([{ ...MESSENGER, kind: 'unknown', reason: 'postback: sender is not a participant', raw }]);
  });

  it.each(['user', 'permissions', 'whatsapp_business_account', 'Page'])('never reads messaging items under object %j as messages or postbacks', (object) => {
    const raw = { sender: { id: PSID }, recipient: { id: PAGE_ID }, timestamp: TS, message: { mid: 'm_1', text: 'hi' } };
    const standby = { sender: { id: PSID }, timestamp: TS, postback: { payload: 'P' } };
    const body = { object, entry: [{ id: PAGE_ID, time: ENTRY_TIME, messaging: [raw], standby: [standby] }] };
    const base = { channel: 'messenger', object, entry_id: PAGE_ID, entry_time: ENTRY_TIME };
    expect(normalizeNotification(body).events).toStrictEqual([
      { ...base, standby: false, kind: 'unknown', reason: `entry.messaging under object "${object}", which is neither page nor instagram`, raw },
      { ...base, standby: true, kind: 'unknown', reason: `entry.standby under object "${object}", which is neither page nor instagram`, raw: standby },
    ]);
  });

  it('keeps the object of unknown-object-messaging on its unknown event', () => {
    expect(events('unknown-object-messaging')).toMatchObject([{ kind: 'unknown', object: 'user', entry_id: '5000000000000009' }]);
  });

  it("reads the App Dashboard's test notifications as changes for entry 0, in milliseconds", () => {
    expect(events('dashboard-test-instagram-messages')).toMatchObject([{ kind: 'change', channel: 'instagram', field: 'messages', entry_id: '0', entry_time: 1700000001000 }]);
    expect(events('dashboard-test-page-messages')).toMatchObject([{ kind: 'change', channel: 'messenger', field: 'messages', entry_id: '0', entry_time: 1700000001000 }]);
  });

  it('keeps the entry id of every entry of a batch, ours or not', () => {
    expect(events('messenger-batch-other-page').map((e) => [e.kind, e.entry_id])).toEqual([
      ['message', PAGE_ID],
      ['message', '1895382890692546'],
    ]);
  });
});

describe('bodies that are not notifications', () => {
  it.each([
    ['null', null],
    ['an array', [{ object: 'page', entry: [] }]],
    ['a string', '{"object":"page","entry":[]}'],
    ['an empty object', {}],
    ['an object without a string object', { object: 7, entry: [] }],
    ['entry that is not an array', { object: 'page', entry: 'x' }],
  ])('throws PayloadError for %s', (_label, body) => {
    expect(() => normalizeNotification(body)).toThrow(PayloadError);
  });

  it('accepts an empty entry list', () => {
    expect(normalizeNotification({ object: 'page', entry: [] })).toStrictEqual({ object: 'page', events: [] });
  });
});

describe('whole-batch properties', () => {
  const fixtureNames = readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.replace(/\.json$/, ''));

  it('normalises a 1000-event batch to 1000 events quickly', () => {
    const template = item(load('messenger-text'));
    const messaging = Array.from({ length: 1000 }, (_, i) => ({
      ...template,
      timestamp: TS + i,
      message: { mid: `m_batch${i}`, text: `message ${i}` },
    }));
    const body = { object: 'page', entry: [{ id: PAGE_ID, time: ENTRY_TIME, messaging }] };
    const started = performance.now();
    const result = normalizeNotification(body).events;
    const elapsed = performance.now() - started;
    expect(result).toHaveLength(1000);
    expect(result.every((e) => e.kind === 'message')).toBe(true);
    expect(ofKind(result[999], 'message').message.mid).toBe('m_batch999');
    expect(elapsed).toBeLessThan(250);
  });

  it('never mutates the body it was given', () => {
    for (const name of fixtureNames) {
      const body = load(name);
      const before = structuredClone(body);
      normalizeNotification(body);
      expect(body).toStrictEqual(before);
    }
  });

  it('has a fixture for every event kind', () => {
    const everyKind = {
      message: true,
      echo: true,
      message_edit: true,
      postback: true,
      read: true,
      delivery: true,
      reaction: true,
      referral: true,
      optin: true,
      handover: true,
      policy: true,
      account_linking: true,
      game_play: true,
      comment: true,
      change: true,
      unknown: true,
    } satisfies Record<EventKind, true>;
    const seen = new Set(fixtureNames.flatMap((name) => events(name).map((e) => e.kind)));
    expect([...seen].sort()).toEqual(Object.keys(everyKind).sort());
  });

  it('yields unknown events only from the unknown and docs-curl fixtures', () => {
    const withUnknown = fixtureNames.filter((name) => events(name).some((e) => e.kind === 'unknown'));
    expect(withUnknown.sort()).toEqual(['docs-curl-test', 'unknown-entries', 'unknown-items', 'unknown-object-messaging', 'unknown-standby-empty']);
  });
});

// Compile-only: the union narrows by kind, so handlers cannot read another kind's payload.
export function typeChecks(event: WebhookEvent): void {
  if (event.kind === 'postback') {
    const payload: string = event.postback.payload;
    // @ts-expect-error a postback event has no message
    void event.message;
    void payload;
  }
  if (event.kind === 'handover' && event.action === 'app_roles') {
    // @ts-expect-error app_roles events carry no pass_thread_control
    void event.pass_thread_control;
  }
}
