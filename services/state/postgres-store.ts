// The BotStore on PostgreSQL (node-postgres pool), for several instances on one database: lanes are
// claimed with leases (FOR UPDATE SKIP LOCKED), every write that needs a claim is fenced by its
// owner, expansion and pruning take advisory locks, and LISTEN/NOTIFY wakes idle instances.
// The statements and the two clocks they use are in postgres-sql.ts; expansion in postgres-expand.ts.
import { describeDatabase } from './database-url.ts';
import type pg from 'pg';
import type { PoolClient } from 'pg';
import type { WebhookEvent } from '../events/types.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import type { Logger } from '../logger.ts';
import { LOCK_CLASS, migratePostgres } from './migrations/postgres.ts';
import type { MigrationReport } from './migrations/migration.ts';
import { SchemaVersionError } from './migrations/migration.ts';
import { expandAndClaim, safeText, serialise, storable, storeEventsQuery, timestampOf, type Expansion, type PreparedEvent } from './postgres-expand.ts';
import { startListener, type NotifyHandler, type StopListening } from './postgres-listener.ts';
import { createPostgresPool, openConnections, toNumber } from './postgres-pool.ts';
import * as sql from './postgres-sql.ts';
import { createPipelinedCommit } from './pipelined-commit.ts';
import type { Backlog, BotStore, ClaimCounts, ClaimedLane, EventOutcome, InboxRow, MessageStatus, OutboxRow, Release, SentMessage, UserState } from './store.ts';
import { DEDUP_RETENTION_MS, LEASE_MS, LOST, SENT_RETENTION_MS, reasonOf, replyLane } from './store.ts';

export { EXPAND_LOCK, LANES_CHANNEL, PRUNE_LOCK, WORK_CHANNEL } from './postgres-sql.ts';

export interface PostgresStoreOptions {
  /** postgres:// or postgresql:// (DATABASE_URL); its password never appears in a log line or error. */
  url: string;
  /** Connections at most (DATABASE_POOL_SIZE for the worker; the webhook thread needs two). */
  poolSize: number;
  /** Shown in pg_stat_activity, to tell the instances and threads apart. */
  applicationName: string;
  log: Logger;
  /**
   * The payload of this store's wake-up notifications (hex, e.g. the threaded bot's per-process
   * tag): an instance's worker skips the ones its own process sent, which it hears of already.
   */
  wakeTag?: string;
  /**
   * Open all `poolSize` connections before the store is handed out (the app's threads do), rather
   * than one by one as bursts need them: a connection opened mid-burst holds up the query that
   * waits for it, and the pool keeps every connection it opened (services/state/postgres-pool.ts).
   * Best effort: a connection that cannot be opened now is logged and opened on demand later.
   */
  openAllConnections?: boolean;
}

const WAKE_TAG = /^[0-9a-f]{0,32}$/;

export interface PostgresStore extends BotStore {
  /**
   * LISTENs on `channels` on a connection of its own, reconnecting after errors with backoff;
   * `onNotify` gets the channel and payload (a `wakeTag`) of each notification, and each channel
   * once, without a payload, after a reconnection (notifications sent meanwhile are lost). Resolves with the function that stops it.
   */
  listen(channels: readonly string[], onNotify: NotifyHandler): Promise<StopListening>;
  /** What the migrations did when the store opened. */
  readonly migrations: MigrationReport;
}

/** True for a store opened by createPostgresStore (e.g. by openStoreAsync), which can LISTEN. */
export function isPostgresStore(store: BotStore): store is PostgresStore {
  return typeof (store as Partial<PostgresStore>).listen === 'function';
}

/** Most bodies in one webhook commit (a statement of bounded size). */
const MAX_NOTIFICATION_BATCH = 500;
/**
 * Webhook commits in flight at once. Two keep the webhook from waiting on one round trip; more
 * only split the same load into smaller commits, each with its own WAL flush: at 3,000 bodies/s on
 * a 2-core machine, p99 was 4-7 ms with two and 15-65 ms with ten.
 */
const NOTIFICATION_COMMITS_IN_FLIGHT = 2;

interface InboxRecord {
  id: string;
  lane: string;
  attempts: number;
  received_at: string | null;
  /** The event's JSON, where the statement reads it. */
  event?: string;
}

/** A row of CLAIM_INBOX_WITH_EVENTS: a claimed lane and one of its events (id null: none). */
interface ClaimRecord {
  lane: string;
  since: string;
  taken_over: boolean;
  id: string | null;
  attempts: number | null;
  received_at: string | null;
  event: string | null;
}

interface OutboxRecord {
  id: string;
  lane: string;
  user_key: string | null;
  event_id: string;
  action: string;
  apology: string | null;
  attempts: number;
  next_attempt_at: string;
  /** When the webhook that caused the reply arrived (null for replies stored by older releases). */
  received_at: string | null;
}

interface SentRecord {
  mid: string;
  sent_at: string;
  status: MessageStatus;
  reaction: string | null;
  thanked: boolean;
}

interface FenceResult {
  found: number;
  held: number;
}

/** Opens the pool, applies the migrations the database lacks, and resolves with the store. */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const where = describeDatabase(options.url);
  if (!WAKE_TAG.test(options.wakeTag ?? '')) throw new TypeError('wakeTag: expected up to 32 lower-case hex digits');
  const pool = createPostgresPool({
    url: options.url,
    max: options.poolSize,
    applicationName: options.applicationName,
    onError: (err) => options.log.warn('database: an idle connection failed (it is replaced on demand)', { err, database: where }),
  });
  let migrations: MigrationReport;
  try {
    migrations = await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof SchemaVersionError) throw err;
    throw new Error(`could not open the PostgreSQL database ${where}: ${reasonOf(err)}`, { cause: err });
  }
  if (migrations.applied.length > 0) options.log.info('database: schema upgraded', { database: where, from: migrations.from, to: migrations.to, applied: migrations.applied });
  if (options.openAllConnections) await openConnections(pool, options.poolSize, options.log, where);
  return buildStore(pool, options, migrations);
}

function buildStore(pool: pg.Pool, options: PostgresStoreOptions, migrations: MigrationReport): PostgresStore {
  // Checked against WAKE_TAG when the store opened: safe to put in SQL text.
  const wakeTag = options.wakeTag ?? '';
  const query = async <R extends pg.QueryResultRow>(statement: sql.NamedStatement, values: unknown[]): Promise<R[]> =>
    (await pool.query<R>({ ...statement, values })).rows;
  const one = async <R extends pg.QueryResultRow>(statement: sql.NamedStatement, values: unknown[]): Promise<R> => {
    const [row] = await query<R>(statement, values);
    if (!row) throw new Error(`database: ${statement.name} returned no row`);
    return row;
  };
  /** Runs `work` (which opens a transaction) on a connection of its own; rolls back if it throws. */
  const onConnection = async <T>(work: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (err) {
      // A connection that cannot even roll back is dropped from the pool, never reused.
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))));
      throw err;
    } finally {
      client.release(broken);
    }
  };
  const transaction = <T>(work: (client: PoolClient) => Promise<T>): Promise<T> =>
    onConnection(async (client) => {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    });

  // The webhook's group commit: one statement per batch (INSERT and NOTIFY, committed together).
  // Nothing in a body can make it fail, so a failure (the database) fails the whole batch.
  const addNotification = createPipelinedCommit<{ body: Buffer; now: number }>(
    async (batch) => {
      await pool.query({ ...sql.INSERT_NOTIFICATIONS, values: [batch.map((b) => b.now), batch.map((b) => b.body), wakeTag] });
    },
    { maxInFlight: Math.min(options.poolSize, NOTIFICATION_COMMITS_IN_FLIGHT), maxBatch: MAX_NOTIFICATION_BATCH },
  );

  const listeners = new Set<StopListening>();
  let closed: Promise<void> | undefined;

  const store: PostgresStore = {
    migrations,

    async getUser(key) {
      const [row] = await query<{ state: string }>(sql.GET_USER, [key]);
      return row ? (JSON.parse(row.state) as UserState) : {};
    },
    async putUser(key, state) {
      await pool.query({ ...sql.PUT_USER, values: [storable(key, 'the user key'), JSON.stringify(state)] });
    },
    async recordSent(key, mid, at) {
      await pool.query({ ...sql.RECORD_SENT, values: [storable(key, 'the user key'), storable(mid, 'the message id'), at] });
    },
    async getSent(key, mid) {
      const [row] = await query<SentRecord>(sql.GET_SENT, [key, mid]);
      return row ? toSent(row) : undefined;
    },
    addNotification: ({ body }, now) => addNotification({ body: Buffer.from(body), now }),
    async expandNotifications(maxEvents, expand, now, expandOptions = {}) {
      const { result, claimed, users } = await onConnection((client) =>
        expandAndClaim<ClaimRecord>(client, { maxEvents, expand, now, ifFree: expandOptions.ifFree === true, wakeTag, claim: expandOptions.claim }),
      );
      return claimed === undefined ? result : { ...result, claimed: toClaimedLanes(claimed, users) };
    },
    async addToInbox(events, now) {
      const prepared: PreparedEvent[] = events.map((e, i) => ({
        key: storable(e.key, 'its key'),
        lane: storable(e.lane, 'its lane'),
        ts: timestampOf(e.timestamp),
        event: serialise(e.event),
        receivedAt: null,
        position: e.position ?? i,
      }));
      if (prepared.length === 0) return [];
      const { rows } = await pool.query<{ id: string; lane: string }>(storeEventsQuery(prepared, now));
      return rows.map((r) => ({ id: toNumber(r.id), lane: r.lane, attempts: 0 }));
    },
    async inboxAfter(afterId, limit) {
      return (await query<InboxRecord>(sql.INBOX_AFTER, [afterId, limit])).map(toInboxRow);
    },
    async inboxEvent(id) {
      const [row] = await query<{ event: string }>(sql.INBOX_EVENT, [id]);
      return row ? (JSON.parse(row.event) as WebhookEvent) : undefined;
    },
    async laneEvents(lane, limit) {
      return (await query<InboxRecord>(sql.LANE_EVENTS, [lane, limit])).map(toInboxRow);
    },
    async putProfile(key, profile, lane, owner) {
      const { rowCount } = await pool.query({ ...sql.PUT_PROFILE, values: [storable(key, 'the user key'), JSON.stringify(profile), lane, owner] });
      return rowCount === 0 ? LOST : undefined;
    },
    async countAttempt(id) {
      const [row] = await query<{ attempts: number }>(sql.COUNT_ATTEMPT, [id]);
      return row?.attempts ?? 0;
    },
    async completeEvent(id, outcome, now, owner) {
      const values = completionValues(id, outcome, now, owner);
      const statusUpdates = outcome.userKey === undefined ? [] : outcome.statusUpdates;
      type Completed = { held: number; ids: string[]; held_lanes: string[]; head_lanes: string[]; received_at: string | null };
      // Receipts (deliveries, reads) move statuses in the same transaction; everything else is one statement.
      const row =
        statusUpdates.length === 0
          ? await one<Completed>(sql.COMPLETE_EVENT, values.params)
          : await transaction(async (client) => {
              const completed = (await client.query<Completed>({ ...sql.COMPLETE_EVENT, values: values.params })).rows[0] as Completed;
              if (completed.held === 0) return completed;
              for (const { update, status } of statusUpdates) {
                const from = statusesBelow(status);
                if (from.length > 0) await client.query({ ...sql.ADVANCE_STATUS, values: [outcome.userKey, update.mids ?? [], update.watermark ?? null, status, from] });
              }
              return completed;
            });
      if (row.held === 0) return LOST;
      const replies = row.ids.map((rowId, i) => ({
        id: toNumber(rowId),
        lane: values.lanes[i] as string,
        user_key: outcome.userKey,
        event_id: id,
        action: structuredClone(outcome.actions[i] as OutgoingAction),
        apology: outcome.apology === undefined ? undefined : structuredClone(outcome.apology),
        attempts: 0,
        next_attempt_at: now,
        ...(row.received_at === null ? {} : { received_at: toNumber(row.received_at) }),
      }));
      const heads = row.head_lanes.flatMap((lane) => replies.find((r) => r.lane === lane) ?? []);
      return { replies, held: row.held_lanes, ...(heads.length > 0 ? { heads } : {}) };
    },
    async setAsideEvent(id, reason, now, owner) {
      const row = await one<FenceResult>(sql.SET_ASIDE_EVENT, [id, owner, safeText(reason), now]);
      return row.found > 0 && row.held === 0 ? LOST : undefined;
    },

    async claimInboxLanes(owner, limit, leaseMs, _now, claimOptions = {}) {
      if (claimOptions.withEvents !== undefined && claimOptions.withEvents > 0) {
        return toClaimedLanes(await query<ClaimRecord>(sql.CLAIM_INBOX_WITH_EVENTS, [owner, limit, Math.round(leaseMs), claimOptions.withEvents]));
      }
      const rows = await query<{ lane: string; since: string; taken_over: boolean }>(sql.CLAIM_INBOX, [owner, limit, Math.round(leaseMs)]);
      return rows.sort((a, b) => toNumber(a.since) - toNumber(b.since) || (a.lane < b.lane ? -1 : 1)).map((r) => ({ lane: r.lane, takenOver: r.taken_over }));
    },
    async releaseInboxLane(lane, owner, now, releaseOptions = {}) {
      return releaseOf(await one<ReleaseRow>(sql.RELEASE_INBOX, [lane, owner, now, releaseOptions.requeue === true]), owner);
    },
    async claimOutboxLanes(owner, limit, leaseMs, now) {
      const rows = await query<{ lane: string; since: string }>(sql.CLAIM_OUTBOX, [owner, limit, Math.round(leaseMs), now]);
      return rows.sort((a, b) => toNumber(a.since) - toNumber(b.since) || (a.lane < b.lane ? -1 : 1)).map((r) => r.lane);
    },
    async releaseOutboxLane(lane, owner, now, availableAt) {
      return releaseOf(await one<ReleaseRow>(sql.RELEASE_OUTBOX, [lane, owner, now, availableAt ?? null]), owner);
    },
    async renewClaims(owner, leaseMs) {
      return one<ClaimCounts>(sql.RENEW_CLAIMS, [owner, Math.round(leaseMs)]);
    },
    async releaseClaims(owner) {
      await pool.query({ ...sql.RELEASE_CLAIMS, values: [owner] });
    },
    // Several instances share this database: another owner's claim may be live, and its lease
    // (on the database's clock) says when it is not. Nothing to recover here.
    recoverClaims: () => Promise.resolve(),
    claimsOf: (owner) => one<ClaimCounts>(sql.CLAIMS_OF, [owner]),

    async outboxHead(lane) {
      for (;;) {
        const [row] = await query<OutboxRecord>(sql.OUTBOX_HEAD, [lane]);
        if (!row) return undefined;
        try {
          return toOutboxRow(row);
        } catch (err) {
          // A damaged row is never sendable: give it up with the reason, so the replies behind it go out.
          await pool.query({ ...sql.GIVE_UP_UNREADABLE, values: [row.id, safeText(`unreadable: ${reasonOf(err)}`), Date.now()] });
        }
      }
    },
    async outboxSent(id, sent, now, owner, sentOptions = {}) {
      const row = await one<FenceResult & { released: number }>(sql.OUTBOX_SENT, [id, owner, sent.userKey ?? null, sent.mid ?? null, now, sentOptions.releaseIfEmpty === true]);
      if (row.found > 0 && row.held === 0) return LOST;
      return row.released > 0 ? 'released' : undefined;
    },
    async outboxRetry(id, retry, now, owner) {
      const row = await one<FenceResult>(sql.OUTBOX_RETRY, [id, owner, retry.attempts, retry.nextAttemptAt, safeText(retry.error), now]);
      return row.found > 0 && row.held === 0 ? LOST : undefined;
    },
    outboxFail: (id, failure, now, owner) =>
      transaction(async (client) => {
        const row = (await client.query<OutboxRecord>({ ...sql.OUTBOX_ROW_FOR_UPDATE, values: [id] })).rows[0];
        if (!row) return 0;
        if ((await client.query({ ...sql.HOLD_OUTBOX_LANE, values: [row.lane, owner] })).rowCount === 0) return LOST;
        const rest = failure.dropRest ? (await client.query<{ id: string }>({ ...sql.LATER_REPLIES, values: [row.lane, row.event_id, id] })).rows.map((r) => r.id) : [];
        const reason = safeText(failure.reason);
        await client.query({ ...sql.RECORD_FAILED, values: [[row.id, ...rest], [reason, ...rest.map(() => `skipped after ${reason}`)], now] });
        const apologise = failure.apologise && row.apology !== null;
        if (apologise) await client.query({ ...sql.REPLACE_WITH_APOLOGY, values: [id] });
        const removed = apologise ? rest : [row.id, ...rest];
        if (removed.length > 0) await client.query({ ...sql.DELETE_REPLIES, values: [removed, row.lane] });
        return rest.length;
      }),
    async outboxLanes() {
      return (await query<{ lane: string }>(sql.OUTBOX_LANES, [])).map((r) => r.lane);
    },

    async pauseAccount(account, until, reason) {
      await pool.query({ ...sql.PAUSE_ACCOUNT, values: [storable(account, 'the account'), until, safeText(reason)] });
    },
    async resumeAccount(account) {
      await pool.query({ ...sql.RESUME_ACCOUNT, values: [account] });
    },
    async resumeAccounts() {
      await pool.query({ ...sql.RESUME_ACCOUNTS, values: [] });
    },
    async getToken(account) {
      const [row] = await query<{ token: string; expires_at: string; refreshed_at: string; origin: string }>(sql.GET_TOKEN, [account]);
      return row ? { token: row.token, expires_at: toNumber(row.expires_at), refreshed_at: toNumber(row.refreshed_at), origin: row.origin } : undefined;
    },
    async putToken(account, token) {
      await pool.query({ ...sql.PUT_TOKEN, values: [account, storable(token.token, 'the token'), token.expires_at, token.refreshed_at, token.origin] });
    },
    async pausedAccounts(now) {
      const rows = await query<{ account: string; until: string }>(sql.PAUSED_ACCOUNTS, [now]);
      return new Map(rows.map((r) => [r.account, toNumber(r.until)]));
    },

    backlog: () => one<Backlog>(sql.BACKLOG, []),
    prune: (now) =>
      transaction(async (client) => {
        // One pruner at a time: the others skip this round rather than wait.
        const { rows } = await client.query<{ got: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, ${sql.PRUNE_LOCK}) AS got`);
        if (rows[0]?.got !== true) return;
        await client.query({ ...sql.PRUNE, values: [now - DEDUP_RETENTION_MS, now - SENT_RETENTION_MS, now] });
      }),
    async ping() {
      await pool.query('SELECT 1');
    },
    async listen(channels, onNotify) {
      if (closed) throw new Error('the store is closed');
      const stop = await startListener({ url: options.url, applicationName: `${options.applicationName}:listen`, log: options.log, channels, onNotify });
      const tracked = async (): Promise<void> => {
        listeners.delete(tracked);
        await stop();
      };
      listeners.add(tracked);
      return tracked;
    },
    close: () =>
      (closed ??= (async () => {
        await addNotification.drain();
        await Promise.all([...listeners].map((stop) => stop()));
        await pool.end();
      })()),
  };
  return store;
}

/** The statement's parameters for one completion, and the lane of each reply (in order). */
function completionValues(id: number, outcome: EventOutcome, now: number, owner: string): { params: unknown[]; lanes: string[] } {
  const userKey = outcome.userKey === undefined ? null : storable(outcome.userKey, 'the user key');
  const state = userKey !== null && outcome.user ? JSON.stringify(outcome.user) : null;
  // The last update of a message wins, as if they were applied one after another.
  const updates = new Map<string, { setReaction: boolean; reaction: string | null; thanked: boolean }>();
  for (const u of outcome.sentUpdates) {
    const before = updates.get(u.mid) ?? { setReaction: false, reaction: null, thanked: false };
    updates.set(u.mid, {
      setReaction: before.setReaction || u.reaction !== undefined,
      reaction: u.reaction !== undefined ? u.reaction : before.reaction,
      thanked: before.thanked || u.thanked === true,
    });
  }
  const lanes = outcome.actions.map((action) => storable(replyLane(outcome.userKey, action), 'the reply lane'));
  const mids = [...updates.keys()];
  const params = [
    id,
    owner,
    userKey,
    state,
    now,
    mids,
    mids.map((m) => updates.get(m)?.setReaction ?? false),
    mids.map((m) => updates.get(m)?.reaction ?? null),
    mids.map((m) => updates.get(m)?.thanked ?? false),
    lanes,
    outcome.actions.map((a) => JSON.stringify(a)),
    outcome.apology === undefined ? null : JSON.stringify(outcome.apology),
    LEASE_MS,
  ];
  return { params, lanes };
}

interface ReleaseRow {
  released: number;
  owner: string | null;
}

/** Given back; or still ours with work waiting; or not ours (any more). */
function releaseOf(row: ReleaseRow, owner: string): Release {
  if (row.released > 0) return 'released';
  return row.owner === owner ? 'busy' : LOST;
}

/** The statuses a message may advance from to reach `status`. */
function statusesBelow(status: MessageStatus): MessageStatus[] {
  if (status === 'read') return ['sent', 'delivered'];
  if (status === 'delivered') return ['sent'];
  return [];
}

function toInboxRow(row: InboxRecord): InboxRow {
  const event = row.event === undefined ? undefined : parseEvent(row.event);
  return { id: toNumber(row.id), lane: row.lane, attempts: row.attempts, received_at: row.received_at === null ? undefined : toNumber(row.received_at), ...(event ? { event } : {}) };
}

/** The stored event, or undefined when it cannot be read (the inbox reads it again, and fails there, with the reason). */
function parseEvent(text: string): WebhookEvent | undefined {
  try {
    return JSON.parse(text) as WebhookEvent;
  } catch {
    return undefined;
  }
}

/**
 * Claimed lanes in the statement's order (longest waiting first), each with the events read with
 * it; with `users` (read after the claim), the first row of each lane they cover carries its user.
 */
function toClaimedLanes(records: readonly ClaimRecord[], users?: Expansion<ClaimRecord>['users']): ClaimedLane[] {
  const lanes = new Map<string, ClaimedLane & { rows: InboxRow[] }>();
  for (const r of records) {
    let lane = lanes.get(r.lane);
    if (!lane) lanes.set(r.lane, (lane = { lane: r.lane, takenOver: r.taken_over, rows: [] }));
    if (r.id !== null) lane.rows.push(toInboxRow({ id: r.id, lane: r.lane, attempts: r.attempts ?? 0, received_at: r.received_at, ...(r.event === null ? {} : { event: r.event }) }));
  }
  const states = new Map(users?.rows.map((u) => [u.key, u.state]));
  for (const key of users?.lanes ?? []) {
    const first = lanes.get(key)?.rows[0];
    const user = first && parseUser(states.get(key));
    if (first && user) first.user = user;
  }
  return [...lanes.values()];
}

/** A user's stored state (none stored: `{}`), or undefined when it cannot be read (the handler's own read fails then, with the reason). */
function parseUser(text: string | undefined): UserState | undefined {
  if (text === undefined) return {};
  try {
    const state: unknown = JSON.parse(text);
    return typeof state === 'object' && state !== null && !Array.isArray(state) ? state : undefined;
  } catch {
    return undefined;
  }
}

function toSent(row: SentRecord): SentMessage {
  return { mid: row.mid, sent_at: toNumber(row.sent_at), status: row.status, thanked: row.thanked, ...(row.reaction === null ? {} : { reaction: row.reaction }) };
}

/** Throws when the stored action cannot be read (the caller gives the row up). */
function toOutboxRow(row: OutboxRecord): OutboxRow {
  return {
    id: toNumber(row.id),
    lane: row.lane,
    user_key: row.user_key ?? undefined,
    event_id: toNumber(row.event_id),
    action: JSON.parse(row.action) as OutgoingAction,
    apology: row.apology === null ? undefined : (JSON.parse(row.apology) as OutgoingAction),
    attempts: row.attempts,
    next_attempt_at: toNumber(row.next_attempt_at),
    ...(row.received_at === null ? {} : { received_at: toNumber(row.received_at) }),
  };
}
