// The time the webhook stored a notification travels with its events and replies (for the reply
// latency metric), in a new database and in one created before the columns existed.
import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expandBody } from '../../services/inbox/expand.ts';
import { createSqliteStore } from '../../services/state/sqlite-store.ts';
import type { EventOutcome } from '../../services/state/store.ts';
import { claimAll, OWNER } from '../support/claims.ts';
import { orderStatusItem, pageNotification, psid, tempDir } from '../reliability/helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((fn) => fn()));

const reply = (to: string): EventOutcome => ({
  userKey: `messenger:${to}`,
  user: {},
  sentUpdates: [],
  statusUpdates: [],
  actions: [{ type: 'message', recipient: { id: to }, message: { text: 'hi' } }],
  apology: undefined,
});

describe('received_at in the SQLite store', () => {
  it('is the notification\'s storing time on each of its replies', async () => {
    const dir = tempDir('received-at');
    cleanups.push(dir.remove);
    const store = createSqliteStore(join(dir.path, 'bot.db'));
    const user = psid(1301);
    await store.addNotification({ body: Buffer.from(JSON.stringify(pageNotification([orderStatusItem(user, 5)]))) }, 1_000);
    await store.expandNotifications(100, expandBody, 2_000);
    const [row] = await store.inboxAfter(0, 10);
    await claimAll(store, OWNER, 2_000);
    await store.completeEvent((row as { id: number }).id, reply(user), 3_000, OWNER);
    expect(await store.outboxHead(`messenger:${user}`)).toMatchObject({ received_at: 1_000, next_attempt_at: 3_000 });
    await store.close();
  });

  it('is added to a database made by an earlier release; its old rows have none', async () => {
    const dir = tempDir('received-at-old');
    cleanups.push(dir.remove);
    const path = join(dir.path, 'bot.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, ts INTEGER NOT NULL, event TEXT NOT NULL);
      CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, user_key TEXT, event_id INTEGER NOT NULL,
        action TEXT NOT NULL, apology TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT);
      INSERT INTO outbox (lane, user_key, event_id, action, next_attempt_at) VALUES ('messenger:1', 'messenger:1', 1, '{"type":"message","recipient":{"id":"1"},"message":{"text":"old"}}', 10);`);
    old.close();
    const store = createSqliteStore(path);
    const head = await store.outboxHead('messenger:1');
    expect(head).toMatchObject({ next_attempt_at: 10 });
    expect(head && 'received_at' in head).toBe(false);
    const user = psid(1302);
    await store.addNotification({ body: Buffer.from(JSON.stringify(pageNotification([orderStatusItem(user, 5)]))) }, 4_000);
    await store.expandNotifications(100, expandBody, 5_000);
    const [row] = await store.inboxAfter(0, 10);
    await claimAll(store, OWNER, 5_000);
    await store.completeEvent((row as { id: number }).id, reply(user), 6_000, OWNER);
    expect(await store.outboxHead(`messenger:${user}`)).toMatchObject({ received_at: 4_000 });
    await store.close();
  });
});
