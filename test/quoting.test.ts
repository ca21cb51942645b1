// A reply that quotes what the user typed must stay valid UTF-8: cut between graphemes, never
// through an emoji, and with any lone surrogate from the JSON replaced.
import { describe, expect, it } from '@jest/globals';
import { createHarness, fakeGraph, postSigned, quickReplyFrom, textFrom } from './support/harness.ts';

const ANA = '24000000000000001';
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

async function say(h: ReturnType<typeof createHarness>, body: unknown) {
  expect((await postSigned(h.app, body)).status).toBe(200);
  await h.bot.idle();
}

function lastText(sends: unknown[]): string {
  const texts = sends.map((s) => (s as { message?: { text?: string } }).message?.text).filter((t): t is string => t !== undefined);
  return texts.at(-1) ?? '';
}

describe('quoting an order number that is not one', () => {
  it('cuts a long input between emoji, not through one', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Order status', 'ORDER_STATUS'));
    await say(h, textFrom(ANA, `${'x'.repeat(39)}😀 and then some more text`));
    const reply = lastText(graph.sends());
    expect(reply).not.toMatch(LONE);
    expect(reply).toContain(`"${'x'.repeat(39)}…"`);
  });

  it('keeps a whole emoji that fits and marks the cut', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Order status', 'ORDER_STATUS'));
    await say(h, textFrom(ANA, `${'x'.repeat(37)}😀😀😀😀`));
    expect(lastText(graph.sends())).toContain(`"${'x'.repeat(37)}😀😀…"`);
  });

  it('replaces a lone surrogate the user sent (escaped in the JSON) instead of echoing it', async () => {
    const h = createHarness();
    const graph = fakeGraph({ profiles: { [ANA]: { first_name: 'Ana', locale: 'en_US' } } });
    await say(h, quickReplyFrom(ANA, 'Order status', 'ORDER_STATUS'));
    await say(h, textFrom(ANA, 'TW-\ud83d'));
    const reply = lastText(graph.sends());
    expect(reply).not.toMatch(LONE);
    expect(reply).toContain('"TW-\ufffd"');
  });
});
