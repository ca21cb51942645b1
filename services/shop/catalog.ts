// The shop's data: the shop itself (data/shop.json), products and orders, and the comment triggers
// (data/comment-replies.json) from small JSON files in data/, validated on load so a broken file stops start-up with the file and field named, instead
// of surfacing as an apology (or a raw translation key) to a customer.
import { existsSync, readFileSync } from 'node:fs';
import { projectPath } from '../project-dir.ts';
import { array, fail, isoDate, matching, member, object, optionalString, positiveInteger, readDataFile, string, type Field } from './data-file.ts';
import { DATA_DIR, loadShop, type Shop } from './shop.ts';
import { loadCommentTriggers, type CommentTriggers } from '../comments/triggers.ts';

export interface Product {
  id: string;
  price: string;
  currency: string;
  /** Path under public/, e.g. `images/sencha.png`. */
  image: string;
}

export const ORDER_STATUSES = ['processing', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface Order {
  number: string;
  status: OrderStatus;
  placed: string;
  items: number;
  carrier?: string;
  tracking?: string;
  delivered?: string;
}

export interface Catalog {
  shop: Shop;
  products: readonly Product[];
  product(id: string): Product | undefined;
  order(number: string): Order | undefined;
  /** Which comments on the shop's posts get a private reply (data/comment-replies.json). */
  commentReplies: CommentTriggers;
}

/** The texts every product has in locales/<locale>.json under `products.<id>`. */
export const PRODUCT_TEXTS = ['title', 'tagline', 'details'] as const;

export interface CatalogPaths {
  data: string;
  /** Where product images are served from (`image` is relative to it). */
  public: string;
  /** The reference locale file, which must name and describe every product. */
  english: string;
}

const DEFAULT_PATHS: CatalogPaths = {
  data: DATA_DIR,
  public: projectPath('public/'),
  english: projectPath('locales/en_US.json'),
};

export function loadCatalog(paths: Partial<CatalogPaths> = {}): Catalog {
  const where = { ...DEFAULT_PATHS, ...paths };
  const shop = loadShop(where.data);
  const products = readProducts(where);
  const orders = new Map(readOrders(where.data).map((o) => [o.number, o]));
  const commentReplies = loadCommentTriggers(where.data, where.english);
  return {
    shop,
    products,
    product: (id) => products.find((p) => p.id === id),
    order: (number) => orders.get(number),
    commentReplies,
  };
}

/** What the customer typed, read as an order number: `TW-10231`, `tw 10231`, `#10231`, `10231`. */
export type OrderNumberInput = { valid: true; number: string } | { valid: false };

export function parseOrderNumber(text: string): OrderNumberInput {
  const match = /^#?\s*(?:TW[\s-]?)?(\d{5})$/i.exec(text.trim());
  return match?.[1] ? { valid: true, number: `TW-${match[1]}` } : { valid: false };
}

const PRODUCT_ID = matching(/^[a-z0-9-]{1,64}$/, 'lower-case letters, digits and "-" (it goes into payloads), like "earl-grey"');
const PRICE = matching(/^\d+(\.\d+)?$/, 'a decimal number as a string, like "12.50"');
const CURRENCY = { expected: 'an ISO 4217 currency code like "USD" or "IDR"', test: (c: string) => /^[A-Z]{3}$/.test(c) && Intl.supportedValuesOf('currency').includes(c) };
const ORDER_NUMBER = matching(/^TW-\d{5}$/, 'TW- and five digits, like "TW-10231" (what parseOrderNumber reads)');

function readProducts(where: CatalogPaths): Product[] {
  const file = readDataFile(`${where.data}products.json`, 'data/products.json');
  const english = readEnglishProducts(where.english);
  const products = array(file).map((field) => {
    object(field, ['id', 'price', 'currency', 'image']);
    const product: Product = {
      id: string(member(field, 'id'), PRODUCT_ID),
      price: string(member(field, 'price'), PRICE),
      currency: string(member(field, 'currency'), CURRENCY),
      image: string(member(field, 'image')),
    };
    if (!existsSync(`${where.public}${product.image}`)) fail(member(field, 'image'), `names public/${product.image}, which does not exist`);
    const missing = PRODUCT_TEXTS.filter((text) => typeof english[product.id]?.[text] !== 'string');
    if (missing.length > 0) fail(member(field, 'id'), `"${product.id}" has no ${missing.map((m) => `products.${product.id}.${m}`).join(', ')} in locales/en_US.json`);
    return product;
  });
  if (products.length === 0) fail(file, 'lists no products: the carousel needs at least one');
  unique(file, products.map((p) => p.id), 'id');
  return products;
}

function readOrders(dir: string): Order[] {
  const file = readDataFile(`${dir}orders.json`, 'data/orders.json');
  const orders = array(file).map(readOrder);
  unique(file, orders.map((o) => o.number), 'number');
  return orders;
}

function readOrder(field: Field): Order {
  object(field, ['number', 'status', 'placed', 'items', 'carrier', 'tracking', 'delivered']);
  const status = string(member(field, 'status'), { expected: `one of ${ORDER_STATUSES.join(', ')}`, test: (s) => (ORDER_STATUSES as readonly string[]).includes(s) }) as OrderStatus;
  const order: Order = {
    number: string(member(field, 'number'), ORDER_NUMBER),
    status,
    placed: string(member(field, 'placed'), isoDate),
    items: positiveInteger(member(field, 'items')),
  };
  const carrier = optionalString(member(field, 'carrier'));
  const tracking = optionalString(member(field, 'tracking'));
  const delivered = optionalString(member(field, 'delivered'), isoDate);
  // The answer for a status names these, so an order in that status must have them.
  if (status === 'shipped' && carrier === undefined) fail(member(field, 'carrier'), 'is needed for a shipped order');
  if (status === 'shipped' && tracking === undefined) fail(member(field, 'tracking'), 'is needed for a shipped order');
  if (status === 'delivered' && delivered === undefined) fail(member(field, 'delivered'), 'is needed for a delivered order');
  return { ...order, ...(carrier === undefined ? {} : { carrier }), ...(tracking === undefined ? {} : { tracking }), ...(delivered === undefined ? {} : { delivered }) };
}

function unique(file: Field, values: readonly string[], key: string): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (seen.has(value)) fail(member(member(file, i), key), `${JSON.stringify(value)} appears twice`);
    seen.add(value);
  });
}

function readEnglishProducts(path: string): Record<string, Record<string, unknown> | undefined> {
  const data = JSON.parse(readFileSync(path, 'utf8')) as { products?: Record<string, Record<string, unknown> | undefined> };
  return data.products ?? {};
}
