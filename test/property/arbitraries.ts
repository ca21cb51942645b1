// Generators for the property tests: arbitrary JSON, hostile strings, and the real fixtures of
// test/fixtures/webhooks mutated at random places (types swapped, keys dropped, numbers as strings,
// huge and deep values, odd unicode, our own ids as senders, ids that are not ids).
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { encodePayload } from '../../services/payload.ts';
import { SUPPORTED_LOCALES } from '../../services/i18n.ts';
import { IG_ID, PAGE_ID } from '../support/harness.ts';

/**
 * How many cases each property runs: a few dozen by default so `npm test` stays fast; set
 * FUZZ_RUNS (e.g. FUZZ_RUNS=20000) for a long run. Tests read it here, the one place.
 */
export function runs(quick: number): number {
  const wanted = Number(process.env.FUZZ_RUNS);
  return Number.isSafeInteger(wanted) && wanted > 0 ? wanted : quick;
}

/** A jest timeout for `count` cases of `msPerCase` each, with a generous floor for a busy machine. */
export function timeoutFor(count: number, msPerCase: number): number {
  return Math.max(60_000, count * msPerCase);
}

const FIXTURES = new URL('../fixtures/webhooks/', import.meta.url);
export const FIXTURE_NAMES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

export function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as unknown;
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Text a user might send, and text no user should: lone surrogates, emoji runs, control characters. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.oneof(fc.constantFrom('😀', '👩‍👩‍👧‍👦', '🇦🇹', 'é', '\u0301', 'x', ' ', '\n', '\u200d'), loneSurrogate), maxLength: 80 }),
  fc.constantFrom('', ' ', 'TW-10231', 'tw 10232', 'TW-99999', 'hi', 'menu', '..', '\ud83d', `${'x'.repeat(39)}😀`, 'x'.repeat(2500)),
);

/** Ids: real-looking ones, ours, and strings that must never reach a Graph path. */
export const anyId: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('24000000000000001', '24000000000000002', '7650000000000001', PAGE_ID, IG_ID, '0', '..', '../me', '', 'me', 'PAGE_ID', ' 1', '1/2'),
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.integer({ min: 0, max: 2 ** 53 }),
  hostileText,
);

/** Times in every form seen in the wild, and some that are not times. */
export const anyTime: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 53 }),
  fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }).chain((s) => fc.constantFrom<number | string>(s, s * 1000, String(s), String(s * 1000), new Date(s * 1000).toISOString())),
  fc.double(),
  fc.constantFrom('2018-05-27T22:23:44+0000', 'yesterday', '', '1e12', null, -1),
);

export const allPayloads: string[] = [
  ...(['GET_STARTED', 'MENU', 'BROWSE', 'ORDER_STATUS', 'TALK_TO_HUMAN', 'LANGUAGE', 'CANCEL'] as const).map((action) => encodePayload({ action })),
  ...['sencha', 'earl-grey', 'jasmine-pearls', 'oolong', 'no-such-tea'].map((product_id) => encodePayload({ action: 'PRODUCT_DETAILS', product_id })),
  ...SUPPORTED_LOCALES.map((locale) => encodePayload({ action: 'SET_LOCALE', locale })),
];

export const anyPayload: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...allPayloads), hostileText);

/** Something to put in place of a value: another type, a huge or deep value, odd text. */
const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  hostileText,
  anyId,
  anyTime,
  fc.constant('x'.repeat(20_000)),
  fc.integer({ min: 1, max: 300 }).map((depth) => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { v: value };
    return value;
  }),
  fc.array(fc.constant({}), { maxLength: 50 }),
);

type Mutation =
  | { op: 'replace'; value: unknown }
  | { op: 'delete' }
  | { op: 'stringify' }
  | { op: 'duplicate' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  replacement.map((value) => ({ op: 'replace' as const, value })),
  fc.constant({ op: 'delete' as const }),
  fc.constant({ op: 'stringify' as const }),
  fc.constant({ op: 'duplicate' as const }),
);

type Container = Record<string, unknown> | unknown[];

/** Every (container, key) pair inside a JSON value, the root's own keys included. */
function slots(value: unknown, found: [Container, string | number][] = []): [Container, string | number][] {
  if (Array.isArray(value)) {
    const list: unknown[] = value;
    list.forEach((item, i) => {
      found.push([list, i]);
      slots(item, found);
    });
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      found.push([record, key]);
      slots(record[key], found);
    }
  }
  return found;
}

function apply(body: unknown, at: number, m: Mutation): void {
  const all = slots(body);
  const slot = all[at % Math.max(all.length, 1)];
  if (slot === undefined) return;
  const [container, key] = slot;
  const get = (): unknown => (Array.isArray(container) ? container[key as number] : container[key as string]);
  const set = (value: unknown): void => {
    if (Array.isArray(container)) container[key as number] = value;
    else container[key as string] = value;
  };
  switch (m.op) {
    case 'replace':
      return set(structuredClone(m.value));
    case 'delete':
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
      return;
    case 'stringify': {
      const current = get();
      return set(typeof current === 'string' ? Number(current) : JSON.stringify(current) ?? null);
    }
    case 'duplicate':
      if (Array.isArray(container)) container.push(structuredClone(get()));
      return;
  }
}

/** A real fixture with 1 to 5 mutations applied at random places. */
export const mutatedFixture: fc.Arbitrary<unknown> = fc
  .record({
    name: fc.constantFrom(...FIXTURE_NAMES),
    mutations: fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 5 }),
  })
  .map(({ name, mutations }) => {
    const body = loadFixture(name);
    for (const [at, m] of mutations) apply(body, at, m);
    return body;
  });

/** A messaging item in Meta's envelope with generated fields, addressed to one of our accounts. */
export const generatedConversation: fc.Arbitrary<unknown> = fc
  .record({
    object: fc.constantFrom('page', 'instagram', 'page', 'user'),
    entryId: fc.oneof(fc.constantFrom(PAGE_ID, IG_ID, PAGE_ID), anyId),
    time: anyTime,
    sender: anyId,
    timestamp: fc.option(anyTime, { nil: undefined }),
    mid: fc.oneof(fc.uuid().map((u) => `m_${u}`), hostileText),
    kind: fc.constantFrom('text', 'quick_reply', 'postback', 'attachment', 'reaction', 'referral', 'optin', 'read', 'delivery'),
    text: hostileText,
    payload: anyPayload,
  })
  .map(({ object, entryId, time, sender, timestamp, mid, kind, text, payload }) => {
    const fields: Record<string, unknown> = {
      text: { message: { mid, text } },
      quick_reply: { message: { mid, text, quick_reply: { payload } } },
      postback: { postback: { mid, title: text, payload } },
      attachment: { message: { mid, attachments: [{ type: 'image', payload: { url: 'https://cdn.example/x.png', sticker_id: 369239263222822 } }] } },
      reaction: { reaction: { mid, action: 'react', reaction: 'love', emoji: '❤' } },
      referral: { referral: { ref: text, source: 'SHORTLINK', type: 'OPEN_THREAD' } },
      optin: { optin: { type: 'notification_messages', payload, notification_messages_token: 'tok' } },
      read: { read: { watermark: Date.now() } },
      delivery: { delivery: { watermark: Date.now(), mids: [mid] } },
    };
    const item = { sender: { id: sender }, recipient: { id: entryId }, ...(timestamp === undefined ? {} : { timestamp }), ...(fields[kind] as object) };
    return { object, entry: [{ id: entryId, time, messaging: [item] }] };
  });

/** Any body at all: arbitrary JSON, generated conversations, mutated fixtures. */
export const anyBody: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.record({ object: fc.oneof(fc.constantFrom('page', 'instagram', 'user'), fc.string()), entry: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }) }) },
  { weight: 3, arbitrary: generatedConversation },
  { weight: 4, arbitrary: mutatedFixture },
);
