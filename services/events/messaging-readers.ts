// One reader per documented messaging field. A reader gets the field's value and the item's common
// fields and returns the event, or a short reason why the value does not have Meta's shape.
import type { MessagingBase, WebhookEvent } from './types.ts';
import { isObject, isString } from './guards.ts';
import {
  isAccountLinkingPayload,
  isAppRoles,
  isDeliveryPayload,
  isEchoMessage,
  isGamePlayPayload,
  isMessageEditPayload,
  isMessagePayload,
  isPassThreadControl,
  isPolicyEnforcementPayload,
  isPostbackPayload,
  isReactionPayload,
  isReadPayload,
  isRequestThreadControl,
  isTakeThreadControl,
} from './payload-guards.ts';

export type Reader = (value: unknown, common: MessagingBase) => WebhookEvent | string;

const readMessage: Reader = (value, common) => {
  if (!isObject(value) || !isString(value.mid)) return 'no string mid';
  if (!isMessagePayload(value)) return 'malformed text, quick_reply, reply_to or attachments';
  // Instagram echoes arrive under `messages`, so is_echo (not the webhook field) decides.
  if (isEchoMessage(value)) return { ...common, kind: 'echo', message: value };
  return { ...common, kind: 'message', message: value };
};

const readMessageEdit: Reader = (value, common) =>
  isMessageEditPayload(value) ? { ...common, kind: 'message_edit', message_edit: value } : 'no string mid';

const readPostback: Reader = (value, common) =>
  isPostbackPayload(value) ? { ...common, kind: 'postback', postback: value } : 'no string payload';

const readRead: Reader = (value, common) =>
  isReadPayload(value) ? { ...common, kind: 'read', read: value } : 'neither watermark nor mid';

const readDelivery: Reader = (value, common) =>
  isDeliveryPayload(value) ? { ...common, kind: 'delivery', delivery: value } : 'no number watermark';

const readReaction: Reader = (value, common) =>
  isReactionPayload(value) ? { ...common, kind: 'reaction', reaction: value } : 'no mid or react/unreact action';

const readReferral: Reader = (value, common) =>
  isObject(value) ? { ...common, kind: 'referral', referral: value } : 'not an object';

const readOptin: Reader = (value, common) =>
  isObject(value) ? { ...common, kind: 'optin', optin: value } : 'not an object';

const readPassThreadControl: Reader = (value, common) =>
  isPassThreadControl(value)
    ? { ...common, kind: 'handover', action: 'pass_thread_control', pass_thread_control: value }
    : 'no new_owner_app_id';

const readTakeThreadControl: Reader = (value, common) =>
  isTakeThreadControl(value)
    ? { ...common, kind: 'handover', action: 'take_thread_control', take_thread_control: value }
    : 'no previous_owner_app_id';

const readRequestThreadControl: Reader = (value, common) =>
  isRequestThreadControl(value)
    ? { ...common, kind: 'handover', action: 'request_thread_control', request_thread_control: value }
    : 'no requested_owner_app_id';

const readAppRoles: Reader = (value, common) =>
  isAppRoles(value)
    ? { ...common, kind: 'handover', action: 'app_roles', app_roles: value }
    : 'roles are not string lists';

const readPolicy: Reader = (value, common) =>
  isPolicyEnforcementPayload(value)
    ? { ...common, kind: 'policy', policy_enforcement: value }
    : 'no string action';

const readAccountLinking: Reader = (value, common) =>
  isAccountLinkingPayload(value)
    ? { ...common, kind: 'account_linking', account_linking: value }
    : 'status is not linked or unlinked';

const readGamePlay: Reader = (value, common) =>
  isGamePlayPayload(value)
    ? { ...common, kind: 'game_play', game_play: value }
    : 'no game_id, player_id or context_type';

/**
 * Documented items carry exactly one of these fields (an ad referral on a message sits inside
 * `message`), so the order only decides which field names the reason for a malformed item.
 */
export const READERS: readonly (readonly [field: string, read: Reader])[] = [
  ['message', readMessage],
  ['message_edit', readMessageEdit],
  ['postback', readPostback],
  ['read', readRead],
  ['delivery', readDelivery],
  ['reaction', readReaction],
  ['referral', readReferral],
  ['optin', readOptin],
  ['pass_thread_control', readPassThreadControl],
  ['take_thread_control', readTakeThreadControl],
  ['request_thread_control', readRequestThreadControl],
  ['app_roles', readAppRoles],
  ['policy_enforcement', readPolicy],
  // Some of Meta's payloads spell it with a hyphen; it is exposed as `policy_enforcement` either way.
  ['policy-enforcement', readPolicy],
  ['account_linking', readAccountLinking],
  ['game_play', readGamePlay],
];
