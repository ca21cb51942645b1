// The schema, as the numbered steps that build it. Append new steps; never edit a released one
// (a database that already ran it would not run it again). SQLite and PostgreSQL get the same
// tables: ids are SQLite rowids / PostgreSQL identities, times are milliseconds since the epoch,
// events and actions are JSON text (kept byte for byte; JSONB would reject some of what Meta sends).
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

export const MIGRATIONS: readonly Migration[] = [
  // The schema of the first releases, which had no migrations table: CREATE … IF NOT EXISTS in
  // SQLite, so a database they made is adopted as version 1 as it is (and gains what it lacked).
  { version: 1, name: 'inbox, outbox, users and sent messages', sqlite: V1_SQLITE, postgres: V1_POSTGRES },
];
