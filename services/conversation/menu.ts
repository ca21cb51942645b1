// The welcome and the main menu: quick replies that lead to every flow.
import type { QuickReply } from '../graph/messages.ts';
import { quickReply } from '../graph/messages.ts';
import type { Translate } from '../i18n.ts';
import { encodePayload } from '../payload.ts';
import type { EventContext } from './context.ts';

export function mainMenu(t: Translate): QuickReply[] {
  return [
    quickReply(t('menu.browse'), encodePayload({ action: 'BROWSE' })),
    quickReply(t('menu.order_status'), encodePayload({ action: 'ORDER_STATUS' })),
    quickReply(t('menu.human'), encodePayload({ action: 'TALK_TO_HUMAN' })),
    quickReply(t('menu.language'), encodePayload({ action: 'LANGUAGE' })),
  ];
}

export function sendWelcome(ctx: EventContext): void {
  const { t, firstName } = ctx;
  ctx.reply.text(firstName ? t('welcome.named', { name: firstName }) : t('welcome.anonymous'));
  ctx.reply.text(t('menu.prompt'), mainMenu(t));
}

export function sendMenu(ctx: EventContext): void {
  ctx.reply.text(ctx.t('menu.prompt'), mainMenu(ctx.t));
}

export function sendFallback(ctx: EventContext): void {
  ctx.reply.text(ctx.t('fallback'), mainMenu(ctx.t));
}
