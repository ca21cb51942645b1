// Order status: ask for the number, read what the user types, answer from data/orders.json.
import { quickReply, truncate } from '../graph/messages.ts';
import { languageTag } from '../i18n.ts';
import { encodePayload } from '../payload.ts';
import { parseOrderNumber, type Order } from '../shop/catalog.ts';
import type { EventContext } from './context.ts';
import { mainMenu } from './menu.ts';

export function askOrderNumber(ctx: EventContext): void {
  ctx.user.step = 'awaiting_order_number';
  ctx.reply.text(ctx.t('orders.ask'), [cancelReply(ctx)]);
}

/** Handles text typed while the bot waits for an order number. */
export function answerOrderNumber(ctx: EventContext, text: string): void {
  const { t } = ctx;
  const input = parseOrderNumber(text);
  if (!input.valid) {
    ctx.reply.text(t('orders.invalid', { text: truncate(text, 40) }), [cancelReply(ctx)]);
    return;
  }
  const order = ctx.settings.catalog.order(input.number);
  if (!order) {
    ctx.reply.text(t('orders.not_found', { number: input.number }), [cancelReply(ctx)]);
    return;
  }
  ctx.user.step = undefined;
  ctx.reply.text(describeOrder(ctx, order), mainMenu(t));
}

export function cancelStep(ctx: EventContext): void {
  ctx.user.step = undefined;
  ctx.reply.text(ctx.t('orders.cancelled'), mainMenu(ctx.t));
}

function describeOrder(ctx: EventContext, order: Order): string {
  const date = (iso: string | undefined) =>
    iso ? new Intl.DateTimeFormat(languageTag(ctx.locale), { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(iso)) : '';
  return ctx.t(`orders.status.${order.status}`, {
    number: order.number,
    placed: date(order.placed),
    delivered: date(order.delivered),
    carrier: order.carrier ?? '',
    tracking: order.tracking ?? '',
  });
}

function cancelReply(ctx: EventContext) {
  return quickReply(ctx.t('orders.cancel'), encodePayload({ action: 'CANCEL' }));
}
