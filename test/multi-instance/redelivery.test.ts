// A redelivery (Meta posts the same notification again, byte for byte) reaching a different
// instance than the first copy produces no second reply: after the first copy was answered, while
// it is still being handled, and when the copies arrive at the same moment. A later event of the
// same user, answered after the redelivery was stored, shows nothing else came. On SQLite (one
// instance) "a different instance" is the same instance restarted, or the same one twice.
import { beforeAll, expect, it } from '@jest/globals';
import { recipientOf, type GraphCall } from '../support/mock-graph-server.ts';
import { toMetaJson } from '../../services/signature.ts';
import type { SpawnedApp } from '../support/spawn-app.ts';
import { expectedStream, orderStatusItem, pageNotification, psid, streamsByUser, textItem, waitFor } from '../reliability/helpers.ts';
import { delivered } from '../reliability/load.ts';
import { describeSetup, SETUPS, useCluster, type Cluster, type Setup } from './cluster.ts';
import { drainAll, expectHealthyAfterDrain } from './health.ts';

const apps = (cluster: Cluster): SpawnedApp[] => Array.from({ length: cluster.setup.instances }, (_, s) => cluster.target.app(s) as SpawnedApp);

async function postTo(app: SpawnedApp, raw: string): Promise<void> {
  expect(await app.postRaw(raw)).toBe(200);
}

/** The first copy of each user's notification: a quick reply and a text in one notification. */
function firstCopies(users: readonly string[], tag: string): string[] {
  const stamp = Date.now() - 60_000;
  return users.map((user, i) => toMetaJson(pageNotification([orderStatusItem(user, stamp + 2 * i), textItem(user, `${tag}${i}-1`, stamp + 2 * i + 1)])));
}

function answered(cluster: Cluster, user: string, inputs: readonly string[]): boolean {
  const got = streamsByUser(delivered(cluster.mock.sends())).get(user) ?? [];
  return expectedStream(inputs).every((label) => got.includes(label));
}

/** Posts a later text from each user to `to(i)` and waits until it is answered. */
async function markers(cluster: Cluster, users: readonly string[], tag: string, to: (i: number) => SpawnedApp): Promise<void> {
  const stamp = Date.now();
  await Promise.all(users.map((user, i) => postTo(to(i), toMetaJson(pageNotification([textItem(user, `${tag}${i}-2`, stamp + i)])))));
  await waitFor(() => users.every((user, i) => answered(cluster, user, [`${tag}${i}-1`, `${tag}${i}-2`])), 20_000, () => cluster.output(), 50);
}

function describeRedelivery(setup: Setup): void {
  describeSetup(setup, 'a redelivery to a different instance', () => {
    const { create } = useCluster(setup);
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await create({ env: { SEND_RATE_LIMIT: '300' }, latencyMs: () => 3 });
    }, 90_000);

    const other = (i: number, k = 1): SpawnedApp => apps(cluster)[(i + k) % setup.instances] as SpawnedApp;
    const expectOnce = (users: readonly string[], tag: string) => {
      const streams = streamsByUser(delivered(cluster.mock.sends()));
      for (const [i, user] of users.entries()) {
        expect({ user, stream: streams.get(user) }).toEqual({ user, stream: expectedStream([`${tag}${i}-1`, `${tag}${i}-2`]) });
      }
    };

    it('after the first copy was answered: no second reply', async () => {
      const users = Array.from({ length: 6 }, (_, i) => psid(4000 + i));
      const raws = firstCopies(users, 'a');
      await Promise.all(raws.map((raw, i) => postTo(other(i, 0), raw)));
      await waitFor(() => users.every((user, i) => answered(cluster, user, [`a${i}-1`])), 20_000, () => cluster.output(), 50);
      if (setup.instances === 1) {
        // One instance: the redelivery reaches the next process on the same database.
        const exit = await cluster.stop(0, 'SIGTERM');
        expect(exit.code).toBe(0);
        await cluster.start(0);
      }
      for (let k = 1; k <= Math.max(1, setup.instances - 1); k += 1) await Promise.all(raws.map((raw, i) => postTo(other(i, k), raw)));
      await markers(cluster, users, 'a', (i) => other(i, 1));
      expectOnce(users, 'a');
    }, 60_000);

    it('while the first copy is still being handled: no second reply', async () => {
      const users = Array.from({ length: 6 }, (_, i) => psid(4100 + i));
      const raws = firstCopies(users, 'b');
      // Their profile lookups wait, so the first copies' events sit in handling.
      const waiting = (call: GraphCall) => call.method === 'GET' && users.some((u) => call.path.endsWith(`/${u}`));
      cluster.mock.setFault((call) => (waiting(call) ? { kind: 'hold' } : undefined));
      await Promise.all(raws.map((raw, i) => postTo(other(i, 0), raw)));
      await waitFor(() => cluster.mock.held().length === users.length, 10_000, () => `held ${cluster.mock.held().length}`, 25);
      for (let k = 1; k <= Math.max(1, setup.instances - 1); k += 1) await Promise.all(raws.map((raw, i) => postTo(other(i, k), raw)));
      cluster.mock.setFault(undefined);
      expect(cluster.mock.release()).toBe(users.length);
      await markers(cluster, users, 'b', (i) => other(i, 1));
      expectOnce(users, 'b');
      expect(cluster.mock.sends().filter((c) => users.includes(recipientOf(c) ?? '')).every((c) => c.status === 200)).toBe(true);
    }, 60_000);

    it('copies arriving at every instance at the same moment: one reply', async () => {
      const users = Array.from({ length: 6 }, (_, i) => psid(4200 + i));
      const raws = firstCopies(users, 'c');
      const copies = Math.max(3, setup.instances);
      await Promise.all(raws.flatMap((raw, i) => Array.from({ length: copies }, (_, k) => postTo(other(i, k), raw))));
      await markers(cluster, users, 'c', (i) => other(i, 2));
      expectOnce(users, 'c');
    }, 60_000);

    it('ends healthy: no backlog, no claims left', async () => {
      await drainAll(cluster);
      await expectHealthyAfterDrain(cluster);
    }, 30_000);
  });
}

for (const setup of SETUPS) describeRedelivery(setup);
