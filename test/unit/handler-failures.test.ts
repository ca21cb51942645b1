// A handler that throws: the customer gets the apology, nothing half-done is kept, the error is
// logged with the event's kind, id and user and its stack (file and line), and the shop's onError
// hook hears of it with that context. A hook that throws or rejects changes none of that.
import { describe, expect, it } from '@jest/globals';
import { createAccountDirectory } from '../../services/accounts/directory.ts';
import { handleComment } from '../../services/comments/handle.ts';
import { loadConfig } from '../../services/config.ts';
import type { BotSettings } from '../../services/conversation/context.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { CommentEvent, WebhookEvent } from '../../services/events/types.ts';
import type { BotFailure, FailureHook } from '../../services/failure-hook.ts';
import type { SendApi } from '../../services/graph/send-api.ts';
import { handleEvent, type HandlingDeps } from '../../services/handling/handle-event.ts';
import { createTranslations } from '../../services/i18n.ts';
import { eventKey } from '../../services/inbox/event-key.ts';
import { createLogger, type Logger } from '../../services/logger.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { BotStore } from '../../services/state/store.ts';
import { userKey } from '../../services/state/store.ts';
import { postedFailure, receivedFailure } from '../../services/worker/failures.ts';
import { GraphApiError } from '../../services/errors.ts';
import { IG_ID, PAGE_ID, TEST_ENV, fixture } from '../support/harness.ts';

const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
const accounts = createAccountDirectory(config.accounts);
const translations = createTranslations();
const EN = translations.fixedT('en_US');
const catalog = loadCatalog();
const ANA = '24000000000000001';
const KEY = userKey(PAGE_ID, 'messenger', ANA);
const BUG = "Cannot read properties of undefined (reading 'status')";

/** The shop's data with a bug in it: looking an order up throws, as a handler bug would. */
const brokenSettings: BotSettings = {
  catalog: {
    ...catalog,
    order: () => {
      throw new TypeError(BUG);
    },
  },
  appUrl: config.APP_URL,
  appId: config.APP_ID,
  translations,
};

const profiles: SendApi = {
  perform: () => Promise.reject(new Error('handlers never send')),
  getUserProfile: () => Promise.resolve({ first_name: 'Ana', locale: 'en_US' }),
};

function setup(options: { onError?: FailureHook; store?: BotStore } = {}) {
  const lines: string[] = [];
  const failures: BotFailure[] = [];
  const store = options.store ?? createMemoryStore();
  const deps: HandlingDeps = {
    store,
    sendApi: profiles,
    settings: brokenSettings,
    log: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
    now: () => Date.now(),
    accounts,
    onError: options.onError ?? ((failure) => failures.push(failure)),
  };
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { deps, store, failures, records };
}

/** A logger that throws on one message: a bug in the middle of a flow. */
function throwingOn(msg: string, log: Logger): Logger {
  return {
    debug: (m, fields) => {
      if (m === msg) throw new TypeError(BUG);
      log.debug(m, fields);
    },
    info: (m, fields) => log.info(m, fields),
    warn: (m, fields) => log.warn(m, fields),
    error: (m, fields) => log.error(m, fields),
    child: (bindings) => throwingOn(msg, log.child(bindings)),
  };
}

function eventOf(body: unknown): WebhookEvent {
  const [event] = normalizeNotification(body).events;
  if (!event) throw new Error('no event in the body');
  return event;
}

/** Ana types an order number while the bot waits for one: the lookup (broken above) throws. */
async function orderNumberTyped(store: BotStore) {
  await store.putUser(KEY, { step: 'awaiting_order_number' });
  const message = { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() - 1000, message: { mid: 'm_order_typed', text: 'TW-10231' } };
  return eventOf({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [message] }] });
}

describe('a handler that throws', () => {
  it('is answered with the apology alone, and nothing it did is kept', async () => {
    const { deps, store } = setup();
    const outcome = await handleEvent(await orderNumberTyped(store), deps);
    const apology = { type: 'message', recipient: { id: ANA }, message: { text: EN('apology') }, account: PAGE_ID };
    expect(outcome.actions).toEqual([apology]);
    expect(outcome).toMatchObject({ userKey: KEY, sentUpdates: [], statusUpdates: [], apology });
  });

  it('is logged at error level with the event kind, id (the mid) and user key, and the stack with files and lines', async () => {
    const { deps, store, records } = setup();
    await handleEvent(await orderNumberTyped(store), deps);
    const failed = records().filter((r) => r.msg === 'handler failed');
    expect(failed).toEqual([
      expect.objectContaining({ level: 'error', kind: 'message', channel: 'messenger', account: PAGE_ID, user: KEY, id: 'm_order_typed', err: expect.objectContaining({ name: 'TypeError', message: BUG }) }),
    ]);
    const stack = (failed[0]?.err as { stack?: string }).stack ?? '';
    // Where it was thrown, and the flow that called it.
    expect(stack).toMatch(/handler-failures\.test\.ts:\d+:\d+/);
    expect(stack).toMatch(/services\/conversation\/orders\.ts:\d+:\d+/);
  });

  it('is passed to onError with the event: kind, id and user', async () => {
    const { deps, store, failures } = setup();
    await handleEvent(await orderNumberTyped(store), deps);
    expect(failures).toEqual([{ stage: 'handling', error: expect.any(TypeError), event: { kind: 'message', id: 'm_order_typed', user: KEY } }]);
    expect((failures[0]?.error as Error).message).toBe(BUG);
  });

  it('names an event without a mid by its dedup key', async () => {
    const base = createMemoryStore();
    const failingReads: BotStore = { ...base, getSent: () => Promise.reject(new TypeError(BUG)) };
    const { deps, failures } = setup({ store: failingReads });
    // Instagram's messaging_seen names the message seen: the flow looks it up, which throws here.
    const read = eventOf({ object: 'instagram', entry: [{ id: IG_ID, time: Date.now(), messaging: [{ sender: { id: '7650000000000001' }, recipient: { id: IG_ID }, timestamp: Date.now(), read: { mid: 'aWdfseen1' } }] }] });
    await handleEvent(read, deps);
    expect(failures).toEqual([{ stage: 'handling', error: expect.any(TypeError), event: { kind: 'read', id: eventKey(read), user: userKey(PAGE_ID, 'instagram', '7650000000000001') } }]);
  });

  it('loses the changes it collected before it threw (a delivery recorded, then a bug), and a receipt earns no apology', async () => {
    const { deps } = setup();
    // The flow pushes the status change, then logs it: a logger that throws there is the bug.
    const delivery = eventOf({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [{ sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now(), delivery: { mids: ['m_bot_1'], watermark: 0 } }] }] });
    const outcome = await handleEvent(delivery, { ...deps, log: throwingOn('delivered', deps.log) });
    expect(outcome.statusUpdates).toEqual([]);
    // The customer said nothing: there is nothing to apologise for.
    expect(outcome.actions).toEqual([]);
  });
});

describe('an onError hook that fails', () => {
  it('that throws: logged, and the customer still gets the apology', async () => {
    const { deps, store, records } = setup({
      onError: () => {
        throw new Error('the alerting service is down');
      },
    });
    const outcome = await handleEvent(await orderNumberTyped(store), deps);
    expect(outcome.apology).toMatchObject({ message: { text: EN('apology') } });
    expect(records()).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the onError hook failed; handling and sending go on', stage: 'handling', err: expect.objectContaining({ message: 'the alerting service is down' }) }));
  });

  it('that rejects: logged when it does, never waited for', async () => {
    let reject: (err: Error) => void = () => undefined;
    const { deps, store, records } = setup({ onError: () => new Promise<void>((_, no) => (reject = no)) as unknown as void });
    const outcome = await handleEvent(await orderNumberTyped(store), deps);
    expect(outcome.apology).toBeDefined();
    reject(new Error('alert timed out'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(records()).toContainEqual(expect.objectContaining({ msg: 'the onError hook failed; handling and sending go on', err: expect.objectContaining({ message: 'alert timed out' }) }));
  });
});

describe('a comment whose replies cannot be built', () => {
  it('is logged with the comment and passed to onError; nothing is sent', async () => {
    const [event] = normalizeNotification(fixture('page-feed-comment-add')).events as CommentEvent[];
    if (!event) throw new Error('no comment in the fixture');
    const failures: BotFailure[] = [];
    const broken = { ...brokenSettings, catalog, translations: { ...translations, fixedT: () => { throw new RangeError('no such language'); } } };
    const lines: string[] = [];
    const outcome = await handleComment(event, {
      store: createMemoryStore(),
      settings: broken,
      log: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
      now: () => 1700000000 * 1000 + 60_000,
      accounts,
      account: PAGE_ID,
      onError: (failure) => failures.push(failure),
    });
    expect(outcome.actions).toEqual([]);
    expect(failures).toEqual([{ stage: 'handling', error: expect.any(RangeError), event: { kind: 'comment', id: eventKey(event), user: undefined } }]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ level: 'error', msg: 'comment replies could not be built; nothing sent', err: expect.objectContaining({ stack: expect.stringContaining('handler-failures.test.ts') }) }));
  });
});

describe('a failure that crosses from the bot worker to the webhook thread', () => {
  it('arrives as an Error with its name, message, stack and fields, whatever postMessage keeps', () => {
    const error = new GraphApiError({ status: 400, code: 100, error_subcode: 33, type: 'GraphMethodException', fbtrace_id: 'AbC', endpoint: 'POST /v24.0/me/messages', graphMessage: 'Invalid parameter' });
    const failure: BotFailure = { stage: 'sending', error, action: { type: 'message', account: PAGE_ID, user: KEY } };
    // What a MessagePort does to it: a structured clone.
    const received = receivedFailure(structuredClone(postedFailure(failure)));
    expect(received.action).toEqual(failure.action);
    expect(received.error).toBeInstanceOf(Error);
    expect(received.error).toMatchObject({ name: 'GraphApiError', message: error.message, stack: error.stack, code: 100, error_subcode: 33, fbtrace_id: 'AbC', status: 400, endpoint: 'POST /v24.0/me/messages' });
    expect(receivedFailure(structuredClone(postedFailure({ stage: 'handling', error: 'a string was thrown' }))).error).toBe('a string was thrown');
  });
});
