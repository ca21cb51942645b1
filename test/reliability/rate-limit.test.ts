// The Send API rate limit end to end: the outbox stays under SEND_RATE_LIMIT against the mock
// Graph server, each user's replies in order. (The gate itself: test/unit/rate-gate.test.ts and
// arrival-rate.test.ts.)
import { afterEach, describe, expect, it } from '@jest/globals';
import { maxInWindow } from '../support/arrival-window.ts';
import { expectedStream, orderStatusItem, psid, streamsByUser, textItem } from './helpers.ts';
import { createRig, stamp, type Rig } from './in-process.ts';

describe('SEND_RATE_LIMIT end to end', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('the outbox keeps to SEND_RATE_LIMIT=20 in every 1-second window over 100 sends', async () => {
    rig = await createRig({ env: { SEND_RATE_LIMIT: '20' } });
    // 20 users, 5 replies each.
    const users = Array.from({ length: 20 }, (_, i) => psid(800 + i));
    const started = performance.now();
    await rig.post(users.flatMap((u) => [orderStatusItem(u, stamp()), ...[1, 2, 3, 4].map((n) => textItem(u, `r${n}`, stamp()))]));
    await rig.h.bot.idle();
    const elapsed = performance.now() - started;
    const sends = rig.mock.sends();
    // When the bot put each send on the wire, and when the mock Graph server received it.
    const issued = maxInWindow(rig.issued.filter((r) => r.url === 'me/messages').map((r) => r.at), 1000);
    const received = maxInWindow(sends.map((c) => c.at), 1000);
    process.stdout.write(`SEND_RATE_LIMIT=20: ${sends.length} sends in ${Math.round(elapsed)} ms; at most ${issued} issued and ${received} received in any 1-second window\n`);

    expect(sends).toHaveLength(100);
    const streams = streamsByUser(sends);
    for (const u of users) expect(streams.get(u)).toEqual(expectedStream(['r1', 'r2', 'r3', 'r4']));
    // Measured where the request leaves, a few ms after the grant, so one send of slack.
    expect(issued).toBeLessThanOrEqual(21);
    // Arrival adds transit jitter (the first sends also open connections): a little slack.
    expect(received).toBeLessThanOrEqual(30);
    // 2 at once, then 98 at 20/s.
    expect(elapsed).toBeGreaterThanOrEqual(4800);
  }, 15_000);
});
