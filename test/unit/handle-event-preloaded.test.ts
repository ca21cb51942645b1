// A user's state the store read with the lane's claim (PostgreSQL, InboxRow.user): the handler uses
// it instead of reading the user, but only when it is this event's user; otherwise it reads.
import { describe, expect, it } from '@jest/globals';
import { createAccountDirectory } from '../../services/accounts/directory.ts';
import { loadConfig } from '../../services/config.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import type { SendApi } from '../../services/graph/send-api.ts';
import { handleEvent, type HandlingDeps } from '../../services/handling/handle-event.ts';
import { createTranslations } from '../../services/i18n.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import type { StoreReads } from '../../services/state/store.ts';
import { userKey } from '../../services/state/store.ts';
import { PAGE_ID, TEST_ENV } from '../support/harness.ts';
import { silentLogger } from '../support/silent-logger.ts';

const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
const translations = createTranslations();
const ANA = '24000000000000001';
const KEY = userKey(PAGE_ID, 'messenger', ANA);

const noGraph: SendApi = {
  perform: () => Promise.reject(new Error('handlers never send')),
  getUserProfile: () => Promise.reject(new Error('handlers never look profiles up')),
};

/** Deps on a store holding `stored` for Ana, counting the user reads. */
async function setup(stored: Record<string, unknown>) {
  const base = createMemoryStore();
  await base.putUser(KEY, stored);
  const reads: string[] = [];
  const store: StoreReads = {
    getUser: (key) => {
      reads.push(key);
      return base.getUser(key);
    },
    getSent: (key, mid) => base.getSent(key, mid),
  };
  const deps: HandlingDeps = {
    store,
    sendApi: noGraph,
    settings: { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations },
    log: silentLogger,
    now: () => Date.now(),
    accounts: createAccountDirectory(config.accounts),
  };
  return { deps, reads };
}

function hello(): WebhookEvent {
  const message = { sender: { id: ANA }, recipient: { id: PAGE_ID }, timestamp: Date.now() - 1000, message: { mid: 'm_hello_preloaded', text: 'hello' } };
  const [event] = normalizeNotification({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [message] }] }).events;
  if (!event) throw new Error('no event in the body');
  return event;
}

/** What the replies say (the locale they were written in). */
const greeting = (outcome: Awaited<ReturnType<typeof handleEvent>>): string => JSON.stringify(outcome.actions.map((a) => ('message' in a ? a.message : null)));

describe('a preloaded user', () => {
  it('is used as the user, with no read, when it is this event’s user', async () => {
    const { deps, reads } = await setup({ locale: 'en_US' });
    const outcome = await handleEvent(hello(), deps, { key: KEY, state: { locale: 'es_ES' } });
    expect(reads).toEqual([]);
    expect(outcome.user).toMatchObject({ locale: 'es_ES' });
    expect(greeting(outcome)).toEqual(greeting(await handleEvent(hello(), deps, { key: KEY, state: { locale: 'es_ES' } })));
    expect(greeting(outcome)).not.toEqual(greeting(await handleEvent(hello(), deps)));
  });

  it('is ignored for another user: the handler reads its own', async () => {
    const { deps, reads } = await setup({ locale: 'en_US' });
    const outcome = await handleEvent(hello(), deps, { key: userKey(PAGE_ID, 'messenger', '24000000000000002'), state: { locale: 'es_ES' } });
    expect(reads).toEqual([KEY]);
    expect(outcome.user).toMatchObject({ locale: 'en_US' });
  });
});
