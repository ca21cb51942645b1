// Property: for generated and mutated notifications, the handlers never fail, and every request
// the bot would make to Graph for their events is valid: a numeric recipient that is not our own
// account, 1 to 2000 characters of text or an attachment (Meta's limits, checked by the emulator's
// Send API validator), no lone surrogate, and no id in a profile path that is not digits.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { accountKeyOf, createAccountDirectory } from '../../services/accounts/directory.ts';
import { idsOf } from '../../services/accounts/types.ts';
import { loadConfig } from '../../services/config.ts';
import { sendBodyProblem } from '../../services/emulator/validate-send.ts';
import { PayloadError } from '../../services/errors.ts';
import { normalizeNotification } from '../../services/events/normalize.ts';
import type { WebhookEvent } from '../../services/events/types.ts';
import type { GraphClient, GraphRequest } from '../../services/graph/client.ts';
import { createSendApi } from '../../services/graph/send-api.ts';
import type { OutgoingAction } from '../../services/outbox/outgoing-action.ts';
import { createTranslations, SUPPORTED_LOCALES } from '../../services/i18n.ts';
import { createLogger } from '../../services/logger.ts';
import { handleEvent, type HandlingDeps } from '../../services/handling/handle-event.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
import { createMemoryStore } from '../../services/state/memory-store.ts';
import { userKey } from '../../services/state/store.ts';
import { TEST_ENV } from '../support/harness.ts';
import { anyBody, generatedConversation, hostileText, mutatedFixture, runs, timeoutFor } from './arbitraries.ts';
import { requestProblems } from './checks.ts';

const RUNS = runs(300);
const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:' });
const accounts = createAccountDirectory(config.accounts);
const ownIds = new Set(config.accounts.flatMap(idsOf));
const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations: createTranslations() };

/** A Graph client that answers profiles from the generated one and records every request. */
function recordingGraph(profile: Record<string, unknown> | undefined) {
  const requests: GraphRequest[] = [];
  const graph: GraphClient = {
    request<T>(req: GraphRequest): Promise<T> {
      requests.push(req);
      if (req.method === 'GET') return profile ? Promise.resolve(profile as T) : Promise.reject(new Error('profile unavailable'));
      return Promise.resolve({ recipient_id: '1', message_id: 'm_bot' } as T);
    },
  };
  return { graph, requests };
}

const scenario = fc.record({
  body: fc.oneof({ weight: 3, arbitrary: generatedConversation }, { weight: 2, arbitrary: mutatedFixture }, { weight: 1, arbitrary: anyBody }),
  profile: fc.option(fc.record({ first_name: fc.option(hostileText, { nil: undefined }), name: fc.option(hostileText, { nil: undefined }), locale: fc.option(fc.constantFrom('en_US', 'es_MX', 'zh_HK', 'xx', ''), { nil: undefined }) }), { nil: undefined }),
  awaitingOrder: fc.boolean(),
  locale: fc.option(fc.constantFrom(...SUPPORTED_LOCALES), { nil: undefined }),
});

describe('replies to any notification', () => {
  it('never fail in a handler and are all valid Send API requests', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ body, profile, awaitingOrder, locale }) => {
        let events: WebhookEvent[];
        try {
          events = normalizeNotification(body).events;
        } catch (err) {
          if (err instanceof PayloadError) return;
          throw err;
        }
        const lines: string[] = [];
        const log = createLogger({ level: 'error', write: (line) => lines.push(line) });
        const store = createMemoryStore();
        const { graph, requests } = recordingGraph(profile);
        const sendApi = createSendApi(graph);
        const deps: HandlingDeps = { store, sendApi, settings, log, now: () => Date.now(), accounts };
        for (const event of events) {
          const id = 'sender' in event ? event.sender?.id : undefined;
          if (id !== undefined) await store.putUser(userKey(accountKeyOf(event, accounts) ?? event.entry_id, event.channel, id), { ...(awaitingOrder ? { step: 'awaiting_order_number' } : {}), ...(locale ? { locale } : {}) });
          const outcome = await handleEvent(event, deps);
          const actions: OutgoingAction[] = [...outcome.actions, ...(outcome.apology ? [outcome.apology] : [])];
          for (const action of actions) await sendApi.perform(action);
          if (outcome.userKey && outcome.user) await store.putUser(outcome.userKey, outcome.user);
          for (const request of requests.splice(0)) {
            expect(requestProblems(request, { channel: event.channel, ownIds, validate: sendBodyProblem })).toEqual([]);
          }
        }
        // A handler that threw was logged at error level and replaced by an apology: a bug.
        expect(lines).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  }, timeoutFor(RUNS, 10));
});
