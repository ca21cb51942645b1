// Browse: the product carousel (generic template) and a details view per product.
import type { GenericElement } from '../graph/messages.ts';
import { buttonTemplate, genericTemplate, postbackButton, urlButton } from '../graph/messages.ts';
import { encodePayload } from '../payload.ts';
import { languageTag, type MessageKey } from '../i18n.ts';
import type { Product, PRODUCT_TEXTS } from '../shop/catalog.ts';
import type { EventContext } from './context.ts';
import { mainMenu, sendFallback } from './menu.ts';

export function sendCarousel(ctx: EventContext): void {
  const { t } = ctx;
  const elements = ctx.settings.catalog.products.slice(0, 10).map((p) => productCard(ctx, p));
  ctx.reply.text(t('browse.intro'));
  ctx.reply.message(genericTemplate(elements));
}

export function sendProductDetails(ctx: EventContext, productId: string): void {
  const product = ctx.settings.catalog.product(productId);
  if (!product) return sendFallback(ctx);
  const { t } = ctx;
  const buttons = [urlButton(t('browse.buy'), shopUrl(ctx, product)), postbackButton(t('browse.back'), encodePayload({ action: 'BROWSE' }))];
  const text = t('browse.details', { title: productText(ctx, product, 'title'), price: price(ctx, product), details: productText(ctx, product, 'details') });
  if (ctx.event.channel === 'instagram') {
    // Instagram has no button template: the same content as a one-card generic template.
    ctx.reply.message(genericTemplate([{ ...productCard(ctx, product), buttons }]));
    ctx.reply.text(productText(ctx, product, 'details'), mainMenu(t));
    return;
  }
  ctx.reply.message(buttonTemplate(text, buttons));
}

function productCard(ctx: EventContext, product: Product): GenericElement {
  const { t } = ctx;
  return {
    title: productText(ctx, product, 'title'),
    subtitle: t('browse.subtitle', { tagline: productText(ctx, product, 'tagline'), price: price(ctx, product) }),
    image_url: `${ctx.settings.appUrl}/${product.image}`,
    buttons: [
      postbackButton(t('browse.details_button'), encodePayload({ action: 'PRODUCT_DETAILS', product_id: product.id })),
      urlButton(t('browse.buy'), shopUrl(ctx, product)),
    ],
  };
}

/** A product's text in the user's language: `products.<id>.<text>` in locales/. */
function productText(ctx: EventContext, product: Product, text: (typeof PRODUCT_TEXTS)[number]): string {
  // Product ids come from data/products.json, and loadCatalog refuses one without these texts.
  return ctx.t(`products.${product.id}.${text}` as MessageKey & `products.${string}`);
}

function shopUrl(ctx: EventContext, product: Product): string {
  return `${ctx.settings.appUrl}/shop.html#${product.id}`;
}

function price(ctx: EventContext, product: Product): string {
  const format = new Intl.NumberFormat(languageTag(ctx.locale), { style: 'currency', currency: product.currency });
  return format.format(Number(product.price));
}
