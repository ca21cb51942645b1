// Hop 2 of handling: one exhaustive switch from an event's kind to the flow that answers it
// (services/conversation/). Flows only collect replies and changes on the context; handleEvent
// (handle-event.ts) returns them for the inbox to store, and the outbox delivers the replies.
import type { EventContext } from '../conversation/context.ts';
import { onHandover } from '../conversation/handover.ts';
import { sendWelcome } from '../conversation/menu.ts';
import { onMessage, onPayload } from '../conversation/messages.ts';
import { onDelivery, onRead, onReaction } from '../conversation/statuses.ts';
import type { EventOf, WebhookEvent } from '../events/types.ts';
import { assertNever } from '../events/types.ts';

/** Runs the flow for the event's kind; a kind the bot does not answer is logged. */
export async function dispatch(ctx: EventContext): Promise<void> {
  const { event, log } = ctx;
  if (event.standby) {
    // Another app owns the thread (e.g. people in the Page Inbox): watch, never answer.
    log.debug('standby event', { kind: event.kind });
    return;
  }
  const key = ctx.userKey;
  switch (event.kind) {
    case 'message':
      return key ? onMessage(as(ctx, event)) : log.warn('message without a sender', {});
    case 'postback':
      if (event.postback.referral) log.info('postback referral', { ref: event.postback.referral.ref });
      return key ? onPayload(ctx, event.postback.payload) : log.warn('postback without a sender', {});
    case 'referral':
      log.info('referral', { ref: event.referral.ref, source: event.referral.source });
      return key ? sendWelcome(ctx) : undefined;
    case 'reaction':
      return key ? onReaction(as(ctx, event), key) : undefined;
    case 'read':
      return key ? onRead(as(ctx, event), key) : undefined;
    case 'delivery':
      return key ? onDelivery(as(ctx, event)) : undefined;
    case 'handover':
      return key ? onHandover(as(ctx, event)) : log.info('handover notice', { action: event.action });
    case 'optin':
      return onOptin(as(ctx, event));
    case 'account_linking':
      return key ? ctx.reply.text(ctx.t(`account_linking.${event.account_linking.status}`)) : undefined;
    case 'echo':
      // The Page's own messages (ours included): answering them would make the bot talk to itself.
      return log.debug('echo', { mid: event.message.mid, app_id: event.message.app_id });
    case 'message_edit':
      return log.info('user edited a message', { mid: event.message_edit.mid });
    case 'policy':
      return log.warn('POLICY_ENFORCEMENT', { action: event.policy_enforcement.action, reason: event.policy_enforcement.reason });
    case 'game_play':
      return log.info('game play', { game_id: event.game_play.game_id, score: event.game_play.score });
    case 'comment':
      // Comments have no conversation yet: handleEvent hands them to services/comments/ instead.
      return log.debug('comment left to services/comments', { field: event.field });
    case 'change':
      return log.info('field change', { object: event.object, field: event.field });
    case 'unknown':
      return log.warn('unrecognised event acknowledged', { reason: event.reason });
    default:
      return assertNever(event, 'event kind');
  }
}

function onOptin(ctx: EventContext<EventOf<'optin'>>): void {
  const { optin } = ctx.event;
  ctx.log.info('optin', { type: optin.type, ref: optin.ref, has_user_ref: optin.user_ref !== undefined });
  // Checkbox-plugin opt-ins carry only a user_ref and no sender: nothing is sent for those.
  if (!ctx.userKey) return;
  ctx.reply.text(ctx.t(optin.type === 'notification_messages' ? 'optin.notifications' : 'optin.thanks'));
}

/** The context narrowed to the event kind the switch has just established. */
function as<E extends WebhookEvent>(ctx: EventContext, _event: E): EventContext<E> {
  return ctx as EventContext<E>;
}
