// The durable inbox. `accept` stores a verified webhook body as it arrived, before the webhook
// answers 200; everything else happens after, from the store: bodies are expanded into events
// (normalised, keyed, redeliveries dropped), and each user's events are handled in arrival order
// by whichever instance holds that user's lane (claimed with a lease, see store.ts "Claims"), with
// each event's replies queued atomically with marking it handled. Only the few events of the lanes
// being handled are held in memory, however long the backlog in the store.
//
// Nothing one notification or event does can stop the rest: a body or event that cannot be read
// is set aside by the store at expansion; an event whose handling keeps failing (or keeps killing
// the thread) is retried a few times with backoff and then set aside in `failed_events`. A store
// that fails as a whole is not a poison event: the inbox waits for it, with a growing pause.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { WebhookEvent } from '../events/types.ts';
import type { Logger } from '../logger.ts';
import { noopMetrics, type BotMetrics } from '../metrics/bot-metrics.ts';
import type { OutboxSender } from '../outbox/sender.ts';
import type { Progress } from '../progress.ts';
import type { BotStore, ClaimedLane, EventOutcome, ExpandClaim, InboxRow, NotificationExpander, PreloadedUser, ProfileLookup } from '../state/store.ts';
import { LEASE_MS, LOST, reasonOf } from '../state/store.ts';
import { expandBody } from './expand.ts';
import { createGate } from './gate.ts';
import { DEFAULT_INBOX_RETRY, createRetryTimer, delayAfter, type InboxRetry } from './retry.ts';

export { DEFAULT_INBOX_RETRY, type InboxRetry } from './retry.ts';

export interface InboxDeps {
  store: BotStore;
  /** What handling the event produced (services/handling/handle-event.ts), to store with marking it handled. */
  handleEvent: (event: WebhookEvent, user?: PreloadedUser) => Promise<EventOutcome>;
  outbox: OutboxSender;
  log: Logger;
  now: () => number;
  /** Who this bot is among the instances sharing the store (its claims carry this name). */
  owner: string;
  /** Users handled at once. */
  concurrency?: number;
  leaseMs?: number;
  retry?: InboxRetry;
  /** Told about each event handled or set aside and each batch of bodies expanded. */
  progress?: Progress;
  /** Turns a stored body into its events (default `expandBody`; the bot's knows its accounts). */
  expand?: NotificationExpander;
  /** Counts handled, duplicate and unreadable events. */
  metrics?: BotMetrics;
  /**
   * Looks up and caches a user's profile that handling did without (services/profile-cache.ts,
   * `lookUpProfile`): called after the event is completed, while its lane is held. Never rejects.
   */
  lookupProfile?: (userKey: string, lookup: ProfileLookup, lane: string) => Promise<void>;
}

export interface Inbox {
  /** Persists a verified body; resolves once it is safe, then handling picks it up. */
  accept(body: Uint8Array): Promise<void>;
  /** New bodies or lanes may be waiting (stored by this thread, another one, or another instance). */
  wake(): void;
  /** Resumes what a previous run left: unexpanded bodies, unhandled events. */
  recover(): Promise<{ received: number; events: number; replies: number }>;
  /** Resolves once nothing this bot could take is waiting and nothing it took is running. */
  idle(): Promise<void>;
  /** Starts nothing new; the events being handled finish (their lanes stay claimed until released). */
  stop(): Promise<void>;
  /** Lanes being handled now. */
  readonly running: number;
}

/**
 * Users handled at once. Handling waits on Graph for a new user's profile (~100–300 ms from Meta),
 * so 64 lanes keep up with a few hundred events per second.
 */
const DEFAULT_CONCURRENCY = 64;
/** Events expanded per transaction: short, so a writer on another connection never waits long. */
const EXPAND_EVENTS = 100;
/** Most inbox lanes one claim takes (a claim is repeated while slots are free). */
const CLAIM_BATCH = 8;
/** Events of a lane read at once. */
const LANE_BATCH = 8;
/** Events a lane may handle in a row while every slot is busy, before it goes to the back of the line. */
const QUANTUM = 8;

type RowResult = 'done' | 'lost';

export function createInbox(deps: InboxDeps): Inbox {
  const retry = deps.retry ?? DEFAULT_INBOX_RETRY;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const leaseMs = deps.leaseMs ?? LEASE_MS;
  const { store, owner, log } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const gate = createGate();
  const running = new Map<string, Promise<void>>();
  const timers = createRetryTimer();
  let stopped = false;
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;
  /** A wake that asked for an expansion came while a pump ran. */
  let expandAgain = false;
  /** The last pump found nothing to expand and nothing to claim. */
  let quiet = false;
  /** In this pump: some lanes were claimed (something was found); a claim was made. */
  let pumpClaims = { took: false, ran: false };
  /**
   * Lanes with events may wait that nobody holds and this inbox has not tried to claim since: the
   * last claim took all it asked for (there may be more), slots were full, or a lane was given back
   * to the line. A freed slot claims only then; otherwise new lanes come with a wake.
   */
  let unclaimed = true;
  let pumpFailures = 0;

  /** Runs `work`; while the store fails, waits (a growing pause) and tries again. Undefined once stopped. */
  const withStore = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    for (let failures = 1; !stopped; failures++) {
      try {
        return await work();
      } catch (err) {
        const delay = delayAfter(retry, failures);
        log.error(`the store failed (${what}); trying again`, { err, retry_in_ms: delay });
        await timers.pause(delay);
      }
    }
    return undefined;
  };

  /** `row.event`, read with the row, is used as it is (an event is never changed, only removed). */
  const handleOnce = async (row: InboxRow): Promise<RowResult> => {
    const started = performance.now();
    const event = row.event ?? (await store.inboxEvent(row.id));
    if (!event) return 'done'; // already handled
    const outcome = await deps.handleEvent(event, row.user ? { key: row.lane, state: row.user } : undefined);
    deps.outbox.prepare(outcome.userKey, outcome.actions);
    const completion = await store.completeEvent(row.id, outcome, deps.now(), owner);
    if (completion === LOST) return 'lost';
    metrics.eventHandled(event.kind, event.channel, (performance.now() - started) / 1000);
    if (completion.held.length > 0) deps.outbox.notify(completion.held, { heads: completion.heads, lastInboundAt: outcome.user?.last_inbound_at });
    // The profile the replies did without is looked up now, before the lane's next event, which
    // then has it; a turn later, so that the replies' sends leave this thread first.
    if (outcome.profileLookup && outcome.userKey && deps.lookupProfile) {
      await nextTurn();
      await deps.lookupProfile(outcome.userKey, outcome.profileLookup, row.lane);
    }
    return 'done';
  };

  /** Sets the event aside (logging the last error, with its stack); while the store cannot take even that, waits for it. */
  const setAside = async (row: InboxRow, attempts: number, reason: string, err?: unknown): Promise<RowResult> => {
    const result = await withStore('setting an event aside', () => store.setAsideEvent(row.id, reason, deps.now(), owner));
    if (result === LOST) return 'lost';
    if (!stopped) {
      log.error('event set aside in failed_events: handling it kept failing', { inbox_id: row.id, lane: row.lane, attempts, reason, ...(err === undefined ? {} : { err }) });
      deps.progress?.note();
    }
    return 'done';
  };

  /**
   * Handles one event, trying again after a failure. From the second try on (and from the first,
   * for an event that may have been in flight when its previous holder died) the attempt is
   * counted in the store before it starts: an attempt that kills the thread is still counted, and
   * an attempt the store cannot even count is a store outage, which is waited out rather than
   * counted against the event.
   */
  const processRow = async (row: InboxRow, maybeInFlight: boolean): Promise<RowResult> => {
    let counted = row.attempts > 0 || maybeInFlight;
    // The first try of an event that arrived normally is not counted in the store (that would
    // cost a write per event); it is added to the stored count here.
    const uncounted = counted ? 0 : 1;
    let failures = 0;
    let outages = 0;
    // An event some earlier attempt of which never finished runs alone (see gate.ts).
    const exclusive = row.attempts > 0;
    const attempt = async (): Promise<RowResult | 'failed' | 'outage'> => {
      if (stopped) return 'done'; // left in the inbox for whoever holds the lane next
      let tries = 1;
      if (counted) {
        try {
          tries = (await store.countAttempt(row.id)) + uncounted;
        } catch (err) {
          outages += 1;
          log.error('the store failed while handling an event; waiting for it', { err, inbox_id: row.id, retry_in_ms: delayAfter(retry, outages) });
          return 'outage';
        }
        if (tries === uncounted) return 'done'; // no longer in the inbox
        if (tries > retry.maxAttempts) {
          // Only attempts that were cut short get here: each one that failed was counted below.
          return setAside(row, tries - 1, `handling did not finish in ${tries - 1} attempts: the bot stopped, or its thread died, during each of them`);
        }
      }
      try {
        // A later try reads the event again: an earlier one may have completed it (its answer lost).
        // So does its user: that earlier try's completion may have changed it.
        const result = await handleOnce(failures === 0 ? row : { ...row, event: undefined, user: undefined });
        if (result === 'done') deps.progress?.note();
        return result;
      } catch (err) {
        failures += 1;
        if (tries >= retry.maxAttempts) return setAside(row, tries, `handling failed ${tries} times: ${reasonOf(err)}`, err);
        log.warn('handling an event failed; trying it again', { err, inbox_id: row.id, lane: row.lane, attempt: tries, retry_in_ms: delayAfter(retry, failures) });
        return 'failed';
      }
    };
    while (!stopped) {
      const result = await gate.run(exclusive, attempt);
      if (result === 'done' || result === 'lost') return result;
      counted = true;
      await timers.pause(delayAfter(retry, result === 'outage' ? outages : failures));
    }
    return 'done';
  };

  /** Handles a claimed lane until it is empty (then gives it back), lost, or has had its turn. */
  const runLane = async ({ lane, takenOver, rows: claimedRows }: ClaimedLane): Promise<void> => {
    let served = 0;
    let head = takenOver;
    // The events read with the claim, if the store did: the first batch without a read of its own.
    let prefetched = claimedRows;
    // The last read was short of a batch: the lane is empty now unless more arrived since, which
    // giving it back finds out (it refuses while events wait), so no read is spent to learn it.
    let drained = false;
    while (!stopped) {
      const rows: readonly InboxRow[] | undefined = drained ? [] : (prefetched ?? (await withStore('reading a lane', () => store.laneEvents(lane, LANE_BATCH))));
      prefetched = undefined;
      if (!rows) return;
      if (rows.length === 0) {
        const released = await withStore('giving a lane back', () => store.releaseInboxLane(lane, owner, deps.now()));
        // Given back, not ours any more, or stopping (released with the rest at close).
        if (released !== 'busy') return;
        drained = false;
        continue; // events arrived meanwhile
      }
      for (const row of rows) {
        // Only the lane's head can have been in flight when its previous holder died.
        const result = await processRow(row, head);
        head = false;
        if (result === 'lost') {
          log.warn('this event was handled elsewhere, or another instance took its lane over; leaving the lane', { lane });
          // If the lane is still ours (the event was gone), it goes back to the line rather than
          // staying held, and renewed, by a bot that no longer works on it.
          unclaimed = true;
          await withStore('giving a lane back', () => store.releaseInboxLane(lane, owner, deps.now(), { requeue: true }));
          return;
        }
        served += 1;
        if (stopped) return;
      }
      drained = rows.length < LANE_BATCH;
      if (served >= QUANTUM && running.size >= concurrency) {
        // Every slot is busy: back of the line, so one long backlog cannot starve other users.
        unclaimed = true;
        await withStore('giving a lane back', () => store.releaseInboxLane(lane, owner, deps.now(), { requeue: true }));
        return;
      }
    }
  };

  const startLane = (claimed: ClaimedLane): void => {
    const run = runLane(claimed)
      .catch((err: unknown) => log.error('handling a lane failed', { err, lane: claimed.lane }))
      .finally(() => {
        running.delete(claimed.lane);
        // A slot is free: claim another lane, if one may wait. Nothing new was stored, so there is
        // nothing to expand.
        if (unclaimed) wake(false);
      });
    running.set(claimed.lane, run);
  };

  /**
   * Expands what was stored, then claims lanes for the free slots. While another instance is
   * expanding, this one claims first (the lanes it already made) and waits its turn after, so
   * instances never queue on the expansion while lanes are waiting to be claimed. Without
   * `expand` (a slot was freed, nothing new stored) it only claims.
   */
  const pump = async (expand: boolean): Promise<void> => {
    pumpClaims = { took: false, ran: false };
    let found: boolean | 'busy' = expand && (await expandStored(true));
    if (found === 'busy') {
      const claimed = await claimLanes();
      found = (await expandStored(false)) === true || claimed;
    }
    if (await claimLanes()) found = true;
    if (pumpClaims.took) found = true;
    // Only a pump that also looked for bodies can tell that nothing is left (idle() waits for one).
    if (expand || found) quiet = !found;
  };

  /** Expands stored bodies until none is left: true if there were any; 'busy' if another instance was at it (ifFree). */
  const expandStored = async (ifFree: boolean): Promise<boolean | 'busy'> => {
    let found = false;
    for (;;) {
      if (stopped) return found;
      const claim = claimOption();
      const expanded = await store.expandNotifications(EXPAND_EVENTS, deps.expand ?? expandBody, deps.now(), { ifFree, ...claim });
      if (expanded.claimed) startClaimed(expanded.claimed, claim.claim?.limit ?? 0);
      if (expanded.busy) return found || 'busy';
      if (expanded.notifications === 0) return found;
      found = true;
      deps.progress?.note();
      if (expanded.duplicates > 0) log.info('redelivered events ignored', { duplicates: expanded.duplicates });
      metrics.eventDuplicates(expanded.duplicates);
      metrics.eventsUnreadable(expanded.unreadable.length);
      for (const { id, reason, events } of expanded.unreadable) {
        const what = events
          ? 'some events of a stored notification could not be read; the notification is kept in unreadable_notifications, its other events go on'
          : 'stored notification could not be read; set aside in unreadable_notifications';
        log.error(what, { notification_id: id, reason, ...(events ? { events: events.map((p) => p + 1) } : {}) });
      }
      // Under budget: the store took every body there was (see expandNotifications). One stored
      // since comes with a wake of its own, so asking again now would be a transaction for nothing.
      if (expanded.stored + expanded.duplicates < EXPAND_EVENTS && expanded.notifications < EXPAND_EVENTS) return found;
      await nextTurn(); // let I/O (and the webhook, when it shares this thread) run between chunks
    }
  };

  /** Claims lanes with events waiting for the free slots: true if it took any. */
  const claimLanes = async (): Promise<boolean> => {
    let found = false;
    // A claim of this pump found nothing more to take: another now would find nothing either.
    if (pumpClaims.ran && !unclaimed) return false;
    if (running.size >= concurrency) unclaimed = true;
    while (!stopped && running.size < concurrency) {
      // A few lanes per claim, so instances woken by the same notification share the new lanes
      // (their claims interleave with this one's) rather than the first awake taking them all.
      const asked = Math.min(CLAIM_BATCH, concurrency - running.size);
      const claimed = await store.claimInboxLanes(owner, asked, leaseMs, deps.now(), { withEvents: LANE_BATCH });
      startClaimed(claimed, asked);
      if (claimed.length > 0) found = true;
      if (claimed.length < asked) break;
    }
    return found;
  };

  /** The claim an expansion makes in its transaction, for the free slots (when the store can). */
  const claimOption = (): { claim?: ExpandClaim } => {
    const free = Math.min(CLAIM_BATCH, concurrency - running.size);
    if (free <= 0) unclaimed = true;
    return free > 0 && !stopped ? { claim: { owner, limit: free, leaseMs, withEvents: LANE_BATCH } } : {};
  };

  /**
   * Starts claimed lanes. Fewer than `asked`: none was left to claim, so the next claim would find
   * nothing (a lane that frees up later comes with a wake): `unclaimed` lets the pump and a freed
   * slot skip it.
   */
  const startClaimed = (claimed: readonly ClaimedLane[], asked: number): void => {
    for (const c of claimed) if (!running.has(c.lane)) startLane(c);
    pumpClaims = { took: pumpClaims.took || claimed.length > 0, ran: true };
    unclaimed = claimed.length >= asked;
  };

  // One pump at a time, and after a failure one retry timer, however many wakes come meanwhile:
  // they are all served by the pump that timer starts. `expand` false: only lanes to claim.
  const wake = (expand = true): void => {
    if (stopped) return;
    quiet = false;
    if (pumping || timers.waiting()) {
      pumpAgain = true;
      expandAgain ||= expand;
      return;
    }
    const expanding = expand || expandAgain;
    pumpAgain = false;
    expandAgain = false;
    pumping = pump(expanding)
      .then(
        () => void (pumpFailures = 0),
        (err: unknown) => {
          pumpFailures += 1;
          const delay = delayAfter(retry, pumpFailures);
          log.error('reading the inbox failed; trying again later', { err, failures: pumpFailures, retry_in_ms: delay });
          timers.schedule(delay, () => wake());
        },
      )
      .finally(() => {
        pumping = undefined;
        if (pumpAgain && !timers.waiting()) wake(expandAgain);
      });
  };

  return {
    async accept(body) {
      await store.addNotification({ body }, deps.now());
      wake();
    },
    wake,
    async recover() {
      await store.recoverClaims(deps.now());
      const backlog = await store.backlog();
      wake();
      return { received: backlog.received, events: backlog.inbox, replies: backlog.outbox };
    },
    async idle() {
      // Handling an event may store more (a redelivery, another instance's work): idle once a
      // pump has found nothing to expand or claim, and nothing runs.
      for (;;) {
        if (stopped) return;
        await pumping;
        await timers.done();
        await Promise.all(running.values());
        if (pumping || timers.waiting() || running.size > 0) continue;
        if (quiet) return;
        wake();
      }
    },
    async stop() {
      stopped = true;
      timers.cancel();
      await pumping;
      await Promise.all(running.values());
    },
    get running() {
      return running.size;
    },
  };
}
