// The welcome and the main menu: quick replies that lead to every flow, in the order the action
// table gives them (services/conversation/actions.ts, `quickReply`).
import type { QuickReply } from '../graph/messages.ts';
import { quickReply } from '../graph/messages.ts';
import type { Translate } from '../i18n.ts';
import { encodePayload } from '../payload.ts';
import { entriesIn } from './actions.ts';
import type { EventContext } from './context.ts';

export function mainMenu(t: Translate): QuickReply[] {
  return entriesIn('quickReply').map((entry) => quickReply(t(entry.label), encodePayload({ action: entry.name })));
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
