// Wires the services together from a config: Graph client, Send API, state, translations, the
// processor and the queue. No HTTP here; app.ts puts a server in front of it.
import type { AxiosInstance } from 'axios';
import type { Config } from './config.ts';
import type { NormalizedNotification } from './events/types.ts';
import { createEventQueue, type EventQueue } from './event-queue.ts';
import { createGraphClient, type GraphClient } from './graph/client.ts';
import { createSendApi, type SendApi } from './graph/send-api.ts';
import { createTranslations } from './i18n.ts';
import type { Logger } from './logger.ts';
import { createProcessor } from './processor.ts';
import { loadCatalog } from './shop/catalog.ts';
import { createMemoryStore } from './state/memory-store.ts';
import type { StateStore } from './state/store.ts';

export interface Bot {
  /** Hands the events of an authentic notification to the queue. */
  accept(notification: NormalizedNotification): void;
  /** Resolves when every accepted event has been handled and its replies delivered. */
  idle(): Promise<void>;
  graph: GraphClient;
  sendApi: SendApi;
  store: StateStore;
  queue: EventQueue;
}

export interface BotOptions {
  log: Logger;
  now?: () => number;
  store?: StateStore;
  http?: AxiosInstance;
}

export function createBot(config: Readonly<Config>, options: BotOptions): Bot {
  const { log } = options;
  const now = options.now ?? Date.now;
  const graph = createGraphClient({
    baseUrl: config.GRAPH_API_URL,
    version: config.GRAPH_API_VERSION,
    accessToken: config.PAGE_ACCESS_TOKEN,
    appSecret: config.APP_SECRET,
    ...(options.http ? { http: options.http } : {}),
  });
  const sendApi = createSendApi(graph);
  const store = options.store ?? createMemoryStore();
  const settings = { catalog: loadCatalog(), appUrl: config.APP_URL, appId: config.APP_ID, translations: createTranslations() };
  const process = createProcessor({ store, sendApi, settings, log, now });
  const queue = createEventQueue({ process, log });
  return {
    accept: (notification) => queue.enqueue(notification.events),
    idle: () => queue.onIdle(),
    graph,
    sendApi,
    store,
    queue,
  };
}
