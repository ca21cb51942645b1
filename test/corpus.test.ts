// Webhook bodies in the shapes other projects' test suites and Meta's own samples use (written
// for this project, with its test ids): each is either answered, or deliberately not answered for
// the reason its log line gives. Every one is acknowledged with 200.
import { describe, expect, it } from '@jest/globals';
import { IG_ID, PAGE_ID, createHarness, fixture, postSigned } from './support/harness.ts';
import { fakeGraph } from './support/fake-graph.ts';

const ANA = '24000000000000001';
const NUMERIC_ANA = '2400000000000001';
const IG_USER = '7650000000000001';

const profiles = { [ANA]: { first_name: 'Ana', locale: 'en_US' }, [NUMERIC_ANA]: { first_name: 'Ana', locale: 'en_US' }, [IG_USER]: { name: 'Maya Tan', username: 'maya' } };

async function run(name: string) {
  const h = createHarness();
  const graph = fakeGraph({ profiles });
  const res = await postSigned(h.app, fixture(name));
  expect(res.status).toBe(200);
  await h.bot.idle();
  const recipients = graph.sends().map((s) => s.recipient.id);
  return { h, graph, recipients };
}

describe('answered', () => {
  it.each([
    ['messenger-text-string-timestamp', ANA, 'a numeric string timestamp in seconds (App Dashboard samples)'],
    ['messenger-postback-string-ms-timestamp', ANA, 'a numeric string timestamp in milliseconds (messaging_postbacks reference)'],
    ['messenger-seconds-times', ANA, 'times as numbers of seconds'],
    ['instagram-text-iso-times', IG_USER, 'ISO 8601 times'],
    ['messenger-numeric-ids', NUMERIC_ANA, 'ids as JSON numbers'],
    ['messenger-bad-entry-time', ANA, 'an unreadable entry.time and no timestamp'],
    ['messenger-batch-other-page', ANA, 'the entry of our own Page in a mixed batch'],
  ])('%s: %s', async (name, user, _shape) => {
    const { recipients, h } = await run(name);
    expect(recipients.length).toBeGreaterThan(0);
    expect(new Set(recipients)).toEqual(new Set([user]));
    expect(h.logs.some((l) => l.msg === 'unrecognised event acknowledged')).toBe(false);
  });
});

describe('deliberately not answered', () => {
  it.each([
    ['messenger-delivery-no-timestamp', 'delivered', 'a delivery receipt is recorded, never answered'],
    ['instagram-seen-string-timestamp', 'read', 'a read receipt is recorded, never answered'],
    ['messenger-postback-user-ref', 'postback without a sender', 'a chat-plugin guest has no PSID to send a free-form reply to'],
    ['messenger-echo-camelcase', 'message without a sender', 'the sender is our own Page'],
    ['instagram-sender-is-own-account', 'message without a sender', 'the sender is our own Instagram account'],
    ['messenger-placeholder-ids', 'event for an account this bot does not serve: acknowledged, not handled', 'no account of ours is called PAGE_ID'],
    ['dashboard-test-instagram-messages', 'field change', "the App Dashboard's test is a change for entry 0, not a conversation"],
    ['dashboard-test-page-messages', 'field change', "the App Dashboard's test is a change for entry 0, not a conversation"],
    ['unknown-object-messaging', 'unrecognised event acknowledged', 'messaging under object user is not a conversation'],
    ['unknown-standby-empty', 'standby event', 'another app owns the thread (and the item carries nothing)'],
  ])('%s: logs %j because %s', async (name, msg, _reason) => {
    const { graph, h } = await run(name);
    expect(graph.sends()).toEqual([]);
    expect(h.logs.some((l) => l.msg === msg)).toBe(true);
  });

  it('keeps our own ids out of every reply to the corpus', async () => {
    for (const name of ['messenger-echo-camelcase', 'instagram-sender-is-own-account', 'messenger-batch-other-page']) {
      const { recipients } = await run(name);
      expect(recipients).not.toContain(PAGE_ID);
      expect(recipients).not.toContain(IG_ID);
    }
  });
});
