// Conversation scenarios: one customer chatting with the real app (signed webhooks in, Send API
// calls out to a nock-faked Graph API), and the replies they should get, built from the
// translations and the action table rather than copied English text.
import { afterEach, expect } from '@jest/globals';
import { entriesIn, type ActionName } from '../../services/conversation/actions.ts';
import { createTranslations, type Locale, type Translate } from '../../services/i18n.ts';
import type { BotOptions } from '../../services/bot.ts';
import { realTimers } from '../../services/outbox/timers.ts';
import { fakeGraph, type FakeGraph, type FakeGraphOptions, type MessageBody } from './fake-graph.ts';
import { userKey, type CachedProfile } from '../../services/state/store.ts';
import { PAGE_ID, createHarness, notification, postSigned, postbackFrom, quickReplyFrom, textFrom, type Harness } from './harness.ts';

export const translations = createTranslations();

/** The bot's texts in one language. */
export function t(locale: Locale): Translate {
  return translations.fixedT(locale);
}

export interface QuickReplyBody {
  content_type: 'text';
  title: string;
  payload: string;
}

/** A text message the bot sends, in Meta's Send API shape. */
export interface TextBody {
  recipient: { id: string };
  messaging_type: 'RESPONSE';
  message: { text: string; quick_replies?: QuickReplyBody[] };
}

/** The body of POST me/messages for a text, as the bot must send it. */
export function text(to: string, body: string, quickReplies?: QuickReplyBody[]): TextBody {
  return { recipient: { id: to }, messaging_type: 'RESPONSE', message: quickReplies ? { text: body, quick_replies: quickReplies } : { text: body } };
}

export function quickReply(title: string, payload: string): QuickReplyBody {
  return { content_type: 'text', title, payload };
}

/** The main menu in a language: the table's quick-reply entries, in order, with their labels. */
export function mainMenuIn(locale: Locale): QuickReplyBody[] {
  return entriesIn('quickReply').map((entry) => quickReply(t(locale)(entry.label), entry.name));
}

/** A label of the table in a language (what a customer taps). */
export function labelOf(name: ActionName, locale: Locale): string {
  const entry = [...entriesIn('quickReply'), ...entriesIn('persistentMenu')].find((e) => e.name === name);
  if (!entry) throw new Error(`${name} has no label in the action table`);
  return t(locale)(entry.label);
}

export interface Customer {
  id: string;
  /** Their key in the store: `<account>/<channel>:<id>`. */
  key: string;
  harness: Harness;
  /** Every call the app made to the fake Graph API. */
  graph: FakeGraph;
  /** Types a text; resolves to the messages the bot sent back (typing indicators left out). */
  says(text: string): Promise<MessageBody[]>;
  /** Taps a quick reply with this payload (a table entry's name, or `NAME:value`). */
  taps(payload: string): Promise<MessageBody[]>;
  /** Taps a postback button (persistent menu, Get Started, a template button). */
  presses(payload: string): Promise<MessageBody[]>;
  /** Any messaging item, wrapped in a notification. */
  sends(item: Record<string, unknown>): Promise<MessageBody[]>;
  /** A whole notification as Meta posts it (a fixture, a standby batch); the messages sent to anyone after it. */
  posts(body: unknown): Promise<MessageBody[]>;
}

export interface CustomerOptions {
  /** What the User Profile API answers for this customer; undefined: it fails (404). */
  profile?: Record<string, unknown>;
  /**
   * The bot has met this customer before: the profile above is in its cache (as a lookup after
   * an earlier message left it), so the first message here is answered by name, in their
   * language. Without it the customer is new: answered at once, without a name, in the default
   * language (or the one their words are in), and looked up after that first answer.
   */
  known?: boolean;
  channel?: 'messenger' | 'instagram';
  id?: string;
  /** Run the bot's clock as if it were this instant (ms since the epoch) when the chat starts. */
  clockAt?: number;
  /** Lets the fake Send API refuse a body (see fakeGraph). */
  failSend?: FakeGraphOptions['failSend'];
  /** More options for the bot (an onError hook, a retry policy). */
  bot?: Omit<BotOptions, 'log' | 'timers'>;
}

let nextId = 1;

// Each test's bots are closed when it ends: one left running could still be retrying a send when
// the next test (or the next file in this worker) sets up its own fake Graph API, which nock
// shares across the worker, and that fake would see the old bot's messages.
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.bot.close(1_000)));
});

/** A new customer with their own app and fake Graph API: one per test (nock's fakes are global). */
export function customer(options: CustomerOptions = {}): Customer {
  const id = options.id ?? `2400000000000${String(nextId++).padStart(4, '0')}`;
  const channel = options.channel ?? 'messenger';
  const object = channel === 'messenger' ? 'page' : 'instagram';
  const offset = options.clockAt === undefined ? 0 : options.clockAt - Date.now();
  const harness = createHarness({}, { ...options.bot, ...(offset === 0 ? {} : { timers: { now: () => Date.now() + offset, sleep: (ms) => realTimers.sleep(ms) } }) });
  open.push(harness);
  const graph = fakeGraph({ profiles: options.profile ? { [id]: options.profile } : {}, ...(options.failSend ? { failSend: options.failSend } : {}) });
  const met = options.known && options.profile ? harness.bot.store.putUser(userKey(PAGE_ID, channel, id), { profile: cachedProfile(options.profile, Date.now() + offset) }) : undefined;
  const exchange = async (body: unknown): Promise<MessageBody[]> => {
    await met;
    const before = graph.messages().length;
    const res = await postSigned(harness.app, body);
    expect(res.status).toBe(200);
    await harness.bot.idle();
    return graph.messages().slice(before);
  };
  return {
    id,
    // The harness's Instagram account is linked to its Page: both channels' users are the Page's.
    key: userKey(PAGE_ID, channel, id),
    harness,
    graph,
    says: (words) => exchange(textFrom(id, words, object)),
    // Meta sends the chip's title as the text; the bot reads only the payload.
    taps: (payload) => exchange(quickReplyFrom(id, payload, payload, object)),
    presses: (payload) => exchange(postbackFrom(id, payload, object)),
    sends: (item) => exchange(notification(object, item)),
    posts: (body) => exchange(body),
  };
}

/** A profile as the bot caches it after a lookup (services/profile-cache.ts). */
function cachedProfile(raw: Record<string, unknown>, fetchedAt: number): CachedProfile {
  const name = typeof raw.name === 'string' ? raw.name.split(' ')[0] : undefined;
  const firstName = typeof raw.first_name === 'string' ? raw.first_name : (name ?? (typeof raw.username === 'string' ? raw.username : undefined));
  return { ...(firstName ? { first_name: firstName } : {}), ...(typeof raw.locale === 'string' ? { locale: raw.locale } : {}), fetched_at: fetchedAt };
}
