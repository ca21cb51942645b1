// A store that is usable at once while it opens in the background (PostgreSQL connects and applies
// its migrations first): every call waits for the opening, and fails as it failed.
import type { BotStore } from './store.ts';

export interface OpeningStore extends BotStore {
  /** Resolves once the store is open; rejects with the reason it could not be. */
  readonly ready: Promise<BotStore>;
}

export function storeWhenReady(opening: Promise<BotStore>): OpeningStore {
  // Observed here so that a failure nobody has asked about yet is not an unhandled rejection.
  opening.catch(() => undefined);
  let open: BotStore | undefined;
  void opening.then((store) => (open = store));
  return new Proxy({} as OpeningStore, {
    get(_target, name) {
      if (name === 'ready') return opening;
      if (name === 'then') return undefined; // not a thenable
      return (...args: unknown[]) => {
        // Once open, calls go straight through (no extra turn on the webhook's hot path).
        const call = (store: BotStore): unknown => (store[name as keyof BotStore] as (...a: unknown[]) => unknown).apply(store, args);
        return open ? call(open) : opening.then(call);
      };
    },
  });
}
