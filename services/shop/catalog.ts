// The shop's data: products and orders from small JSON files in data/, validated on load so a
// broken file stops start-up instead of surfacing as an apology to a customer.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Product {
  id: string;
  price: string;
  currency: string;
  /** Path under public/, e.g. `images/sencha.png`. */
  image: string;
}

export type OrderStatus = 'processing' | 'shipped' | 'delivered' | 'cancelled';

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
  products: readonly Product[];
  product(id: string): Product | undefined;
  order(number: string): Order | undefined;
}

const DATA_DIR = fileURLToPath(new URL('../../data/', import.meta.url));
const STATUSES: readonly string[] = ['processing', 'shipped', 'delivered', 'cancelled'];

export function loadCatalog(dir: string = DATA_DIR): Catalog {
  const products = readArray(`${dir}products.json`).map(toProduct);
  const orders = new Map(readArray(`${dir}orders.json`).map(toOrder).map((o) => [o.number, o]));
  return {
    products,
    product: (id) => products.find((p) => p.id === id),
    order: (number) => orders.get(number),
  };
}

/** What the customer typed, read as an order number: `TW-10231`, `tw 10231`, `#10231`, `10231`. */
export type OrderNumberInput = { valid: true; number: string } | { valid: false };

export function parseOrderNumber(text: string): OrderNumberInput {
  const match = /^#?\s*(?:TW[\s-]?)?(\d{5})$/i.exec(text.trim());
  return match?.[1] ? { valid: true, number: `TW-${match[1]}` } : { valid: false };
}

function readArray(path: string): unknown[] {
  const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(data)) throw new Error(`${path} must hold a JSON array`);
  return data;
}

function toProduct(raw: unknown): Product {
  const p = raw as Partial<Product>;
  if (typeof p.id !== 'string' || typeof p.price !== 'string' || typeof p.currency !== 'string' || typeof p.image !== 'string') {
    throw new Error(`data/products.json: bad product ${JSON.stringify(raw)}`);
  }
  return { id: p.id, price: p.price, currency: p.currency, image: p.image };
}

function toOrder(raw: unknown): Order {
  const o = raw as Partial<Order>;
  if (typeof o.number !== 'string' || typeof o.status !== 'string' || !STATUSES.includes(o.status) || typeof o.placed !== 'string' || typeof o.items !== 'number') {
    throw new Error(`data/orders.json: bad order ${JSON.stringify(raw)}`);
  }
  return { ...(o as Order) };
}
