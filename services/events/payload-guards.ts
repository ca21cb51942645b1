// Guards for the objects inside a messaging item. They check what the bot routes on (ids, payload
// strings, the handover/reaction discriminants) and leave the rest of Meta's object as it came.
import type {
  AccountLinkingPayload,
  AppRoles,
  Attachment,
  DeliveryPayload,
  GamePlayPayload,
  MessageEditPayload,
  MessagePayload,
  Participant,
  PassThreadControl,
  PolicyEnforcementPayload,
  PostbackPayload,
  ReactionPayload,
  ReadPayload,
  ReplyTo,
  RequestThreadControl,
  TakeThreadControl,
} from './types.ts';
import { isAppId, isArrayOf, isNumber, isObject, isOptional, isString } from './guards.ts';

export function isParticipant(value: unknown): value is Participant {
  return isObject(value) && isOptional(value.id, isString) && isOptional(value.user_ref, isString);
}

function isAttachment(value: unknown): value is Attachment {
  return isObject(value) && isString(value.type);
}

function isQuickReply(value: unknown): value is { payload: string } {
  return isObject(value) && isString(value.payload);
}

/** A reply to a message (`mid`) or to a story (`story`, an object): the story reply is routed on. */
function isReplyTo(value: unknown): value is ReplyTo {
  return isObject(value) && isOptional(value.story, isObject);
}

export function isMessagePayload(value: unknown): value is MessagePayload {
  return (
    isObject(value) &&
    isString(value.mid) &&
    isOptional(value.text, isString) &&
    isOptional(value.quick_reply, isQuickReply) &&
    isOptional(value.reply_to, isReplyTo) &&
    isOptional(value.attachments, (a: unknown) => isArrayOf(a, isAttachment))
  );
}

export function isEchoMessage(message: MessagePayload): message is MessagePayload & { is_echo: true } {
  return message.is_echo === true;
}

export function isMessageEditPayload(value: unknown): value is MessageEditPayload {
  return (
    isObject(value) &&
    isString(value.mid) &&
    isOptional(value.text, isString) &&
    isOptional(value.num_edit, isNumber)
  );
}

/** Meta leaves `payload` out for buttons another app sent; such a postback is not ours to route. */
export function isPostbackPayload(value: unknown): value is PostbackPayload {
  return isObject(value) && isString(value.payload) && isOptional(value.mid, isString);
}

/** Messenger reads carry a `watermark`, Instagram `messaging_seen` carries the read `mid`. */
export function isReadPayload(value: unknown): value is ReadPayload {
  return isObject(value) && (isNumber(value.watermark) || isString(value.mid));
}

export function isDeliveryPayload(value: unknown): value is DeliveryPayload {
  return (
    isObject(value) &&
    isNumber(value.watermark) &&
    isOptional(value.mids, (m: unknown) => isArrayOf(m, isString))
  );
}

export function isReactionPayload(value: unknown): value is ReactionPayload {
  return (
    isObject(value) &&
    isString(value.mid) &&
    (value.action === 'react' || value.action === 'unreact')
  );
}

export function isPassThreadControl(value: unknown): value is PassThreadControl {
  return isObject(value) && isAppId(value.new_owner_app_id);
}

/** `previous_owner_app_id` is null when the thread was idle. */
export function isTakeThreadControl(value: unknown): value is TakeThreadControl {
  return isObject(value) && (isAppId(value.previous_owner_app_id) || value.previous_owner_app_id === null);
}

export function isRequestThreadControl(value: unknown): value is RequestThreadControl {
  return isObject(value) && isAppId(value.requested_owner_app_id);
}

export function isAppRoles(value: unknown): value is AppRoles {
  return isObject(value) && Object.values(value).every((roles) => isArrayOf(roles, isString));
}

export function isPolicyEnforcementPayload(value: unknown): value is PolicyEnforcementPayload {
  return isObject(value) && isString(value.action) && isOptional(value.reason, isString);
}

export function isAccountLinkingPayload(value: unknown): value is AccountLinkingPayload {
  return (
    isObject(value) &&
    (value.status === 'linked' || value.status === 'unlinked') &&
    isOptional(value.authorization_code, isString)
  );
}

export function isGamePlayPayload(value: unknown): value is GamePlayPayload {
  return (
    isObject(value) &&
    isString(value.game_id) &&
    isString(value.player_id) &&
    isString(value.context_type)
  );
}
