// Incoming messages: quick replies go through the payload codec, text through the current step
// or the intents, attachments get a friendly answer. Anything else gets the fallback menu.
import type { Attachment, EventOf } from '../events/types.ts';
import { decodePayload } from '../payload.ts';
import { runAction } from './actions.ts';
import type { EventContext } from './context.ts';
import { textIntent } from './intents.ts';
import { mainMenu, sendFallback, sendMenu, sendWelcome } from './menu.ts';
import { answerOrderNumber } from './orders.ts';

export function onMessage(ctx: EventContext<EventOf<'message'>>): void {
  const { message } = ctx.event;
  if (message.is_deleted) {
    ctx.log.info('user unsent a message', { mid: message.mid });
    return;
  }
  if (message.quick_reply) return onPayload(ctx, message.quick_reply.payload);
  if (message.attachments?.length) return onAttachments(ctx, message.attachments);
  if (typeof message.text === 'string' && message.text.trim() !== '') return onText(ctx, message.text);
  sendFallback(ctx);
}

export function onPayload(ctx: EventContext, payload: string): void {
  const action = decodePayload(payload);
  if (!action) {
    ctx.log.warn('unknown payload', { payload: payload.slice(0, 100) });
    return sendFallback(ctx);
  }
  runAction(ctx, action);
}

function onText(ctx: EventContext, text: string): void {
  const intent = textIntent(text);
  if (intent === 'greeting') {
    ctx.user.step = undefined;
    return sendWelcome(ctx);
  }
  if (intent === 'menu') {
    ctx.user.step = undefined;
    return sendMenu(ctx);
  }
  if (ctx.user.step === 'awaiting_order_number') return answerOrderNumber(ctx, text);
  sendFallback(ctx);
}

function onAttachments(ctx: EventContext, attachments: Attachment[]): void {
  const first = attachments[0];
  if (first && isSticker(first)) return ctx.reply.text(ctx.t('attachment.sticker'));
  if (first?.type === 'image') return ctx.reply.text(ctx.t('attachment.image'), mainMenu(ctx.t));
  ctx.reply.text(ctx.t('attachment.other'), mainMenu(ctx.t));
}

function isSticker(attachment: Attachment): boolean {
  return attachment.type === 'sticker' || typeof attachment.payload?.sticker_id === 'number';
}
