// A reply that quotes what the user typed must stay valid UTF-8: cut between graphemes, never
// through an emoji, and with any lone surrogate from the JSON replaced.
import { describe, expect, it } from '@jest/globals';
import { customer, quickReply, t, text } from './support/chat.ts';

const EN = t('en_US');
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CANCEL = [quickReply(EN('orders.cancel'), 'CANCEL')];
const textsOf = (replies: { message: object }[]) => replies.map((r) => ('text' in r.message ? String(r.message.text) : ''));

/** A customer the bot is asking for an order number. */
async function askedForAnOrder() {
  const c = customer({ profile: { first_name: 'Ana', locale: 'en_US' } });
  await c.taps('ORDER_STATUS');
  return c;
}

describe('quoting an order number that is not one', () => {
  it('cuts a long input between emoji, not through one', async () => {
    const c = await askedForAnOrder();
    const replies = await c.says(`${'x'.repeat(39)}😀 and then some more text`);
    expect(replies).toEqual([text(c.id, EN('orders.invalid', { text: `${'x'.repeat(39)}…` }), CANCEL)]);
    expect(textsOf(replies)).not.toContainEqual(expect.stringMatching(LONE));
  });

  it('keeps a whole emoji that fits and marks the cut', async () => {
    const c = await askedForAnOrder();
    expect(await c.says(`${'x'.repeat(37)}😀😀😀😀`)).toEqual([text(c.id, EN('orders.invalid', { text: `${'x'.repeat(37)}😀😀…` }), CANCEL)]);
  });

  it('replaces a lone surrogate the user sent (escaped in the JSON) instead of echoing it', async () => {
    const c = await askedForAnOrder();
    const replies = await c.says('TW-\ud83d');
    expect(replies).toEqual([text(c.id, EN('orders.invalid', { text: 'TW-\ufffd' }), CANCEL)]);
    expect(textsOf(replies)).not.toContainEqual(expect.stringMatching(LONE));
  });
});
