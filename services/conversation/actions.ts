// Everything a customer can tap or type, in one table. Each entry is one payload (its key, e.g.
// `BROWSE`, is what quick replies, postbacks and ice breakers carry), its button label, where it
// appears and in which order, the words that trigger it in every language, and its handler.
//
// Derived from this table: the payload codec (services/payload.ts), the quick-reply main menu
// (mainMenu), the persistent menu and Instagram ice breakers that `npm run setup -- profile`
// publishes, and the text intents. Recipes: CONTRIBUTING.md.
//
// Handlers here only refer to other modules inside their bodies, and nothing at the top level of
// this file calls into them: those modules import the table back (menu, payload), and an import
// cycle is only safe while nobody uses the other side before it has loaded.
import type { Locale, PlainMessageKey } from '../i18n.ts';
import type { PayloadAction } from '../payload.ts';
import { isSupportedLocale, languageTag } from '../i18n.ts';
import { hoursFormat, openingState, weekGroupedByHours } from '../shop/hours.ts';
import { sendCarousel, sendProductDetails } from './browse.ts';
import type { EventContext } from './context.ts';
import { handToHuman } from './handover.ts';
import { createIntentMatcher } from './intents.ts';
import { sendLanguagePicker, setLanguage } from './language.ts';
import { mainMenu, sendMenu, sendWelcome } from './menu.ts';
import { askOrderNumber, cancelStep } from './orders.ts';

/** Words that trigger an entry, per language. Matched on the whole message, see intents.ts. */
export type Intents = Readonly<Record<Locale, readonly string[]>>;

export interface ActionEntry {
  argument?: never;
  /** Translation key of the button title (quick replies: 20 characters; persistent menu: 30). */
  label?: PlainMessageKey;
  /**
   * Position in the quick-reply main menu, smallest first. Leave out to keep the entry out of it.
   * The table counts in tens, so a new entry fits between two others without renumbering them.
   */
  quickReply?: number;
  /** Position in the persistent menu, before the shop link. Needs a label, like quickReply. */
  persistentMenu?: number;
  /** Position and question among Instagram's ice breakers (Meta shows at most 4). */
  iceBreaker?: { position: number; question: PlainMessageKey };
  intents?: Intents;
  handler: (ctx: EventContext) => void | Promise<void>;
}

/** A payload that carries a value after a colon (`PRODUCT_DETAILS:sencha`); made by withArgument. */
export interface ArgumentEntry<Name extends string = string, Value = unknown> {
  argument: PayloadArgument<Name, Value>;
  handler: (ctx: EventContext, value: Value) => void | Promise<void>;
}

/** How a payload's value is named in PayloadAction and checked when it comes back from Meta. */
export interface PayloadArgument<Name extends string, Value> {
  name: Name;
  parse(text: string): Value | undefined;
}

// Any argument entry fits: its handler takes its own value type, which `never` stands in for.
interface AnyArgumentEntry {
  argument: PayloadArgument<string, unknown>;
  handler: (ctx: EventContext, value: never) => void | Promise<void>;
}
/** What every entry of the table must be (the table is checked against it). */
export type TableEntry = ActionEntry | AnyArgumentEntry;

export function isArgumentEntry(entry: TableEntry): entry is AnyArgumentEntry {
  return entry.argument !== undefined;
}

export function withArgument<Name extends string, Value>(
  argument: PayloadArgument<Name, Value>,
  handler: (ctx: EventContext, value: Value) => void | Promise<void>,
): ArgumentEntry<Name, Value> {
  return { argument, handler };
}

const PRODUCT_ID: PayloadArgument<'product_id', string> = { name: 'product_id', parse: (text) => (/^[a-z0-9-]{1,64}$/.test(text) ? text : undefined) };
const LOCALE: PayloadArgument<'locale', Locale> = { name: 'locale', parse: (text) => (isSupportedLocale(text) ? text : undefined) };

export const ACTIONS = {
  GET_STARTED: {
    intents: {
      en_US: ['hi', 'hello', 'hey', 'hiya', 'good morning', 'good afternoon', 'good evening', 'get started', 'start'],
      id_ID: ['halo', 'hallo', 'hai', 'selamat pagi', 'selamat siang', 'selamat sore', 'selamat malam', 'mulai'],
      zh_TW: ['你好', '您好', '哈囉', '哈啰', '嗨', '早安', '開始'],
      es_ES: ['hola', 'buenas', 'buenos días', 'buenas tardes', 'buenas noches', 'empezar'],
    },
    handler: (ctx) => {
      ctx.user.step = undefined;
      sendWelcome(ctx);
    },
  },
  MENU: {
    intents: {
      en_US: ['menu', 'help', 'options'],
      id_ID: ['menu', 'bantuan', 'tolong'],
      zh_TW: ['選單', '菜單', '幫助', '說明'],
      es_ES: ['menú', 'ayuda', 'opciones'],
    },
    handler: (ctx) => {
      ctx.user.step = undefined;
      sendMenu(ctx);
    },
  },
  BROWSE: {
    label: 'menu.browse',
    quickReply: 10,
    persistentMenu: 10,
    iceBreaker: { position: 10, question: 'profile.ice_breakers.browse' },
    intents: {
      en_US: ['browse teas', 'browse', 'teas', 'tea', 'products', 'catalog'],
      id_ID: ['lihat teh', 'teh', 'produk', 'katalog'],
      zh_TW: ['瀏覽茶品', '茶品', '商品', '茶'],
      es_ES: ['ver tés', 'tés', 'productos', 'catálogo'],
    },
    handler: (ctx) => sendCarousel(ctx),
  },
  PRODUCT_DETAILS: withArgument(PRODUCT_ID, (ctx, productId) => sendProductDetails(ctx, productId)),
  ORDER_STATUS: {
    label: 'menu.order_status',
    quickReply: 20,
    persistentMenu: 20,
    iceBreaker: { position: 20, question: 'profile.ice_breakers.order_status' },
    intents: {
      en_US: ['order status', 'my order', 'where is my order', 'track my order', 'order'],
      id_ID: ['status pesanan', 'pesanan saya', 'lacak pesanan', 'pesanan'],
      zh_TW: ['訂單狀態', '查詢訂單', '我的訂單', '訂單'],
      es_ES: ['estado del pedido', 'mi pedido', 'dónde está mi pedido', 'pedido'],
    },
    handler: (ctx) => askOrderNumber(ctx),
  },
  HOURS: {
    label: 'menu.hours',
    quickReply: 30,
    persistentMenu: 30,
    intents: {
      en_US: ['opening hours', 'hours', 'opening times', 'when are you open', 'are you open'],
      id_ID: ['jam buka', 'jam operasional', 'buka jam berapa', 'kapan buka'],
      zh_TW: ['營業時間', '幾點開門', '幾點營業', '有營業嗎'],
      es_ES: ['horario', 'horarios', 'horario de apertura', 'cuándo abrís', 'estáis abiertos'],
    },
    handler: (ctx) => ctx.reply.text(openingHoursText(ctx), mainMenu(ctx.t)),
  },
  TALK_TO_HUMAN: {
    label: 'menu.human',
    quickReply: 40,
    persistentMenu: 40,
    iceBreaker: { position: 30, question: 'profile.ice_breakers.human' },
    intents: {
      en_US: ['talk to a person', 'talk to someone', 'human', 'real person', 'agent', 'customer service'],
      id_ID: ['bicara dengan staf', 'bicara dengan orang', 'staf', 'admin', 'cs'],
      zh_TW: ['真人客服', '客服', '真人', '找客服'],
      es_ES: ['hablar con alguien', 'hablar con una persona', 'persona', 'agente', 'atención al cliente'],
    },
    handler: (ctx) => handToHuman(ctx),
  },
  LANGUAGE: {
    label: 'menu.language',
    quickReply: 50,
    persistentMenu: 50,
    iceBreaker: { position: 40, question: 'profile.ice_breakers.language' },
    intents: {
      en_US: ['language', 'change language'],
      id_ID: ['bahasa', 'ganti bahasa'],
      zh_TW: ['語言', '切換語言', '更改語言'],
      es_ES: ['idioma', 'cambiar idioma'],
    },
    handler: (ctx) => sendLanguagePicker(ctx),
  },
  SET_LOCALE: withArgument(LOCALE, (ctx, locale) => setLanguage(ctx, locale)),
  CANCEL: {
    intents: {
      en_US: ['cancel'],
      id_ID: ['batal', 'batalkan'],
      zh_TW: ['取消'],
      es_ES: ['cancelar'],
    },
    handler: (ctx) => cancelStep(ctx),
  },
} satisfies Record<string, TableEntry>;

export type ActionTable = typeof ACTIONS;
export type ActionName = Extract<keyof ActionTable, string>;

/** Names of the entries without an argument: the ones a menu, an ice breaker or a word can start. */
export type SimpleActionName = { [N in ActionName]: ActionTable[N] extends { argument: object } ? never : N }[ActionName];

export function entryOf(name: ActionName): TableEntry {
  // Every action name is a key of the table (an index signature cannot say so).
  return TABLE[name] as TableEntry;
}

/** Runs the entry a decoded payload (or a matched intent) names, with the payload's value. */
export function runAction(ctx: EventContext, action: PayloadAction): void | Promise<void> {
  const entry = entryOf(action.action);
  if (!isArgumentEntry(entry)) return entry.handler(ctx);
  // decodePayload set the value under the argument's name; the table's type pairs each entry with
  // its own handler, which indexing by a name that is only known at run time cannot show.
  const value = (action as unknown as Record<string, never>)[entry.argument.name];
  return entry.handler(ctx, value as never);
}

export type Placement = 'quickReply' | 'persistentMenu' | 'iceBreaker';

export interface PlacedEntry {
  name: SimpleActionName;
  label: PlainMessageKey;
}

/** The entries shown in one place, in their order; for ice breakers `label` is the question. */
export function entriesIn(placement: Placement): PlacedEntry[] {
  return placed(TABLE, placement);
}

/** The entry a whole message asks for, with the languages whose words matched. */
export function matchIntent(text: string): { name: SimpleActionName; locales: readonly Locale[] } | undefined {
  return INTENTS.match(text);
}

// ---------------------------------------------------------------------------------------------
// Checks run when this module loads, so a broken table stops start-up (and every test) at once.

/** Meta's limits: 13 quick replies; 20 persistent-menu items (one is the shop link); 4 ice breakers. */
export const PLACEMENT_LIMITS: Readonly<Record<Placement, number>> = { quickReply: 13, persistentMenu: 19, iceBreaker: 4 };

export function placed(table: Readonly<Record<string, TableEntry>>, placement: Placement): PlacedEntry[] {
  const found: (PlacedEntry & { position: number })[] = [];
  for (const [name, entry] of Object.entries(table)) {
    if (isArgumentEntry(entry)) continue;
    const position = placement === 'iceBreaker' ? entry.iceBreaker?.position : entry[placement];
    const label = placement === 'iceBreaker' ? entry.iceBreaker?.question : entry.label;
    // Keys of ACTIONS are exactly the action names; Object.entries widens them to string.
    if (position !== undefined && label !== undefined) found.push({ name: name as SimpleActionName, label, position });
  }
  return found.sort((a, b) => a.position - b.position).map(({ name, label }) => ({ name, label }));
}

/** Every problem in a table, one line each (an empty list when it is sound). */
export function tableProblems(table: Readonly<Record<string, TableEntry>>): string[] {
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(table)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) problems.push(`${name}: a payload name is upper case letters, digits and _ (e.g. OPENING_HOURS)`);
    if (isArgumentEntry(entry)) continue;
    if ((entry.quickReply !== undefined || entry.persistentMenu !== undefined) && entry.label === undefined) {
      problems.push(`${name}: quickReply and persistentMenu need a label (a key in locales/en_US.json)`);
    }
  }
  for (const placement of ['quickReply', 'persistentMenu', 'iceBreaker'] as const) {
    const positions = Object.entries(table).flatMap(([name, entry]) => {
      if (isArgumentEntry(entry)) return [];
      const position = placement === 'iceBreaker' ? entry.iceBreaker?.position : entry[placement];
      return position === undefined ? [] : [{ name, position }];
    });
    for (const { name, position } of positions) {
      if (!Number.isInteger(position) || position < 1) problems.push(`${name}: ${placement} position must be a whole number from 1, got ${position}`);
      const same = positions.filter((p) => p.position === position).map((p) => p.name);
      if (same.length > 1 && same[0] === name) problems.push(`${placement} position ${position} is taken by ${same.join(' and ')}`);
    }
    if (positions.length > PLACEMENT_LIMITS[placement]) problems.push(`${placement}: ${positions.length} entries, Meta allows ${PLACEMENT_LIMITS[placement]}`);
  }
  return problems;
}

/**
 * The table as the checks and derivations read it: every entry through the common shape.
 * `satisfies` above has checked every entry; going through unknown keeps a broken entry from being
 * reported a second time here.
 */
export const ENTRIES = ACTIONS as unknown as Readonly<Record<string, TableEntry>>;
const TABLE = ENTRIES;

const problems = tableProblems(TABLE);
if (problems.length > 0) throw new Error(`services/conversation/actions.ts:\n${problems.map((p) => `  - ${p}`).join('\n')}`);

const INTENTS = createIntentMatcher<SimpleActionName>(
  // Keys of ACTIONS are exactly the action names; Object.entries widens them to string.
  Object.entries(TABLE).flatMap(([name, entry]) => (!isArgumentEntry(entry) && entry.intents ? [{ name: name as SimpleActionName, intents: entry.intents }] : [])),
);

// ---------------------------------------------------------------------------------------------
// Answers short enough to live with their entry.

/** HOURS: the week from data/shop.json in the user's language, whether the shop is open now, where it is. */
function openingHoursText(ctx: EventContext): string {
  const { t } = ctx;
  const { address, website, opening_hours: hours } = ctx.settings.catalog.shop;
  const format = hoursFormat(languageTag(ctx.locale));
  const week = weekGroupedByHours(hours).map(({ first, last, ranges }) => {
    const [from, to] = [format.weekday(first, 'short'), format.weekday(last, 'short')];
    const days = first === last ? from : t('hours.days', { first: from, last: to });
    return t('hours.line', { days, times: ranges.length > 0 ? format.ranges(ranges) : t('hours.closed') });
  });
  const state = openingState(hours, ctx.now);
  let now: string;
  if (state.open) {
    now = t('hours.open_now', { time: format.time(state.closes) });
  } else {
    const at = { time: format.time(state.opens.at), day: format.weekday(state.opens.day, 'long') };
    const when = state.opens.inDays === 0 ? t('hours.today', at) : state.opens.inDays === 1 ? t('hours.tomorrow', at) : t('hours.on_day', at);
    now = t('hours.closed_now', { when });
  }
  const title = t('hours.title', { time_zone: format.timeZone(hours.time_zone) });
  return [title, ...week, '', now, t('hours.address', { address }), t('hours.website', { website })].join('\n');
}
