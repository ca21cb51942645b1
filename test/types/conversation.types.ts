// Compile-only tests (never run): each line under `@ts-expect-error` is a mistake the compiler
// must refuse. If one ever compiles, the directive is unused and `npm run typecheck` fails.
// The variable checks need locales/en_US.d.json.ts, which `npm run typecheck` generates first.
import type { TableEntry } from '../../services/conversation/actions.ts';
import type { EventContext } from '../../services/conversation/context.ts';
import { withArgument } from '../../services/conversation/actions.ts';
import type { Translate } from '../../services/i18n.ts';
import { encodePayload } from '../../services/payload.ts';

declare const t: Translate;
const handler = (): void => undefined;

export const translationKeys = [
  t('menu.browse'),
  // @ts-expect-error a key that is not in locales/en_US.json
  t('menu.opening_times'),
  // @ts-expect-error a group of messages is not a message: keys are whole paths
  t('menu'),
];

export const interpolationVariables = [
  t('welcome.named', { name: 'Ana' }),
  t('orders.not_found', { number: 'TW-10231' }),
  // {{shop}} is filled in from data/shop.json: callers never pass it.
  t('welcome.anonymous'),
  // @ts-expect-error a misspelt variable: the message has {{name}}
  t('welcome.named', { nmae: 'Ana' }),
  // @ts-expect-error a missing variable
  t('welcome.named'),
  // @ts-expect-error one of two variables missing
  t('orders.status.shipped', { number: 'TW-10232', carrier: 'Harbor Post' }),
  // @ts-expect-error a variable for a message that has none
  t('menu.browse', { name: 'Ana' }),
];

export const table = {
  BROWSE: { label: 'menu.browse', quickReply: 10, handler },
  // @ts-expect-error an entry without a handler
  NO_HANDLER: { label: 'menu.browse', quickReply: 20 },
  // @ts-expect-error a label that is not in locales/en_US.json
  NO_LABEL: { label: 'menu.opening_times', quickReply: 30, handler },
  // @ts-expect-error a label needs no variables (welcome.named has {{name}})
  LABEL_WITH_VARIABLE: { label: 'welcome.named', quickReply: 40, handler },
  // @ts-expect-error words for every language the bot speaks
  MISSING_LOCALE: { intents: { en_US: ['hours'] }, handler },
  // @ts-expect-error an argument entry's handler takes its value
  ARGUMENT: withArgument({ name: 'product_id', parse: (text: string) => text }),
} satisfies Record<string, TableEntry>;

export const payloads = [
  encodePayload({ action: 'BROWSE' }),
  encodePayload({ action: 'PRODUCT_DETAILS', product_id: 'sencha' }),
  // @ts-expect-error a payload (and so a handler) for no entry of the table
  encodePayload({ action: 'OPENING_TIMES' }),
  // @ts-expect-error an argument entry's payload carries its value
  encodePayload({ action: 'PRODUCT_DETAILS' }),
  // @ts-expect-error a value of the wrong type (SET_LOCALE takes a supported locale)
  encodePayload({ action: 'SET_LOCALE', locale: 'English' }),
];

/** Handlers read the store; they change state only through the context, stored with the event. */
export const storeAccess: (keyof EventContext['store'])[] = [
  'getUser',
  'getSent',
  // @ts-expect-error handlers never write the store: statuses go on ctx.statusUpdates
  'updateStatus',
  // @ts-expect-error handlers never write the store: the user's state is ctx.user
  'putUser',
  // @ts-expect-error nor record sends: the outbox does, after delivering
  'recordSent',
  // @ts-expect-error nor complete events: the inbox stores what handling returned
  'completeEvent',
];
