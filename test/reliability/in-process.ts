// The real express app and bot in this process (test/support/harness.ts), talking over real HTTP
// to the mock Graph server. The Graph client timeout can be shortened so "hangs" time out quickly;
// by default it is long, because a timed-out call that did reach Graph is (rightly) sent again.
import { afterEach } from '@jest/globals';
import type { Response } from 'supertest';
import { createGraphHttp } from '../../services/graph/client.ts';
import type { BotOptions } from '../../services/bot.ts';
import { createHarness, postSigned, type Harness } from '../support/harness.ts';
import { startMockGraph, type MockGraph, type MockGraphOptions } from '../support/mock-graph-server.ts';
import { pageNotification, type MessagingItem } from './helpers.ts';

const DEFAULT_CLIENT_TIMEOUT_MS = 5000;

export interface Rig {
  h: Harness;
  mock: MockGraph;
  /** Every Graph request as the bot issued it (performance.now(), method, path, body), before the network. */
  issued: { at: number; method: string; url: string; data: unknown }[];
  /** Posts one signed notification holding these items; expects the 200. */
  post(items: readonly MessagingItem[] | MessagingItem): Promise<Response>;
  close(): Promise<void>;
}

export interface RigOptions {
  mock?: MockGraphOptions;
  /** Reuse a running mock (e.g. across a restart of the bot). */
  sharedMock?: MockGraph;
  env?: Record<string, string>;
  bot?: Omit<BotOptions, 'log' | 'http'>;
  /** The Graph client's timeout (ms). */
  clientTimeoutMs?: number;
}

export async function createRig(options: RigOptions = {}): Promise<Rig> {
  const mock = options.sharedMock ?? (await startMockGraph(options.mock));
  const http = createGraphHttp({ baseUrl: mock.url, version: mock.version, timeoutMs: options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS });
  const issued: Rig['issued'] = [];
  http.interceptors.request.use((config) => {
    issued.push({ at: performance.now(), method: (config.method ?? 'get').toUpperCase(), url: config.url ?? '', data: config.data as unknown });
    return config;
  });
  const h = createHarness({ GRAPH_API_URL: mock.url, ...options.env }, { ...options.bot, http });
  let closed = false;
  return {
    h,
    mock,
    issued,
    post: async (items) => {
      const res = await postSigned(h.app, pageNotification(Array.isArray(items) ? items : [items]));
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${res.text}`);
      return res;
    },
    async close() {
      if (closed) return;
      closed = true;
      await h.bot.close(1000).catch(() => undefined);
      if (!options.sharedMock) await mock.close();
    },
  };
}

let counter = 0;
/** A timestamp `agoMs` before now (within the 24-hour window unless told otherwise), unique and increasing. */
export function stamp(agoMs = 60_000): number {
  counter += 1;
  return Date.now() - agoMs + counter;
}

/**
 * One rig factory per test file: every rig it makes, and every cleanup registered, is closed after
 * each test (rigs first, then cleanups in order).
 */
export function useRigs(): { rig: (options?: RigOptions) => Promise<Rig>; cleanups: (() => void | Promise<void>)[] } {
  let rigs: Rig[] = [];
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const r of rigs) await r.close();
    rigs = [];
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    cleanups,
    async rig(options: RigOptions = {}) {
      const r = await createRig(options);
      rigs.push(r);
      return r;
    },
  };
}
