// Language: the user picks one of the supported locales; the choice is kept in their state and
// wins over the profile locale from then on.
import { quickReply } from '../graph/messages.ts';
import { SUPPORTED_LOCALES, type Locale } from '../i18n.ts';
import { encodePayload } from '../payload.ts';
import type { EventContext } from './context.ts';
import { mainMenu } from './menu.ts';

export function sendLanguagePicker(ctx: EventContext): void {
  // Each language is offered in its own name, whatever the user's current language.
  const choices = SUPPORTED_LOCALES.map((locale) =>
    quickReply(ctx.settings.translations.fixedT(locale)('language.name'), encodePayload({ action: 'SET_LOCALE', locale })),
  );
  ctx.reply.text(ctx.t('language.prompt'), choices);
}

/** Stores the choice and confirms in the new language. */
export function setLanguage(ctx: EventContext, locale: Locale): void {
  useLanguage(ctx, locale);
  ctx.reply.text(ctx.t('language.changed'), mainMenu(ctx.t));
}

/** Keeps `locale` for this user and switches this event's `t` to it. */
export function useLanguage(ctx: EventContext, locale: Locale): void {
  ctx.user.locale = locale;
  ctx.locale = locale;
  ctx.t = ctx.settings.translations.fixedT(locale);
}
