// Reads, deliveries and reactions about the bot's own messages: statuses move sent → delivered →
// read, and a reaction to a bot message is thanked once. None of these send anything else, and
// none writes the store: the changes go with the event's outcome (one transaction, see store.ts).
import type { EventOf } from '../events/types.ts';
import type { EventContext } from './context.ts';

export function onDelivery(ctx: EventContext<EventOf<'delivery'>>): void {
  const { mids, watermark } = ctx.event.delivery;
  ctx.statusUpdates.push({ update: { mids: mids ?? [], watermark }, status: 'delivered' });
  ctx.log.debug('delivered', { mids: mids?.length ?? 0, watermark });
}

export async function onRead(ctx: EventContext<EventOf<'read'>>, key: string): Promise<void> {
  const { watermark, mid } = ctx.event.read;
  // Instagram's messaging_seen names the last message seen: everything up to it is read.
  const seen = mid === undefined ? undefined : await ctx.store.getSent(key, mid);
  const update = watermark !== undefined ? { watermark } : { mids: mid ? [mid] : [], watermark: seen?.sent_at };
  ctx.statusUpdates.push({ update, status: 'read' });
  ctx.log.debug('read', { watermark: update.watermark });
}

export async function onReaction(ctx: EventContext<EventOf<'reaction'>>, key: string): Promise<void> {
  const { mid, action, emoji, reaction } = ctx.event.reaction;
  const sent = await ctx.store.getSent(key, mid);
  if (!sent) {
    ctx.log.debug('reaction to a message the bot did not send', { mid, action });
    return;
  }
  if (action === 'unreact') {
    ctx.sentUpdates.push({ mid, reaction: null });
    return;
  }
  // Stored with the event's outcome: a crash before that commit replays the whole decision.
  ctx.sentUpdates.push({ mid, reaction: emoji ?? reaction ?? 'reaction', ...(sent.thanked ? {} : { thanked: true as const }) });
  if (!sent.thanked) ctx.reply.text(ctx.t('reaction.thanks'));
}
