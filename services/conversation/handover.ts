// Talk to a person: tell the user, then hand the thread to the Page Inbox with the handover
// protocol. When control comes back (pass_thread_control to our app), the bot says it is back.
import type { EventOf } from '../events/types.ts';
import { PAGE_INBOX_APP_ID } from '../graph/send-api.ts';
import { languageTag } from '../i18n.ts';
import type { EventContext } from './context.ts';
import { mainMenu } from './menu.ts';

export function handToHuman(ctx: EventContext): void {
  // The message goes first: once the thread is passed, the bot may no longer send to it.
  const { email, phone } = ctx.settings.catalog.shop.contact;
  const contact = new Intl.ListFormat(languageTag(ctx.locale), { type: 'disjunction' }).format(phone === undefined ? [email] : [email, phone]);
  ctx.reply.text(ctx.t('human.handoff', { contact }));
  ctx.reply.passThreadControl(PAGE_INBOX_APP_ID, 'customer asked for a person');
  ctx.user.thread_owner = 'human';
  ctx.user.step = undefined;
}

export function onHandover(ctx: EventContext<EventOf<'handover'>>): void {
  const { event } = ctx;
  switch (event.action) {
    case 'pass_thread_control':
      if (isOurs(ctx, event.pass_thread_control.new_owner_app_id)) {
        ctx.user.thread_owner = 'bot';
        ctx.reply.text(ctx.t('human.back'), mainMenu(ctx.t));
      } else {
        ctx.user.thread_owner = 'human';
      }
      return;
    case 'take_thread_control':
      // Someone in the inbox took the thread: stay quiet until it is passed back.
      ctx.user.thread_owner = 'human';
      return;
    case 'request_thread_control':
    case 'app_roles':
      ctx.log.info('handover notice', { action: event.action });
      return;
  }
}

function isOurs(ctx: EventContext, appId: string | number): boolean {
  return ctx.settings.appId !== undefined && String(appId) === ctx.settings.appId;
}
