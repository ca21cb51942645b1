// Reads, deliveries and reactions about the bot's own messages: statuses move sent → delivered →
// read, and a reaction to a bot message is thanked once. None of these send anything else.
import type { EventOf } from '../events/types.ts';
import type { EventContext } from './context.ts';

export async function onDelivery(ctx: EventContext<EventOf<'delivery'>>, key: string): Promise<void> {
  const { mids, watermark } = ctx.event.delivery;
  const changed = await ctx.store.updateStatus(key, { mids: mids ?? [], watermark }, 'delivered');
  ctx.log.debug('delivered', { changed });
}

export async function onRead(ctx: EventContext<EventOf<'read'>>, key: string): Promise<void> {
  const { watermark, mid } = ctx.event.read;
  // Instagram's messaging_seen names the last message seen: everything up to it is read.
  const seen = mid === undefined ? undefined : await ctx.store.getSent(key, mid);
  const update = watermark !== undefined ? { watermark } : { mids: mid ? [mid] : [], watermark: seen?.sent_at };
  const changed = await ctx.store.updateStatus(key, update, 'read');
  ctx.log.debug('read', { changed });
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
