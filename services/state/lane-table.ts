// The memory store's lanes: for each user's inbox lane (or recipient's reply lane), how many items
// wait in it, who holds it and until when, and from when it may be claimed. The same rules as the
// `inbox_lanes`/`outbox_lanes` tables of the SQLite and PostgreSQL stores (see store.ts, claims).
import { LEASE_MS, LOST, type ClaimedLane, type Release } from './store.ts';

interface Lane {
  owner: string | undefined;
  leaseUntil: number;
  pending: number;
  /** When the lane last started waiting (fairness: the longest waiting is claimed first). */
  since: number;
  /** Not claimable before this time (a reply's retry, a paused account). */
  availableAt: number;
}

export interface LaneTable {
  /** `n` more items wait in the lane; `takeFor`: the lane goes to this owner if nobody holds it. */
  add(lane: string, n: number, now: number, takeFor?: string): void;
  /** True when `owner` holds the lane (a fenced write may go ahead). */
  holds(lane: string, owner: string): boolean;
  /** One item left the lane (after `holds`, or unconditionally for removals nobody holds). */
  remove(lane: string, n?: number): void;
  claim(owner: string, limit: number, leaseMs: number, now: number): ClaimedLane[];
  release(lane: string, owner: string, now: number, options: { requeue?: boolean; availableAt?: number }): Release;
  renew(owner: string, leaseMs: number, now: number): number;
  releaseAll(owner: string): void;
  expireAll(): void;
  /** Every lane claimable now, whatever time it was put off until. */
  makeAvailable(): void;
  countOf(owner: string): number;
}

export function createLaneTable(): LaneTable {
  const lanes = new Map<string, Lane>();
  const get = (lane: string, now: number): Lane => {
    let entry = lanes.get(lane);
    if (!entry) lanes.set(lane, (entry = { owner: undefined, leaseUntil: 0, pending: 0, since: now, availableAt: 0 }));
    return entry;
  };
  return {
    add(lane, n, now, takeFor) {
      const entry = get(lane, now);
      if (entry.pending === 0) entry.since = now;
      entry.pending += n;
      if (takeFor !== undefined && (entry.owner === undefined || entry.leaseUntil < now)) {
        entry.owner = takeFor;
        entry.leaseUntil = now + LEASE_MS;
      }
    },
    holds: (lane, owner) => lanes.get(lane)?.owner === owner,
    remove(lane, n = 1) {
      const entry = lanes.get(lane);
      if (entry) entry.pending = Math.max(0, entry.pending - n);
    },
    claim(owner, limit, leaseMs, now) {
      const free = [...lanes.entries()]
        .filter(([, l]) => l.pending > 0 && l.availableAt <= now && (l.owner === undefined || l.leaseUntil < now))
        .sort(([, a], [, b]) => a.since - b.since)
        .slice(0, limit);
      return free.map(([lane, l]) => {
        const takenOver = l.owner !== undefined;
        l.owner = owner;
        l.leaseUntil = now + leaseMs;
        return { lane, takenOver };
      });
    },
    release(lane, owner, now, { requeue = false, availableAt }) {
      const entry = lanes.get(lane);
      if (!entry || entry.owner !== owner) return LOST;
      if (entry.pending > 0 && !requeue && availableAt === undefined) return 'busy';
      entry.owner = undefined;
      entry.leaseUntil = 0;
      if (entry.pending === 0) lanes.delete(lane);
      else {
        entry.since = now;
        if (availableAt !== undefined) entry.availableAt = availableAt;
      }
      return 'released';
    },
    renew(owner, leaseMs, now) {
      let held = 0;
      for (const l of lanes.values()) {
        if (l.owner !== owner) continue;
        l.leaseUntil = now + leaseMs;
        held += 1;
      }
      return held;
    },
    releaseAll(owner) {
      for (const [lane, l] of lanes) {
        if (l.owner !== owner) continue;
        l.owner = undefined;
        l.leaseUntil = 0;
        if (l.pending === 0) lanes.delete(lane);
      }
    },
    expireAll() {
      for (const l of lanes.values()) l.leaseUntil = 0;
    },
    makeAvailable() {
      for (const l of lanes.values()) l.availableAt = 0;
    },
    countOf: (owner) => [...lanes.values()].filter((l) => l.owner === owner).length,
  };
}
