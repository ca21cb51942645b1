// Checks a POST me/messages body the way the Send API does, so a reply that Meta would refuse is
// refused here too, with a Graph-style "(#100) …" message naming the parameter.
import type { Channel } from '../events/types.ts';

type Json = Record<string, unknown>;

const SENDER_ACTIONS = ['typing_on', 'typing_off', 'mark_seen'];
const MESSAGING_TYPES = ['RESPONSE', 'UPDATE', 'MESSAGE_TAG'];
const MEDIA_TYPES = ['image', 'video', 'audio', 'file'];
/** `<post id>_<comment id>` on Facebook, digits on Instagram. */
export const COMMENT_ID = /^\d{1,32}(?:_\d{1,32})?$/;

export const SEND_LIMITS = {
  text: 2000,
  quickReplies: 13,
  quickReplyTitle: 20,
  payload: 1000,
  buttonText: 640,
  buttons: 3,
  buttonTitle: 20,
  elements: 10,
  elementTitle: 80,
  elementSubtitle: 80,
} as const;

class Invalid extends Error {}

/** The Graph error message for a body Meta would refuse, or undefined when it is acceptable. */
export function sendBodyProblem(body: Json, channel: Channel): string | undefined {
  try {
    checkBody(body, channel);
    return undefined;
  } catch (err) {
    if (err instanceof Invalid) return `(#100) ${err.message}`;
    throw err;
  }
}

function checkBody(body: Json, channel: Channel): void {
  const recipient = body.recipient;
  if (!isObject(recipient)) fail('The parameter recipient is required');
  const hasMessage = body.message !== undefined;
  const hasAction = body.sender_action !== undefined;
  if (recipient.comment_id !== undefined) checkCommentRecipient(recipient, hasAction);
  else if (typeof recipient.id !== 'string' || recipient.id === '') fail('param recipient[id] must be a non-empty string');
  if (hasMessage === hasAction) fail('Exactly one of message or sender_action must be set');
  if (hasAction) {
    if (typeof body.sender_action !== 'string' || !SENDER_ACTIONS.includes(body.sender_action)) {
      fail(`Param sender_action must be one of {${SENDER_ACTIONS.join(', ')}} - got "${String(body.sender_action)}"`);
    }
    return;
  }
  if (typeof body.messaging_type !== 'string' || !MESSAGING_TYPES.includes(body.messaging_type)) {
    fail(`Param messaging_type must be one of {${MESSAGING_TYPES.join(', ')}}`);
  }
  if (body.messaging_type === 'MESSAGE_TAG' && typeof body.tag !== 'string') fail('Param tag is required when messaging_type is MESSAGE_TAG');
  checkMessage(body.message, channel);
}

/** A private reply: `recipient.comment_id` alone, a comment id as Meta issues them, and a message. */
function checkCommentRecipient(recipient: Json, hasAction: boolean): void {
  if (recipient.id !== undefined || recipient.user_ref !== undefined) fail('param recipient must have exactly one of id, user_ref, comment_id');
  if (typeof recipient.comment_id !== 'string' || !COMMENT_ID.test(recipient.comment_id)) fail('param recipient[comment_id] must be a valid comment id');
  if (hasAction) fail('sender_action cannot be sent to a comment_id recipient');
}

function checkMessage(message: unknown, channel: Channel): void {
  if (!isObject(message)) fail('param message must be an object');
  const hasText = message.text !== undefined;
  const hasAttachment = message.attachment !== undefined;
  if (hasText === hasAttachment) fail('Exactly one of message[text] or message[attachment] must be set');
  if (hasText) checkString(message.text, 'message[text]', SEND_LIMITS.text);
  else checkAttachment(message.attachment, channel);
  if (message.quick_replies !== undefined) checkQuickReplies(message.quick_replies);
}

function checkQuickReplies(value: unknown): void {
  if (!Array.isArray(value) || value.length === 0) fail('param message[quick_replies] must be a non-empty array');
  if (value.length > SEND_LIMITS.quickReplies) fail(`param message[quick_replies] must have at most ${SEND_LIMITS.quickReplies} elements`);
  value.forEach((qr: unknown, i) => {
    const at = `message[quick_replies][${i}]`;
    if (!isObject(qr)) fail(`param ${at} must be an object`);
    if (qr.content_type === 'user_phone_number' || qr.content_type === 'user_email') return;
    if (qr.content_type !== 'text') fail(`param ${at}[content_type] must be one of {text, user_phone_number, user_email}`);
    checkString(qr.title, `${at}[title]`, SEND_LIMITS.quickReplyTitle);
    checkString(qr.payload, `${at}[payload]`, SEND_LIMITS.payload);
    if (qr.image_url !== undefined) checkUrl(qr.image_url, `${at}[image_url]`);
  });
}

function checkAttachment(attachment: unknown, channel: Channel): void {
  if (!isObject(attachment)) fail('param message[attachment] must be an object');
  const { type, payload } = attachment;
  if (!isObject(payload)) fail('param message[attachment][payload] must be an object');
  if (typeof type === 'string' && MEDIA_TYPES.includes(type)) {
    if (payload.attachment_id !== undefined) return;
    checkUrl(payload.url, 'message[attachment][payload][url]');
    return;
  }
  if (type !== 'template') fail(`param message[attachment][type] must be one of {${[...MEDIA_TYPES, 'template'].join(', ')}}`);
  const templateType = payload.template_type;
  if (templateType === 'generic') return checkGeneric(payload, channel);
  if (templateType === 'button' && channel === 'messenger') return checkButtonTemplate(payload, channel);
  fail(`param message[attachment][payload][template_type] must be one of {${channel === 'messenger' ? 'button, generic' : 'generic'}}${channel === 'instagram' ? ' on Instagram' : ''}`);
}

function checkButtonTemplate(payload: Json, channel: Channel): void {
  checkString(payload.text, 'message[attachment][payload][text]', SEND_LIMITS.buttonText);
  checkButtons(payload.buttons, 'message[attachment][payload][buttons]', channel, true);
}

function checkGeneric(payload: Json, channel: Channel): void {
  const elements = payload.elements;
  const at = 'message[attachment][payload][elements]';
  if (!Array.isArray(elements) || elements.length === 0) fail(`param ${at} must be a non-empty array`);
  if (elements.length > SEND_LIMITS.elements) fail(`param ${at} must have at most ${SEND_LIMITS.elements} elements`);
  elements.forEach((el: unknown, i) => {
    const here = `${at}[${i}]`;
    if (!isObject(el)) fail(`param ${here} must be an object`);
    checkString(el.title, `${here}[title]`, SEND_LIMITS.elementTitle);
    if (el.subtitle !== undefined) checkString(el.subtitle, `${here}[subtitle]`, SEND_LIMITS.elementSubtitle);
    if (el.image_url !== undefined) checkUrl(el.image_url, `${here}[image_url]`);
    if (el.default_action !== undefined) {
      if (!isObject(el.default_action) || el.default_action.type !== 'web_url') fail(`param ${here}[default_action][type] must be web_url`);
      checkUrl(el.default_action.url, `${here}[default_action][url]`);
    }
    if (el.buttons !== undefined) checkButtons(el.buttons, `${here}[buttons]`, channel, false);
  });
}

function checkButtons(value: unknown, at: string, channel: Channel, required: boolean): void {
  if (!Array.isArray(value) || (required && value.length === 0)) fail(`param ${at} must be a non-empty array`);
  if (value.length > SEND_LIMITS.buttons) fail(`param ${at} must have at most ${SEND_LIMITS.buttons} elements`);
  value.forEach((button: unknown, i) => {
    const here = `${at}[${i}]`;
    if (!isObject(button)) fail(`param ${here} must be an object`);
    checkString(button.title, `${here}[title]`, SEND_LIMITS.buttonTitle);
    switch (button.type) {
      case 'postback':
        return checkString(button.payload, `${here}[payload]`, SEND_LIMITS.payload);
      case 'web_url':
        return checkUrl(button.url, `${here}[url]`);
      case 'phone_number':
        if (channel === 'messenger' && typeof button.payload === 'string' && /^\+\d{6,15}$/.test(button.payload)) return;
        break;
    }
    fail(`param ${here}[type] must be one of {postback, web_url${channel === 'messenger' ? ', phone_number' : ''}}`);
  });
}

function checkString(value: unknown, name: string, max: number): void {
  if (typeof value !== 'string' || value.length === 0) fail(`param ${name} must be a non-empty UTF-8 encoded string`);
  if ([...value].length > max) fail(`Length of param ${name} must be less than or equal to ${max}`);
}

function checkUrl(value: unknown, name: string): void {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) fail(`param ${name} must be a valid URL`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string): never {
  throw new Invalid(message);
}
