// The onError hook of a shop that wants alerts, through the real app: a reply Graph refuses for
// good and a token Graph rejects reach it with the reply's type, account and user; a send that is
// only retried does not; a hook that throws changes nothing the customer sees.
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { start } from '../app.ts';
import { loadConfig } from '../services/config.ts';
import { GraphApiError } from '../services/errors.ts';
import type { BotFailure } from '../services/failure-hook.ts';
import type { SendRequest } from '../services/graph/messages.ts';
import { signatureFor, toMetaJson } from '../services/signature.ts';
import { customer, mainMenuIn, t, text } from './support/chat.ts';
import { fakeGraph } from './support/fake-graph.ts';
import { silentLogger } from './support/silent-logger.ts';
import { PAGE_ID, TEST_ENV, textFrom } from './support/harness.ts';

const EN = t('en_US');
const RETRY = { baseMs: 5, maxMs: 20, maxAttempts: 5, random: () => 0.5 };
const graphError = (code: number, status = 400) => ({ status, body: { error: { message: `(#${code}) refused`, type: 'OAuthException', code, fbtrace_id: `Trace${code}` } } });

/** Refuses the first message the bot sends with this answer, and lets everything else through. */
function refuseFirstMessage(answer: { status: number; body: unknown }) {
  let refused = false;
  return (body: SendRequest) => {
    if (refused || !('message' in body)) return undefined;
    refused = true;
    return answer;
  };
}

describe('the onError hook', () => {
  it('hears of a reply Graph refuses for good, with the GraphApiError and the reply; the customer gets the apology', async () => {
    const failures: BotFailure[] = [];
    const c = customer({ profile: { first_name: 'Ana', locale: 'en_US' }, known: true, failSend: refuseFirstMessage(graphError(100)), bot: { retry: RETRY, onError: (f) => failures.push(f) } });
    expect(await c.says('hi')).toEqual([text(c.id, EN('welcome.named', { name: 'Ana' })), text(c.id, EN('apology'))]);
    expect(failures).toEqual([{ stage: 'sending', error: expect.any(GraphApiError), action: { type: 'message', account: PAGE_ID, user: c.key } }]);
    expect(failures[0]?.error).toMatchObject({ code: 100, fbtrace_id: 'Trace100', endpoint: 'POST /v24.0/me/messages' });
  });

  it('hears of a token Graph rejects (code 190): sending is paused', async () => {
    const failures: BotFailure[] = [];
    const c = customer({ profile: { first_name: 'Ana' }, failSend: () => graphError(190, 401), bot: { retry: RETRY, onError: (f) => failures.push(f) } });
    await c.says('hi');
    expect(failures).toEqual([{ stage: 'sending', error: expect.objectContaining({ code: 190 }), action: { type: 'message', account: PAGE_ID, user: c.key } }]);
    expect((await c.harness.bot.health()).paused_accounts).toEqual([PAGE_ID]);
  });

  it('does not hear of a send that succeeds when it is tried again', async () => {
    const failures: BotFailure[] = [];
    const c = customer({ profile: { first_name: 'Ana' }, known: true, failSend: refuseFirstMessage(graphError(2, 503)), bot: { retry: RETRY, onError: (f) => failures.push(f) } });
    const welcome = text(c.id, EN('welcome.named', { name: 'Ana' }));
    // Refused once (Graph code 2: try again later), then sent.
    expect(await c.says('hi')).toEqual([welcome, welcome, text(c.id, EN('menu.prompt'), mainMenuIn('en_US'))]);
    expect(failures).toEqual([]);
  });

  it('that throws is logged; replies and apologies go out as without it', async () => {
    const c = customer({
      profile: { first_name: 'Ana', locale: 'en_US' },
      known: true,
      failSend: refuseFirstMessage(graphError(100)),
      bot: {
        retry: RETRY,
        onError: () => {
          throw new Error('the alerting service is down');
        },
      },
    });
    expect(await c.says('hi')).toEqual([text(c.id, EN('welcome.named', { name: 'Ana' })), text(c.id, EN('apology'))]);
    expect(c.harness.logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the onError hook failed; handling and sending go on', stage: 'sending', err: expect.objectContaining({ message: 'the alerting service is down' }) }));
  });

  it('is what a shop passes to start() in app.ts', async () => {
    const failures: BotFailure[] = [];
    fakeGraph({ profiles: { '24000000000000001': { first_name: 'Ana' } }, failSend: refuseFirstMessage(graphError(100)) });
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: 'memory:', PORT: '0', HOST: '127.0.0.1', WATCHDOG_INTERVAL: 'off' });
    const running = await start(config, silentLogger, { onError: (f) => failures.push(f) });
    try {
      const body = toMetaJson(textFrom('24000000000000001', 'hi'));
      const { port } = running.server.address() as AddressInfo;
      const res = await request(`http://127.0.0.1:${port}`).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signatureFor(config.APP_SECRET, body)).send(body);
      expect(res.status).toBe(200);
      await running.bot.idle();
      expect(failures).toEqual([expect.objectContaining({ stage: 'sending', action: { type: 'message', account: PAGE_ID, user: `${PAGE_ID}/messenger:24000000000000001` } })]);
    } finally {
      await running.close(1000);
    }
  });
});
