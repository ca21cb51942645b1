// What a well-typed event and a valid Send API body look like, for the property tests.
import type { WebhookEvent } from '../../services/events/types.ts';

const KINDS = new Set(['message', 'echo', 'message_edit', 'postback', 'read', 'delivery', 'reaction', 'referral', 'optin', 'handover', 'policy', 'account_linking', 'game_play', 'comment', 'change', 'unknown']);

const isTime = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;
const optionalString = (value: unknown) => value === undefined || typeof value === 'string';

/** What is wrong with an event, if anything: an empty list for a well-typed one. */
export function eventProblems(event: WebhookEvent): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  expect(KINDS.has(event.kind), `kind ${String(event.kind)}`);
  expect(event.channel === 'messenger' || event.channel === 'instagram', 'channel');
  expect(typeof event.object === 'string' && typeof event.entry_id === 'string', 'object or entry_id');
  expect(isTime(event.entry_time), 'entry_time');
  expect(typeof event.standby === 'boolean', 'standby');
  if ('timestamp' in event) {
    expect(isTime(event.timestamp), 'timestamp');
    expect(event.sender === undefined || (optionalString(event.sender.id) && optionalString(event.sender.user_ref)), 'sender');
    expect(event.recipient === undefined || (optionalString(event.recipient.id) && optionalString(event.recipient.user_ref)), 'recipient');
    expect(event.object === 'page' || event.object === 'instagram', 'a conversation event under another object');
  }
  switch (event.kind) {
    case 'message':
    case 'echo':
      expect(typeof event.message.mid === 'string' && optionalString(event.message.text), 'message');
      expect(event.message.attachments === undefined || event.message.attachments.every((a) => typeof a.type === 'string'), 'attachments');
      expect(event.message.quick_reply === undefined || typeof event.message.quick_reply.payload === 'string', 'quick_reply');
      expect(event.kind === 'message' ? event.message.is_echo !== true : event.message.is_echo === true, 'is_echo');
      break;
    case 'postback':
      expect(typeof event.postback.payload === 'string', 'postback payload');
      break;
    case 'comment':
      expect(isTime(event.created_at), 'created_at');
      expect(event.field === 'feed' ? typeof event.value.comment_id === 'string' : typeof event.value.id === 'string', 'comment id');
      expect(event.value.from === undefined || typeof event.value.from.id === 'string', 'comment from');
      break;
    case 'change':
      expect(typeof event.field === 'string', 'field');
      break;
    case 'unknown':
      expect(typeof event.reason === 'string' && event.reason.length > 0, 'reason');
      break;
    default:
      break;
  }
  return problems;
}


const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string inside a JSON value (keys included). */
function strings(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') found.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      found.push(key);
      strings(item, found);
    }
  }
  return found;
}

/**
 * What is wrong with a request the bot made to Graph: the emulator's Send API validator (Meta's
 * rules, `(#100) …`), a recipient that is not a numeric PSID/IGSID (or, for a private reply, a
 * comment id) or is one of our own accounts, any lone surrogate anywhere, or a path that is not one
 * the bot uses (a public comment reply: the channel's edge, a text message).
 */
export function requestProblems(
  request: { method: string; path: string; data?: unknown },
  context: { channel: 'messenger' | 'instagram'; ownIds: ReadonlySet<string>; validate: (body: Record<string, unknown>, channel: 'messenger' | 'instagram') => string | undefined },
): string[] {
  const problems: string[] = [];
  const body = (request.data ?? {}) as Record<string, unknown>;
  if (strings(body).some((s) => LONE_SURROGATE.test(s))) problems.push('a lone surrogate in the body');
  if (request.method === 'GET') {
    if (!/^[0-9]{1,32}$/.test(request.path) || context.ownIds.has(request.path)) problems.push(`profile path ${JSON.stringify(request.path)}`);
    return problems;
  }
  const commentReply = /^([0-9]{1,32}(?:_[0-9]{1,32})?)\/(comments|replies)$/.exec(request.path);
  if (commentReply) {
    // A public reply under a comment: Facebook's comments edge, Instagram's replies edge, a message of text.
    if ((commentReply[2] === 'replies') !== (context.channel === 'instagram')) problems.push(`path ${request.path} on ${context.channel}`);
    const message = body.message;
    if (typeof message !== 'string' || message.trim() === '' || [...message].length > 2200 || Object.keys(body).length !== 1) problems.push(`comment reply body ${JSON.stringify(body)}`);
    return problems;
  }
  if (!['me/messages', 'me/pass_thread_control', 'me/take_thread_control'].includes(request.path)) problems.push(`path ${request.path}`);
  const recipient = body.recipient as { id?: unknown; user_ref?: unknown; comment_id?: unknown } | undefined;
  const id = recipient?.id;
  const privateReply = request.path === 'me/messages' && recipient?.comment_id !== undefined;
  if (privateReply) {
    if (typeof recipient.comment_id !== 'string' || !/^[0-9]{1,32}(?:_[0-9]{1,32})?$/.test(recipient.comment_id)) problems.push(`recipient ${JSON.stringify(recipient)}`);
  } else if (typeof id !== 'string' || !/^[0-9]{1,32}$/.test(id)) problems.push(`recipient ${JSON.stringify(recipient)}`);
  else if (context.ownIds.has(id)) problems.push(`a reply to our own account ${id}`);
  if (request.path === 'me/messages') {
    const problem = context.validate(body, context.channel);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}
