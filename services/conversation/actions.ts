// The table from decoded payload action to handler. `satisfies` makes the compiler reject a
// missing action, so a new menu entry cannot be added without its handler.
import type { ActionName, PayloadAction } from '../payload.ts';
import { sendCarousel, sendProductDetails } from './browse.ts';
import type { EventContext } from './context.ts';
import { handToHuman } from './handover.ts';
import { sendLanguagePicker, setLanguage } from './language.ts';
import { sendMenu, sendWelcome } from './menu.ts';
import { askOrderNumber, cancelStep } from './orders.ts';

type Handlers = { [A in ActionName]: (ctx: EventContext, action: Extract<PayloadAction, { action: A }>) => void };

const handlers = {
  GET_STARTED: (ctx) => {
    ctx.user.step = undefined;
    sendWelcome(ctx);
  },
  MENU: (ctx) => sendMenu(ctx),
  BROWSE: (ctx) => sendCarousel(ctx),
  PRODUCT_DETAILS: (ctx, a) => sendProductDetails(ctx, a.product_id),
  ORDER_STATUS: (ctx) => askOrderNumber(ctx),
  TALK_TO_HUMAN: (ctx) => handToHuman(ctx),
  LANGUAGE: (ctx) => sendLanguagePicker(ctx),
  SET_LOCALE: (ctx, a) => setLanguage(ctx, a.locale),
  CANCEL: (ctx) => cancelStep(ctx),
} satisfies Handlers;

export function runAction(ctx: EventContext, action: PayloadAction): void {
  // The cast pairs each action with its own handler; the table's type guarantees they match.
  const handler = handlers[action.action] as (ctx: EventContext, action: PayloadAction) => void;
  handler(ctx, action);
}
