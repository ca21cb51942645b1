// What the instances' /healthz must say once the work is done: no backlog on the shared database,
// and on PostgreSQL (issue #10) the database's state and this instance's claims, all released.
import { expect } from '@jest/globals';
import { waitFor } from '../reliability/helpers.ts';
import type { HealthAnswer } from '../support/spawn-app.ts';
import type { Cluster } from './cluster.ts';

const drained = (body: HealthAnswer['body']): boolean => body.backlog?.received === 0 && body.backlog.inbox === 0 && body.backlog.outbox === 0;

/** Waits until every running instance reports an empty backlog. */
export async function drainAll(cluster: Cluster, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => (await Promise.all(cluster.live().map((app) => app.health()))).every((h) => drained(h.body)),
    timeoutMs,
    () => cluster.output(),
    100,
  );
}

const claimsReleased = (body: HealthAnswer['body']): boolean => body.instance?.claims.inbox === 0 && body.instance.claims.outbox === 0;

export async function expectHealthyAfterDrain(cluster: Cluster): Promise<void> {
  const postgres = cluster.setup.backend === 'postgres';
  // An instance lets go of a lane once it is empty; give the last releases a moment.
  if (postgres) {
    await waitFor(async () => (await Promise.all(cluster.live().map((app) => app.health()))).every((h) => claimsReleased(h.body)), 10_000, () => '(claims still held)', 100).catch(() => undefined);
  }
  const answers = await Promise.all(cluster.live().map((app) => app.health()));
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) {
    expect(answer).toMatchObject({ status: 200, body: { status: 'ok', store: 'ok', token: 'ok', handling: 'ok', backlog: { received: 0, inbox: 0, outbox: 0, failed: 0 } } });
    if (postgres) {
      expect(answer.body).toMatchObject({
        database: { kind: expect.stringMatching(/^postgres/), ok: true },
        instance: { owner: expect.any(String), claims: { inbox: 0, outbox: 0 } },
      });
    }
  }
  if (postgres) expect(new Set(answers.map((a) => a.body.instance?.owner)).size).toBe(answers.length);
}
