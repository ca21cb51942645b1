// What only the PostgreSQL store has to get right beyond the shared contract: values PostgreSQL
// cannot store fail only their own event, leases on the database's clock, expansion and pruning
// one instance at a time (advisory locks), LISTEN/NOTIFY wake-ups that survive a lost connection,
// and a password that never shows in an error.
import { expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { WebhookEvent } from '../../services/events/types.ts';
import { expandBody } from '../../services/inbox/expand.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { LOCK_CLASS } from '../../services/state/migrations/postgres.ts';
import { createPostgresStore, EXPAND_LOCK, isPostgresStore, LANES_CHANNEL, PRUNE_LOCK, WORK_CHANNEL, type PostgresStore } from '../../services/state/postgres-store.ts';
import { DEDUP_RETENTION_MS } from '../../services/state/store.ts';
import { toMetaJson } from '../../services/signature.ts';
import { PAGE, pageNotification, textItem, waitFor } from '../reliability/helpers.ts';
import { body, claimLane, laneOf, laneTexts, outcome, psid, receive, sleep } from './fixtures.ts';
import { describePostgresStore } from './stores.ts';
import pg from 'pg';

const A = 'host-a:101:aaaa';
const B = 'host-b:202:bbbb';

const rawBody = (items: ReturnType<typeof textItem>[]): Buffer => Buffer.from(toMetaJson(pageNotification(items, Date.now())));

describePostgresStore('beyond the shared contract', (subject) => {
  const open = async (): Promise<PostgresStore> => {
    const store = await subject().open();
    if (!isPostgresStore(store)) throw new Error('expected the PostgreSQL store');
    return store;
  };
  const withAdmin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: subject().url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  it('an event with a NUL in its sender id is set aside by position; the other events and bodies of the batch are stored', async () => {
    const store = await open();
    const t = Date.now();
    await store.addNotification({ body: body([1, 'before']) }, t);
    await store.addNotification({ body: rawBody([textItem(psid(2), 'fine', t), textItem('2400\u0000666', 'bad sender', t + 1), textItem(psid(3), 'text with \u0000 inside', t + 2)]) }, t);
    await store.addNotification({ body: body([1, 'after']) }, t);
    const result = await store.expandNotifications(100, expandBody, t);
    expect(result).toMatchObject({ notifications: 3, stored: 4, duplicates: 0, unreadable: [{ events: [1] }] });
    expect(result.unreadable[0]?.reason).toMatch(/^event 2: could not be stored: TypeError: its (key|lane) contains a NUL character, which PostgreSQL cannot store$/);
    expect(await laneTexts(store, 1)).toEqual(['before', 'after']);
    expect(await laneTexts(store, 2)).toEqual(['fine']);
    // NUL inside the event's JSON is escaped, and comes back as it was.
    expect(await laneTexts(store, 3)).toEqual(['text with \u0000 inside']);
    expect(await store.backlog()).toMatchObject({ received: 0, inbox: 4, unreadable: 1 });
  });

  it('an event the database itself refuses (a lane too long to index) is set aside alone, the rest of the batch is stored', async () => {
    const store = await open();
    const t = Date.now();
    const huge = randomBytes(6000).toString('base64');
    await store.addNotification({ body: body([1, 'a']) }, t);
    await store.addNotification({ body: rawBody([textItem(psid(2), 'b', t), textItem(huge, 'too long', t + 1)]) }, t);
    await store.addNotification({ body: body([3, 'c']) }, t);
    const result = await store.expandNotifications(100, expandBody, t);
    expect(result).toMatchObject({ notifications: 3, stored: 3, duplicates: 0, unreadable: [{ events: [1] }] });
    expect(result.unreadable[0]?.reason).toMatch(/^event 2: could not be stored: error: index row/);
    expect([...(await laneTexts(store, 1)), ...(await laneTexts(store, 2)), ...(await laneTexts(store, 3))]).toEqual(['a', 'b', 'c']);
    // The set-aside event's key was not taken; the stored ones' were.
    await store.addNotification({ body: rawBody([textItem(psid(2), 'b', t)]) }, t);
    expect(await store.expandNotifications(100, expandBody, t)).toMatchObject({ stored: 0, duplicates: 1 });
  });

  it('a user key PostgreSQL cannot store fails that completion with a clear error; its owner can still set the event aside', async () => {
    const store = await open();
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await expect(store.completeEvent(row?.id ?? 0, { ...outcome(1, ['hi']), userKey: 'messenger:1\u00002' }, Date.now(), A)).rejects.toThrow(/NUL character/);
    expect(await store.setAsideEvent(row?.id ?? 0, 'reason with \u0000 in it', Date.now(), A)).toBeUndefined();
    expect(await store.backlog()).toMatchObject({ inbox: 0, outbox: 0, failed_events: 1 });
  });

  it('leases run on the database’s clock: an instance whose clock is an hour off neither loses nor steals a lane', async () => {
    const a = await open();
    const b = await open();
    await receive(a, [1, 'a']);
    const hour = 60 * 60 * 1000;
    expect(await a.claimInboxLanes(A, 10, 10_000, Date.now() - hour)).toEqual([{ lane: laneOf(1), takenOver: false }]);
    expect(await b.claimInboxLanes(B, 10, 10_000, Date.now() + hour)).toEqual([]);
    expect(await b.renewClaims(B, 10_000, Date.now() + hour)).toEqual({ inbox: 0, outbox: 0 });
    const [row] = await a.laneEvents(laneOf(1), 1);
    expect(await a.completeEvent(row?.id ?? 0, outcome(1, ['hi']), Date.now() - hour, A)).toMatchObject({ replies: [{ lane: laneOf(1) }], held: [laneOf(1)] });
    // The reply lane went to A with a lease on the database's clock too.
    expect(await b.claimOutboxLanes(B, 10, 10_000, Date.now() + hour)).toEqual([]);
  });

  it('expansion is one instance at a time: an expansion waits while another holds the lock, then takes what is left', async () => {
    const store = await open();
    await store.addNotification({ body: body([1, 'a']) }, Date.now());
    await withAdmin(async (admin) => {
      await admin.query('BEGIN');
      await admin.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, EXPAND_LOCK]);
      let done = false;
      const expanding = store.expandNotifications(100, expandBody, Date.now()).then((r) => ((done = true), r));
      await sleep(300);
      expect(done).toBe(false);
      await admin.query('COMMIT');
      expect(await expanding).toMatchObject({ notifications: 1, stored: 1 });
    });
  });

  it('ifFree: while another instance expands, an expansion answers busy at once and takes nothing; afterwards it expands as usual', async () => {
    const store = await open();
    await store.addNotification({ body: body([1, 'a']) }, Date.now());
    await withAdmin(async (admin) => {
      await admin.query('BEGIN');
      await admin.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, EXPAND_LOCK]);
      const began = performance.now();
      expect(await store.expandNotifications(100, expandBody, Date.now(), { ifFree: true })).toEqual({ notifications: 0, stored: 0, duplicates: 0, unreadable: [], busy: true });
      expect(performance.now() - began).toBeLessThan(1000);
      expect(await store.backlog()).toMatchObject({ received: 1, inbox: 0 });
      await admin.query('COMMIT');
    });
    expect(await store.expandNotifications(100, expandBody, Date.now(), { ifFree: true })).toEqual({ notifications: 1, stored: 1, duplicates: 0, unreadable: [] });
    expect(await laneTexts(store, 1)).toEqual(['a']);
  });

  it('one pruner at a time (the others skip the round); pruning also drops idle lanes and expired send grants', async () => {
    const store = await open();
    const t = Date.now();
    await receive(store, [1, 'a']);
    await claimLane(store, A, 1);
    const [row] = await store.laneEvents(laneOf(1), 1);
    await store.completeEvent(row?.id ?? 0, outcome(1, []), t, A);
    await store.releaseInboxLane(laneOf(1), A, t);
    await subject().sql?.('INSERT INTO send_grants (account, granted_ms, until_ms) VALUES ($1, 0, 1), ($1, 0, $2)', [PAGE, t + 3_600_000]);
    const count = async (table: string): Promise<number> => Number((await subject().sql?.(`SELECT count(*)::int AS n FROM ${table}`))?.[0]?.n);
    expect([await count('dedup'), await count('inbox_lanes'), await count('send_grants')]).toEqual([1, 1, 2]);

    await withAdmin(async (admin) => {
      await admin.query('BEGIN');
      await admin.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, PRUNE_LOCK]);
      await store.prune(Date.now() + DEDUP_RETENTION_MS + 1000);
      expect([await count('dedup'), await count('inbox_lanes'), await count('send_grants')]).toEqual([1, 1, 2]);
      await admin.query('COMMIT');
    });
    await store.prune(Date.now() + DEDUP_RETENTION_MS + 1000);
    expect([await count('dedup'), await count('inbox_lanes'), await count('send_grants')]).toEqual([0, 0, 1]);
  });

  it('LISTEN: the webhook’s commit wakes bot_work, an expansion wakes bot_lanes, and after a lost connection it listens again and wakes once', async () => {
    const webhook = await open();
    const worker = await open();
    const heard: string[] = [];
    const stop = await worker.listen([WORK_CHANNEL, LANES_CHANNEL], (channel) => heard.push(channel));
    await webhook.addNotification({ body: body([1, 'a']) }, Date.now());
    await waitFor(() => heard.includes(WORK_CHANNEL), 5000, () => `heard ${heard.join(', ')}`);
    await webhook.expandNotifications(100, expandBody, Date.now());
    await waitFor(() => heard.includes(LANES_CHANNEL), 5000, () => `heard ${heard.join(', ')}`);

    heard.length = 0;
    const ended = await withAdmin(async (admin) => (await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'store-contract:listen'")).rowCount);
    expect(ended).toBe(1);
    // Back: one wake-up per channel for what may have been missed, then notifications again.
    await waitFor(() => heard.includes(WORK_CHANNEL) && heard.includes(LANES_CHANNEL), 10_000, () => `heard ${heard.join(', ')}`);
    heard.length = 0;
    await webhook.addNotification({ body: body([1, 'b']) }, Date.now());
    await waitFor(() => heard.includes(WORK_CHANNEL), 5000, () => `heard ${heard.join(', ')}`);

    await stop();
    heard.length = 0;
    await webhook.addNotification({ body: body([1, 'c']) }, Date.now());
    await sleep(300);
    expect(heard).toEqual([]);
  });

  it('an unreachable database is reported with where it is, never with the password', async () => {
    const opening = createPostgresStore({ url: 'postgres://root:s3cret-pw@127.0.0.1:1/bot', poolSize: 1, applicationName: 'store-contract', log: silentLogger });
    await expect(opening).rejects.toThrow(/PostgreSQL database postgres:\/\/root@127\.0\.0\.1:1\/bot: .*ECONNREFUSED/);
    const message = await opening.then(
      () => '',
      (err: unknown) => `${String(err)} ${JSON.stringify(err)}`,
    );
    expect(message).not.toContain('s3cret-pw');
  });

  it('an event comes back exactly as it was expanded (unicode, quotes, backslashes, nested payloads)', async () => {
    const store = await open();
    const t = Date.now();
    const text = 'émoji 🎉 and "quotes" \\ backslash';
    const item = { ...textItem(psid(1), text, t), message: { mid: `m_${t}`, text, attachments: [{ type: 'fallback', payload: { url: 'https://example.com/?a=1&b=2' } }] } };
    const bytes = Buffer.from(toMetaJson(pageNotification([item as ReturnType<typeof textItem>], t)));
    await store.addNotification({ body: bytes }, t);
    await store.expandNotifications(100, expandBody, t);
    const [row] = await store.laneEvents(laneOf(1), 1);
    const event = (await store.inboxEvent(row?.id ?? 0)) as Extract<WebhookEvent, { kind: 'message' }>;
    expect(event).toEqual(expandBody(bytes, t).events[0]?.event);
    expect(event.message.text).toBe(text);
  });
});
