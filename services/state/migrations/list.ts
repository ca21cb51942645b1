// The schema, as the numbered steps that build it. Append new steps; never edit a released one
// (a database that already ran it would not run it again). SQLite and PostgreSQL get the same
// tables: ids are SQLite rowids / PostgreSQL identities, times are milliseconds since the epoch,
// events and actions are JSON text (kept byte for byte; JSONB would reject some of what Meta sends).
import { SEND_GRANTS_POSTGRES_DDL, SEND_GRANTS_TAKE_FUNCTION_DDL } from '../../outbox/pg-rate-gate.ts';
import type { Migration } from './migration.ts';

const V1_SQLITE = `
CREATE TABLE IF NOT EXISTS dedup (key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_seen ON dedup(seen_at);
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS unreadable_notifications (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL, reason TEXT NOT NULL, failed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, ts INTEGER NOT NULL, event TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, user_key TEXT, event_id INTEGER NOT NULL,
  action TEXT NOT NULL, apology TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
  last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox(lane, id);
CREATE TABLE IF NOT EXISTS failed_sends (id INTEGER PRIMARY KEY, lane TEXT NOT NULL, user_key TEXT, action TEXT NOT NULL, reason TEXT NOT NULL, failed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sent_messages (
  user_key TEXT NOT NULL, mid TEXT NOT NULL, sent_at INTEGER NOT NULL, status TEXT NOT NULL,
  reaction TEXT, thanked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_key, mid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sent_by_time ON sent_messages(sent_at);
`;

const V1_POSTGRES = `
CREATE TABLE dedup (key TEXT PRIMARY KEY, seen_at BIGINT NOT NULL);
CREATE INDEX dedup_seen ON dedup(seen_at);
CREATE TABLE notifications (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, received_at BIGINT NOT NULL, body BYTEA NOT NULL);
CREATE TABLE unreadable_notifications (id BIGINT PRIMARY KEY, received_at BIGINT NOT NULL, body BYTEA NOT NULL, reason TEXT NOT NULL, failed_at BIGINT NOT NULL);
CREATE TABLE inbox (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, lane TEXT NOT NULL, ts BIGINT NOT NULL, event TEXT NOT NULL);
CREATE TABLE outbox (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, lane TEXT NOT NULL, user_key TEXT, event_id BIGINT NOT NULL,
  action TEXT NOT NULL, apology TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL,
  last_error TEXT);
CREATE INDEX outbox_lane ON outbox(lane, id);
CREATE TABLE failed_sends (id BIGINT PRIMARY KEY, lane TEXT NOT NULL, user_key TEXT, action TEXT NOT NULL, reason TEXT NOT NULL, failed_at BIGINT NOT NULL);
CREATE TABLE users (key TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE sent_messages (
  user_key TEXT NOT NULL, mid TEXT NOT NULL, sent_at BIGINT NOT NULL, status TEXT NOT NULL,
  reaction TEXT, thanked BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (user_key, mid));
CREATE INDEX sent_by_time ON sent_messages(sent_at);
`;

// Version 2: events that keep failing are set aside (attempts counted across crashes); lanes are
// claimed with leases so several instances share the work (inbox_lanes, outbox_lanes: each lane's
// waiting count, holder and lease); an invalid token pauses its account for every instance; an
// Instagram token refreshed by the bot is kept; each event keeps when its notification arrived.
// Lanes are filled in from what waits in the inbox and the outbox when the step runs.
const V2_COMMON = (bigint: string) => `
CREATE INDEX inbox_lane ON inbox(lane, id);
CREATE TABLE failed_events (id ${bigint} PRIMARY KEY, lane TEXT NOT NULL, ts ${bigint} NOT NULL, event TEXT NOT NULL, attempts INTEGER NOT NULL, reason TEXT NOT NULL, failed_at ${bigint} NOT NULL);
CREATE TABLE inbox_lanes (lane TEXT PRIMARY KEY, owner TEXT, lease_until ${bigint} NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0, since ${bigint} NOT NULL DEFAULT 0);
CREATE INDEX inbox_lanes_waiting ON inbox_lanes(since) WHERE pending > 0;
CREATE INDEX inbox_lanes_owner ON inbox_lanes(owner) WHERE owner IS NOT NULL;
CREATE TABLE outbox_lanes (lane TEXT PRIMARY KEY, owner TEXT, lease_until ${bigint} NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0, since ${bigint} NOT NULL DEFAULT 0, available_at ${bigint} NOT NULL DEFAULT 0);
CREATE INDEX outbox_lanes_waiting ON outbox_lanes(available_at, since) WHERE pending > 0;
CREATE INDEX outbox_lanes_owner ON outbox_lanes(owner) WHERE owner IS NOT NULL;
INSERT INTO inbox_lanes (lane, pending, since) SELECT lane, count(*), min(id) FROM inbox GROUP BY lane;
INSERT INTO outbox_lanes (lane, pending, since, available_at) SELECT lane, count(*), min(id), min(next_attempt_at) FROM outbox GROUP BY lane;
CREATE TABLE account_pauses (account TEXT PRIMARY KEY, until ${bigint} NOT NULL, reason TEXT NOT NULL);
CREATE TABLE account_tokens (account TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at ${bigint} NOT NULL, refreshed_at ${bigint} NOT NULL, origin TEXT NOT NULL);
`;

const V2_SQLITE = `
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN received_at INTEGER;
ALTER TABLE outbox ADD COLUMN received_at INTEGER;
${V2_COMMON('INTEGER')}`;

const V2_POSTGRES = `
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN received_at BIGINT;
ALTER TABLE outbox ADD COLUMN received_at BIGINT;
${V2_COMMON('BIGINT')}
${SEND_GRANTS_POSTGRES_DDL}`;

// Version 3: PostgreSQL's rate gate takes its grants through a function (planned once per
// connection, where the statement written out was planned for every send). SQLite has no shared
// rate gate: nothing changes there.
const V3_SQLITE = `-- nothing to change`;

export const MIGRATIONS: readonly Migration[] = [
  // The schema of the first releases, which had no migrations table: CREATE … IF NOT EXISTS in
  // SQLite, so a database they made is adopted as version 1 as it is (and gains what it lacked).
  { version: 1, name: 'inbox, outbox, users and sent messages', sqlite: V1_SQLITE, postgres: V1_POSTGRES },
  { version: 2, name: 'set-aside events, lanes claimed with leases, account pauses and tokens', sqlite: V2_SQLITE, postgres: V2_POSTGRES },
  { version: 3, name: "the PostgreSQL rate gate's take as a function", sqlite: V3_SQLITE, postgres: SEND_GRANTS_TAKE_FUNCTION_DDL },
];
