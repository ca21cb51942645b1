// Incoming messages: quick replies go through the payload codec, text through the intents or the
// current step, attachments get a friendly answer. Anything else gets the fallback menu.
import type { Attachment, EventOf } from '../events/types.ts';
import { DEFAULT_LOCALE } from '../i18n.ts';
import { decodePayload } from '../payload.ts';
import { matchIntent, runAction } from './actions.ts';
import type { EventContext } from './context.ts';
import { useLanguage } from './language.ts';
import { mainMenu, sendFallback } from './menu.ts';
import { answerOrderNumber } from './orders.ts';

export function onMessage(ctx: EventContext<EventOf<'message'>>): void | Promise<void> {
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

export function onPayload(ctx: EventContext, payload: string): void | Promise<void> {
  const action = decodePayload(payload);
  if (!action) {
    ctx.log.warn('unknown payload', { payload: payload.slice(0, 100) });
    return sendFallback(ctx);
  }
  return runAction(ctx, action);
}

function onText(ctx: EventContext, text: string): void | Promise<void> {
  const intent = matchIntent(text);
  if (intent) {
    // Words of one language only ("hola", "halo", "你好") from someone who has not picked a language
    // switch to it. English words do not: people greet in English whatever language they speak.
    const [only, ...others] = intent.locales;
    if (ctx.user.locale === undefined && only !== undefined && others.length === 0 && only !== DEFAULT_LOCALE && only !== ctx.locale) {
      useLanguage(ctx, only);
    }
    // Asking for something else ends the question the bot was waiting on.
    ctx.user.step = undefined;
    return runAction(ctx, { action: intent.name });
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
