// The PostgreSQL store's statements, each a named prepared statement (parsed once per connection).
// Most writes are one statement: data-modifying CTEs run in one snapshot and commit together, so
// a fenced write costs one round trip and holds its row locks only for that statement.
//
// Two clocks, on purpose:
// - Leases (`lease_until`) are set and compared on the database's clock (DB_NOW), never an
//   instance's: instances' clocks may disagree by more than a lease is long, the database has one.
// - Data times (received_at, seen_at, sent_at, failed_at, since) and due times (`available_at`,
//   next_attempt_at, account pauses) are the `now` the caller passes, as in every other store:
//   they are compared with other instance-clock times, and a retry taken a clock skew early is
//   harmless, whereas a lease taken early would let two instances hold one lane.
//
// Lock order, so that statements never deadlock: an inbox or outbox row before its lane's row;
// several lanes in lane order (renew, release, the lanes an expansion or a completion touches).
// Claims and the pruner skip locked rows instead of waiting for them.

/** The database's clock in ms since the epoch (clock_timestamp: the time of the call, not the transaction's start). */
export const DB_NOW = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

export interface NamedStatement {
  name: string;
  text: string;
}

const statement = (name: string, text: string): NamedStatement => ({ name: `bot_${name}`, text });

/** Second keys of the store's advisory locks (the first is LOCK_CLASS; 1 is the migrations'). */
export const EXPAND_LOCK = 2;
export const PRUNE_LOCK = 3;

/** What the webhook's commit and the expander's notify: workers LISTEN to both. */
export const WORK_CHANNEL = 'bot_work';
export const LANES_CHANNEL = 'bot_lanes';

/** $1 received_at[], $2 body[], $3 wake tag: the webhook's group commit, with its wake-up in the same transaction. */
export const INSERT_NOTIFICATIONS = statement(
  'insert_notifications',
  `WITH stored AS (INSERT INTO notifications (received_at, body) SELECT * FROM unnest($1::bigint[], $2::bytea[]) RETURNING 1)
   SELECT (SELECT count(*) FROM stored)::int AS stored, pg_notify('bot_work', $3)`,
);

/** $1 after id, $2 limit. */
export const NOTIFICATIONS_AFTER = statement('notifications_after', 'SELECT id, received_at, body FROM notifications WHERE id > $1 ORDER BY id LIMIT $2');

/** The CTEs that store events ($1 key[], $2 lane[], $3 ts[], $4 event[], $5 received_at[], $6 now); `stored` holds the rows. */
const STORE_CTES = `input AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) WITH ORDINALITY AS t(key, lane, ts, event, received_at, ord)
   ),
   firsts AS (SELECT DISTINCT ON (key) * FROM input ORDER BY key, ord),
   fresh AS (INSERT INTO dedup (key, seen_at) SELECT key, $6::bigint FROM firsts ON CONFLICT (key) DO NOTHING RETURNING key),
   stored AS (
     INSERT INTO inbox (lane, ts, event, received_at)
     SELECT f.lane, f.ts, f.event, f.received_at FROM firsts f JOIN fresh USING (key) ORDER BY f.ord
     RETURNING id, lane
   ),
   lanes AS (
     INSERT INTO inbox_lanes AS l (lane, pending, since)
     SELECT lane, count(*), $6::bigint FROM stored GROUP BY lane ORDER BY lane
     ON CONFLICT (lane) DO UPDATE SET pending = l.pending + excluded.pending, since = CASE WHEN l.pending = 0 THEN excluded.since ELSE l.since END
   )`;

/** The CTEs that finish taken bodies: those named set aside with their reasons, every one taken deleted. */
const finishCtes = (p: { ids: string; reasons: string; now: string; taken: string }): string => `aside AS (
     INSERT INTO unreadable_notifications AS u (id, received_at, body, reason, failed_at)
     SELECT n.id, n.received_at, n.body, a.reason, ${p.now}::bigint FROM notifications n JOIN unnest(${p.ids}::bigint[], ${p.reasons}::text[]) AS a(id, reason) ON a.id = n.id
     ON CONFLICT (id) DO UPDATE SET received_at = excluded.received_at, body = excluded.body, reason = excluded.reason, failed_at = excluded.failed_at
   ),
   finished AS (DELETE FROM notifications WHERE id = ANY(${p.taken}::bigint[]))`;

/**
 * $1 key[], $2 lane[], $3 ts[], $4 event[], $5 received_at[] (in inbox order), $6 now. Keys seen
 * before are dropped (the first of equal keys wins), the rest are stored in order and counted in
 * their lanes. Returns the stored rows.
 */
export const STORE_EVENTS = statement('store_events', `WITH ${STORE_CTES}\n   SELECT id, lane FROM stored ORDER BY id`);

/**
 * The expansion's fast path, STORE_EVENTS and FINISH_NOTIFICATIONS in one statement: $1–$6 as
 * STORE_EVENTS, $7 ids of the bodies to set aside, $8 their reasons, $9 every body id taken.
 */
export const STORE_AND_FINISH = statement(
  'store_and_finish',
  `WITH ${STORE_CTES},\n   ${finishCtes({ ids: '$7', reasons: '$8', now: '$6', taken: '$9' })}\n   SELECT id, lane FROM stored ORDER BY id`,
);

/** $1 ids to set aside, $2 their reasons, $3 now, $4 every id taken: moves and deletes in one go. */
export const FINISH_NOTIFICATIONS = statement('finish_notifications', `WITH ${finishCtes({ ids: '$1', reasons: '$2', now: '$3', taken: '$4' })}\n   SELECT 1`);

export const INBOX_AFTER = statement('inbox_after', 'SELECT id, lane, attempts, received_at FROM inbox WHERE id > $1 ORDER BY id LIMIT $2');
export const INBOX_EVENT = statement('inbox_event', 'SELECT event FROM inbox WHERE id = $1');
/** With the events (see InboxRow.event): one round trip per batch, not one per event. */
export const LANE_EVENTS = statement('lane_events', 'SELECT id, lane, attempts, received_at, event FROM inbox WHERE lane = $1 ORDER BY id LIMIT $2');
export const COUNT_ATTEMPT = statement('count_attempt', 'UPDATE inbox SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts');

/**
 * $1 event id, $2 owner, $3 user key, $4 user state (null: not saved), $5 now, $6 mid[],
 * $7 set_reaction[], $8 reaction[], $9 thanked[], $10 reply lane[], $11 action[], $12 apology,
 * $13 lease ms. Fenced: nothing changes unless `owner` holds the event's lane (`held` = 0 then).
 * The event row is locked first, so a second completion of the same event finds it gone.
 * `held_lanes`: the reply lanes `owner` holds afterwards (it took those nobody held); `head_lanes`:
 * those of them where nothing else waits (the lane's count, read under its row lock, is this
 * event's replies alone), so the first of these replies is the lane's next.
 */
export const COMPLETE_EVENT = statement(
  'complete_event',
  `WITH ev AS (SELECT id, lane, received_at FROM inbox WHERE id = $1 FOR UPDATE),
   fence AS (UPDATE inbox_lanes l SET pending = greatest(l.pending - 1, 0) FROM ev WHERE l.lane = ev.lane AND l.owner = $2 RETURNING l.lane),
   removed AS (DELETE FROM inbox WHERE id = $1 AND EXISTS (SELECT 1 FROM fence)),
   saved AS (
     INSERT INTO users (key, state) SELECT $3::text, $4::text WHERE $4::text IS NOT NULL AND EXISTS (SELECT 1 FROM fence)
     ON CONFLICT (key) DO UPDATE SET state = excluded.state
   ),
   touched AS (
     UPDATE sent_messages s
     SET reaction = CASE WHEN u.set_reaction THEN u.reaction ELSE s.reaction END, thanked = s.thanked OR u.thanked
     FROM unnest($6::text[], $7::boolean[], $8::text[], $9::boolean[]) AS u(mid, set_reaction, reaction, thanked)
     WHERE s.user_key = $3::text AND s.mid = u.mid AND EXISTS (SELECT 1 FROM fence)
   ),
   queued AS (
     INSERT INTO outbox (lane, user_key, event_id, action, apology, next_attempt_at, received_at)
     SELECT a.lane, $3::text, $1::bigint, a.action, $12::text, $5::bigint, (SELECT received_at FROM ev) FROM unnest($10::text[], $11::text[]) WITH ORDINALITY AS a(lane, action, ord)
     WHERE EXISTS (SELECT 1 FROM fence) ORDER BY a.ord
     RETURNING id, lane
   ),
   lanes AS (
     INSERT INTO outbox_lanes AS o (lane, pending, since, owner, lease_until)
     SELECT lane, count(*), $5::bigint, $2::text, ${DB_NOW} + $13::bigint FROM queued GROUP BY lane ORDER BY lane
     ON CONFLICT (lane) DO UPDATE SET
       pending = o.pending + excluded.pending,
       since = CASE WHEN o.pending = 0 THEN excluded.since ELSE o.since END,
       owner = CASE WHEN o.owner IS NULL OR o.lease_until < ${DB_NOW} THEN excluded.owner ELSE o.owner END,
       lease_until = CASE WHEN o.owner IS NULL OR o.lease_until < ${DB_NOW} THEN excluded.lease_until ELSE o.lease_until END
     RETURNING o.lane, o.owner, o.pending
   )
   SELECT (SELECT count(*) FROM fence)::int AS held, coalesce((SELECT array_agg(id ORDER BY id) FROM queued), '{}') AS ids,
     coalesce((SELECT array_agg(lane ORDER BY lane) FROM lanes WHERE owner = $2::text), '{}') AS held_lanes,
     coalesce((SELECT array_agg(l.lane ORDER BY l.lane) FROM lanes l JOIN (SELECT lane, count(*) AS n FROM queued GROUP BY lane) q USING (lane)
       WHERE l.owner = $2::text AND l.pending = q.n), '{}') AS head_lanes,
     (SELECT received_at FROM ev) AS received_at`,
);

/** $1 event id, $2 owner, $3 reason, $4 now. `found` 0: the event is gone; `held` 0: the claim was lost. */
export const SET_ASIDE_EVENT = statement(
  'set_aside_event',
  `WITH ev AS (SELECT * FROM inbox WHERE id = $1 FOR UPDATE),
   fence AS (UPDATE inbox_lanes l SET pending = greatest(l.pending - 1, 0) FROM ev WHERE l.lane = ev.lane AND l.owner = $2 RETURNING l.lane),
   kept AS (
     INSERT INTO failed_events (id, lane, ts, event, attempts, reason, failed_at)
     SELECT id, lane, ts, event, attempts, $3::text, $4::bigint FROM ev WHERE EXISTS (SELECT 1 FROM fence)
     ON CONFLICT (id) DO UPDATE SET lane = excluded.lane, ts = excluded.ts, event = excluded.event, attempts = excluded.attempts, reason = excluded.reason, failed_at = excluded.failed_at
   ),
   removed AS (DELETE FROM inbox WHERE id = $1 AND EXISTS (SELECT 1 FROM fence))
   SELECT (SELECT count(*) FROM ev)::int AS found, (SELECT count(*) FROM fence)::int AS held`,
);

/** The lanes a claim takes, and the UPDATE that takes them (RETURNING lane, since, taken_over). */
const freeLanes = (table: 'inbox_lanes' | 'outbox_lanes', due: string): string =>
  `SELECT l.lane, l.owner FROM ${table} l
     WHERE l.pending > 0 ${due} AND (l.owner IS NULL OR l.lease_until < ${DB_NOW})
     ORDER BY l.since, l.lane LIMIT $2 FOR UPDATE OF l SKIP LOCKED`;
const takeLanes = (table: 'inbox_lanes' | 'outbox_lanes'): string =>
  `UPDATE ${table} l SET owner = $1, lease_until = ${DB_NOW} + $3::bigint FROM free WHERE l.lane = free.lane
   RETURNING l.lane, l.since, free.owner IS NOT NULL AS taken_over`;
const claim = (table: 'inbox_lanes' | 'outbox_lanes', due: string): string => `WITH free AS (${freeLanes(table, due)})
   ${takeLanes(table)}`;

/** $1 owner, $2 limit, $3 lease ms. */
export const CLAIM_INBOX = statement('claim_inbox', claim('inbox_lanes', ''));
/**
 * $1 owner, $2 limit, $3 lease ms, $4 events per lane: the claim, and each claimed lane's first
 * events with their bodies (one row per event; a lane without any comes once, with a null id).
 * The events are read in the claim's snapshot: one stored since is found by the next read, or
 * makes giving the lane back refuse (its `pending` counts it).
 */
export const CLAIM_INBOX_WITH_EVENTS = statement(
  'claim_inbox_with_events',
  `WITH free AS (${freeLanes('inbox_lanes', '')}),
   c AS (${takeLanes('inbox_lanes')})
   SELECT c.lane, c.since, c.taken_over, e.id, e.attempts, e.received_at, e.event
   FROM c LEFT JOIN LATERAL (SELECT id, attempts, received_at, event FROM inbox i WHERE i.lane = c.lane ORDER BY id LIMIT $4) e ON true
   ORDER BY c.since, c.lane, e.id`,
);
/** $1 owner, $2 limit, $3 lease ms, $4 now (replies due by then). */
export const CLAIM_OUTBOX = statement('claim_outbox', claim('outbox_lanes', 'AND l.available_at <= $4'));

/** $1 lane, $2 owner, $3 now, $4 requeue: back of the line when events still wait. */
export const RELEASE_INBOX = statement(
  'release_inbox',
  `WITH l AS (SELECT lane, owner, pending FROM inbox_lanes WHERE lane = $1 FOR UPDATE),
   r AS (UPDATE inbox_lanes x SET owner = NULL, lease_until = 0, since = CASE WHEN l.pending > 0 THEN $3::bigint ELSE x.since END
         FROM l WHERE x.lane = l.lane AND l.owner = $2 AND (l.pending = 0 OR $4::boolean) RETURNING x.lane)
   SELECT (SELECT count(*) FROM r)::int AS released, (SELECT owner FROM l) AS owner`,
);

/** $1 lane, $2 owner, $3 now, $4 available at (null: only when empty). */
export const RELEASE_OUTBOX = statement(
  'release_outbox',
  `WITH l AS (SELECT lane, owner, pending FROM outbox_lanes WHERE lane = $1 FOR UPDATE),
   r AS (UPDATE outbox_lanes x SET owner = NULL, lease_until = 0,
           since = CASE WHEN l.pending > 0 THEN $3::bigint ELSE x.since END,
           available_at = CASE WHEN l.pending > 0 THEN $4::bigint ELSE 0 END
         FROM l WHERE x.lane = l.lane AND l.owner = $2 AND (l.pending = 0 OR $4::bigint IS NOT NULL) RETURNING x.lane)
   SELECT (SELECT count(*) FROM r)::int AS released, (SELECT owner FROM l) AS owner`,
);

const ownLanes = (table: string): string => `SELECT lane FROM ${table} WHERE owner = $1 ORDER BY lane FOR UPDATE`;

/** $1 owner, $2 lease ms. */
export const RENEW_CLAIMS = statement(
  'renew_claims',
  `WITH i AS (UPDATE inbox_lanes SET lease_until = ${DB_NOW} + $2::bigint WHERE lane IN (${ownLanes('inbox_lanes')}) AND owner = $1 RETURNING 1),
   o AS (UPDATE outbox_lanes SET lease_until = ${DB_NOW} + $2::bigint WHERE lane IN (${ownLanes('outbox_lanes')}) AND owner = $1 RETURNING 1)
   SELECT (SELECT count(*) FROM i)::int AS inbox, (SELECT count(*) FROM o)::int AS outbox`,
);

/** $1 owner. */
export const RELEASE_CLAIMS = statement(
  'release_claims',
  `WITH i AS (UPDATE inbox_lanes SET owner = NULL, lease_until = 0 WHERE lane IN (${ownLanes('inbox_lanes')}) AND owner = $1 RETURNING 1),
   o AS (UPDATE outbox_lanes SET owner = NULL, lease_until = 0 WHERE lane IN (${ownLanes('outbox_lanes')}) AND owner = $1 RETURNING 1)
   SELECT (SELECT count(*) FROM i)::int AS inbox, (SELECT count(*) FROM o)::int AS outbox`,
);

/** $1 owner. */
export const CLAIMS_OF = statement(
  'claims_of',
  `SELECT (SELECT count(*) FROM inbox_lanes WHERE owner = $1)::int AS inbox, (SELECT count(*) FROM outbox_lanes WHERE owner = $1)::int AS outbox`,
);

export const OUTBOX_HEAD = statement('outbox_head', 'SELECT * FROM outbox WHERE lane = $1 ORDER BY id LIMIT 1');
export const OUTBOX_LANES = statement('outbox_lanes', 'SELECT DISTINCT lane FROM outbox');

/** $1 reply id, $2 reason, $3 now: a reply that cannot be read is given up (any instance may, it is never sendable). */
export const GIVE_UP_UNREADABLE = statement(
  'give_up_unreadable',
  `WITH gone AS (DELETE FROM outbox WHERE id = $1 RETURNING id, lane, user_key, action),
   failed AS (
     INSERT INTO failed_sends (id, lane, user_key, action, reason, failed_at) SELECT id, lane, user_key, action, $2::text, $3::bigint FROM gone
     ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, failed_at = excluded.failed_at
   ),
   counted AS (UPDATE outbox_lanes l SET pending = greatest(l.pending - 1, 0) FROM gone WHERE l.lane = gone.lane)
   SELECT count(*)::int AS removed FROM gone`,
);

/**
 * $1 reply id, $2 owner, $3 user key, $4 mid, $5 now, $6 release the lane if this was its last
 * reply (as RELEASE_OUTBOX does; `released` 1 then). A reply already gone still records the mid
 * (the send happened).
 */
export const OUTBOX_SENT = statement(
  'outbox_sent',
  `WITH r AS (SELECT id, lane FROM outbox WHERE id = $1 FOR UPDATE),
   fence AS (
     UPDATE outbox_lanes l SET pending = greatest(l.pending - 1, 0),
       owner = CASE WHEN $6::boolean AND l.pending <= 1 THEN NULL ELSE l.owner END,
       lease_until = CASE WHEN $6::boolean AND l.pending <= 1 THEN 0 ELSE l.lease_until END,
       available_at = CASE WHEN $6::boolean AND l.pending <= 1 THEN 0 ELSE l.available_at END
     FROM r WHERE l.lane = r.lane AND l.owner = $2 RETURNING l.lane, l.owner IS NULL AS released
   ),
   removed AS (DELETE FROM outbox WHERE id = $1 AND EXISTS (SELECT 1 FROM fence)),
   recorded AS (
     INSERT INTO sent_messages (user_key, mid, sent_at, status)
     SELECT $3::text, $4::text, $5::bigint, 'sent' WHERE $3::text IS NOT NULL AND $4::text IS NOT NULL AND (EXISTS (SELECT 1 FROM fence) OR NOT EXISTS (SELECT 1 FROM r))
     ON CONFLICT DO NOTHING
   )
   SELECT (SELECT count(*) FROM r)::int AS found, (SELECT count(*) FROM fence)::int AS held, (SELECT count(*) FROM fence WHERE released)::int AS released`,
);

/** $1 reply id, $2 owner, $3 attempts, $4 next attempt at, $5 error, $6 now: reschedules and gives the lane back until then. */
export const OUTBOX_RETRY = statement(
  'outbox_retry',
  `WITH r AS (SELECT id, lane FROM outbox WHERE id = $1 FOR UPDATE),
   fence AS (
     UPDATE outbox_lanes l SET owner = NULL, lease_until = 0, since = $6, available_at = $4
     FROM r WHERE l.lane = r.lane AND l.owner = $2 RETURNING l.lane
   ),
   updated AS (UPDATE outbox SET attempts = $3, next_attempt_at = $4, last_error = $5 WHERE id = $1 AND EXISTS (SELECT 1 FROM fence))
   SELECT (SELECT count(*) FROM r)::int AS found, (SELECT count(*) FROM fence)::int AS held`,
);

// outboxFail runs these in one transaction: rare, and clearer as steps.
/** $1 reply id. */
export const OUTBOX_ROW_FOR_UPDATE = statement('outbox_row_for_update', 'SELECT * FROM outbox WHERE id = $1 FOR UPDATE');
/** $1 lane, $2 owner: locks the lane row if `owner` holds it. */
export const HOLD_OUTBOX_LANE = statement('hold_outbox_lane', 'SELECT lane FROM outbox_lanes WHERE lane = $1 AND owner = $2 FOR UPDATE');
/** $1 lane, $2 event id, $3 reply id: the event's later replies in the lane. */
export const LATER_REPLIES = statement('later_replies', 'SELECT id FROM outbox WHERE lane = $1 AND event_id = $2 AND id <> $3 ORDER BY id FOR UPDATE');
/** $1 reply ids, $2 reasons (one each), $3 now. */
export const RECORD_FAILED = statement(
  'record_failed',
  `INSERT INTO failed_sends (id, lane, user_key, action, reason, failed_at)
   SELECT o.id, o.lane, o.user_key, o.action, f.reason, $3::bigint FROM outbox o JOIN unnest($1::bigint[], $2::text[]) AS f(id, reason) ON f.id = o.id
   ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, failed_at = excluded.failed_at`,
);
/** $1 reply ids, $2 lane. */
export const DELETE_REPLIES = statement(
  'delete_replies',
  `WITH gone AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) RETURNING 1)
   UPDATE outbox_lanes SET pending = greatest(pending - (SELECT count(*) FROM gone), 0) WHERE lane = $2`,
);
export const REPLACE_WITH_APOLOGY = statement(
  'replace_with_apology',
  'UPDATE outbox SET action = apology, apology = NULL, attempts = 0, last_error = NULL WHERE id = $1',
);

export const GET_USER = statement('get_user', 'SELECT state FROM users WHERE key = $1');
/**
 * $1 key, $2 profile (JSON), $3 lane, $4 owner: the profile in the user's state while $4 holds the
 * inbox lane $3 (locked for the statement: a lane before a user, as a completion takes them).
 * No row when the lane is not held.
 */
export const PUT_PROFILE = statement(
  'put_profile',
  `WITH fence AS (SELECT 1 FROM inbox_lanes WHERE lane = $3 AND owner = $4 FOR SHARE)
   INSERT INTO users AS u (key, state) SELECT $1::text, jsonb_build_object('profile', $2::jsonb)::text FROM fence
   ON CONFLICT (key) DO UPDATE SET state = (u.state::jsonb || jsonb_build_object('profile', $2::jsonb))::text
   RETURNING 1 AS ok`,
);
export const PUT_USER = statement('put_user', 'INSERT INTO users (key, state) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET state = excluded.state');
export const RECORD_SENT = statement('record_sent', "INSERT INTO sent_messages (user_key, mid, sent_at, status) VALUES ($1, $2, $3, 'sent') ON CONFLICT DO NOTHING");
export const GET_SENT = statement('get_sent', 'SELECT mid, sent_at, status, reaction, thanked FROM sent_messages WHERE user_key = $1 AND mid = $2');
/** $1 user key, $2 mids, $3 watermark (null: none), $4 new status, $5 the statuses it may advance from. */
export const ADVANCE_STATUS = statement(
  'advance_status',
  `UPDATE sent_messages SET status = $4 WHERE user_key = $1 AND (mid = ANY($2::text[]) OR sent_at <= $3::bigint) AND status = ANY($5::text[])`,
);

export const PAUSE_ACCOUNT = statement(
  'pause_account',
  'INSERT INTO account_pauses (account, until, reason) VALUES ($1, $2, $3) ON CONFLICT (account) DO UPDATE SET until = excluded.until, reason = excluded.reason',
);
export const RESUME_ACCOUNT = statement('resume_account', 'DELETE FROM account_pauses WHERE account = $1');
/** Every pause lifted, every reply lane claimable now (the sender puts off again what is not yet due). */
export const RESUME_ACCOUNTS = statement(
  'resume_accounts',
  `WITH lifted AS (DELETE FROM account_pauses)
   UPDATE outbox_lanes SET available_at = 0 WHERE lane IN (SELECT lane FROM outbox_lanes WHERE available_at > 0 ORDER BY lane FOR UPDATE)`,
);
export const PAUSED_ACCOUNTS = statement('paused_accounts', 'SELECT account, until FROM account_pauses WHERE until > $1');

export const BACKLOG = statement(
  'backlog',
  `SELECT (SELECT count(*) FROM notifications)::int AS received, (SELECT count(*) FROM inbox)::int AS inbox,
     (SELECT count(*) FROM outbox)::int AS outbox, (SELECT count(*) FROM failed_sends)::int AS failed,
     (SELECT count(*) FROM unreadable_notifications)::int AS unreadable, (SELECT count(*) FROM failed_events)::int AS failed_events`,
);

/** $1 dedup cut-off, $2 sent cut-off, $3 now. Idle lanes are skipped while locked (an expansion is filling them). */
export const PRUNE = statement(
  'prune',
  `WITH keys AS (DELETE FROM dedup WHERE seen_at < $1),
   sent AS (DELETE FROM sent_messages WHERE sent_at < $2),
   idle_in AS (DELETE FROM inbox_lanes WHERE lane IN (SELECT lane FROM inbox_lanes WHERE pending = 0 AND owner IS NULL ORDER BY lane FOR UPDATE SKIP LOCKED) AND pending = 0 AND owner IS NULL),
   idle_out AS (DELETE FROM outbox_lanes WHERE lane IN (SELECT lane FROM outbox_lanes WHERE pending = 0 AND owner IS NULL ORDER BY lane FOR UPDATE SKIP LOCKED) AND pending = 0 AND owner IS NULL),
   grants AS (DELETE FROM send_grants WHERE until_ms <= ${DB_NOW}),
   pauses AS (DELETE FROM account_pauses WHERE until <= $3)
   SELECT 1`,
);

export const GET_TOKEN = statement('get_token', 'SELECT token, expires_at, refreshed_at, origin FROM account_tokens WHERE account = $1');
export const PUT_TOKEN = statement(
  'put_token',
  `INSERT INTO account_tokens (account, token, expires_at, refreshed_at, origin) VALUES ($1, $2, $3, $4, $5)
   ON CONFLICT (account) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, origin = excluded.origin`,
);
