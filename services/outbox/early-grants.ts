// Grants asked for while a reply is still being stored. With a shared rate gate (PostgreSQL's),
// a grant is a round trip to the database; asked for when the handler has its reply, it comes
// back while the completion commits, so the send need not wait for two round trips one after
// the other. The rule is not loosened: an early grant counts from the moment it is granted, like
// any other, and one nobody takes in time is marked done, so it counts for one window more and
// the limit is never passed, at worst a slot is left unused for a moment. The send still asks
// the gate itself when no early grant is there (another limit, the early one refused or expired).
import type { AcquireOptions, Grant, RateGate } from './rate-gate.ts';

/** How long an early grant waits to be taken before it is given back. */
export const EARLY_GRANT_KEEP_MS = 500;
/** Early grants asked for and not yet taken, per account and limit: more is a backlog, not a head start. */
export const EARLY_GRANTS_MAX = 8;

export interface EarlyGrants {
  /** Asks for a grant now, for a send that will want one in a moment. */
  ask(account: string, options: AcquireOptions): void;
  /** The oldest early grant for this account and limit (as the gate gives it), or undefined: ask the gate. */
  take(account: string, options: AcquireOptions): Promise<Grant> | undefined;
  /** Gives back every early grant not taken. */
  close(): void;
  /** Early grants asked for and not taken yet. */
  waiting(): number;
}

interface Early {
  grant: Promise<Grant | undefined>;
  timer: ReturnType<typeof setTimeout>;
}

export function createEarlyGrants(gate: RateGate, keepMs = EARLY_GRANT_KEEP_MS): EarlyGrants {
  const byLimit = new Map<string, Early[]>();
  const keyOf = (account: string, options: AcquireOptions): string => JSON.stringify([account, options.media === true, options.kind ?? null]);
  // A grant given back is done at once: it counts one window from now, as a send would have.
  const giveBack = (early: Early): void => {
    clearTimeout(early.timer);
    void early.grant.then((grant) => grant?.done());
  };
  const remove = (key: string, early: Early): void => {
    const list = byLimit.get(key);
    const at = list?.indexOf(early) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
    if (list?.length === 0) byLimit.delete(key);
  };

  return {
    ask(account, options) {
      const key = keyOf(account, options);
      const list = byLimit.get(key) ?? [];
      if (list.length >= EARLY_GRANTS_MAX) return;
      // A refusal (the gate closing, the database down) is the send's to meet: it asks again itself.
      const grant = gate.acquire(account, options).catch(() => undefined);
      const early: Early = {
        grant,
        timer: setTimeout(() => {
          remove(key, early);
          giveBack(early);
        }, keepMs),
      };
      early.timer.unref?.();
      list.push(early);
      byLimit.set(key, list);
    },
    take(account, options) {
      const key = keyOf(account, options);
      const early = byLimit.get(key)?.[0];
      if (!early) return undefined;
      remove(key, early);
      clearTimeout(early.timer);
      return early.grant.then((grant) => grant ?? gate.acquire(account, options));
    },
    close() {
      for (const list of byLimit.values()) for (const early of list) giveBack(early);
      byLimit.clear();
    },
    waiting: () => [...byLimit.values()].reduce((n, list) => n + list.length, 0),
  };
}
