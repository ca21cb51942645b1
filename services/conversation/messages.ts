// Incoming messages: quick replies go through the payload codec, text through the intents or the
// current step, attachments get a friendly answer. Anything else gets the fallback menu.
import type { Attachment, EventOf } from '../events/types.ts';
import { DEFAULT_LOCALE, type Locale } from '../i18n.ts';
import { decodePayload } from '../payload.ts';
import { matchIntent, runAction } from './actions.ts';
import type { EventContext } from './context.ts';
import { useLanguage } from './language.ts';
import { mainMenu, sendFallback } from './menu.ts';
import { answerOrderNumber } from './orders.ts';
import { rememberThanked, storyOf, type StoryRef } from './stories.ts';

export function onMessage(ctx: EventContext<EventOf<'message'>>): void | Promise<void> {
  const { message } = ctx.event;
  if (message.is_deleted) {
    ctx.log.info('user unsent a message', { mid: message.mid });
    return;
  }
  if (message.quick_reply) return onPayload(ctx, message.quick_reply.payload);
  const story = storyOf(message);
  if (story) return onStory(ctx, story, message.text);
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

/**
 * A story mention or a reply to one of our stories: thanked once per story. A reply's words are
 * then answered as any message (the thanks carry the menu when they ask for nothing we know).
 */
function onStory(ctx: EventContext, story: StoryRef, text: string | undefined): void | Promise<void> {
  const words = text?.trim() ?? '';
  if (!rememberThanked(ctx.user, story)) {
    if (words !== '') return onText(ctx, words);
    ctx.log.debug('story already thanked', { story: story.kind });
    return;
  }
  const intent = words === '' ? undefined : matchIntent(words);
  // The thanks are said in the language the words are in, like the answer that follows.
  if (intent) learnLanguage(ctx, intent.locales);
  const thanks = ctx.t(story.kind === 'mention' ? 'stories.mention_thanks' : 'stories.reply_thanks');
  if (intent) {
    ctx.reply.text(thanks);
    return onText(ctx, words);
  }
  ctx.reply.text(thanks, mainMenu(ctx.t));
}

function onText(ctx: EventContext, text: string): void | Promise<void> {
  const intent = matchIntent(text);
  if (intent) {
    learnLanguage(ctx, intent.locales);
    // Asking for something else ends the question the bot was waiting on.
    ctx.user.step = undefined;
    return runAction(ctx, { action: intent.name });
  }
  if (ctx.user.step === 'awaiting_order_number') return answerOrderNumber(ctx, text);
  sendFallback(ctx);
}

/**
 * Words of one language only ("hola", "halo", "你好") from someone who has not picked a language
 * switch to it. English words do not: people greet in English whatever language they speak.
 */
function learnLanguage(ctx: EventContext, locales: readonly Locale[]): void {
  const [only, ...others] = locales;
  if (ctx.user.locale === undefined && only !== undefined && others.length === 0 && only !== DEFAULT_LOCALE && only !== ctx.locale) {
    useLanguage(ctx, only);
  }
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
