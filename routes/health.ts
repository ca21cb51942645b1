// GET /healthz: 200 when the store answers, the Page token is not known to be invalid and handling
// moves; 503 otherwise, with a `reason`. Always with the backlog (work waiting, and what was given
// up or set aside), so an operator can see work piling up.
// GET /readyz, for a load balancer: 200 while this instance can take webhooks (its store answers),
// whatever else is wrong. An invalid token or stuck handling concerns every instance alike, and
// taking them all out of the balancer would only make Meta's deliveries fail too.
import express, { type Router } from 'express';
import type { Health } from '../services/bot.ts';

export function healthRouter(health: () => Promise<Health>): Router {
  const router = express.Router();
  router.get('/healthz', async (_req, res) => {
    const h = await health();
    res
      .status(h.ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({
        status: h.ok ? 'ok' : 'degraded',
        store: h.store,
        token: h.token,
        handling: h.handling,
        ...(h.reason === undefined ? {} : { reason: h.reason }),
        backlog: h.backlog ?? null,
        database: { kind: h.database, ok: h.store === 'ok' },
        ...(h.paused_accounts ? { paused_accounts: h.paused_accounts } : {}),
        ...(h.instance ? { instance: h.instance } : {}),
      });
  });
  router.get('/readyz', async (_req, res) => {
    const h = await health();
    const ready = h.store === 'ok';
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(ready ? { status: 'ready' } : { status: 'not ready', reason: 'the store does not answer' });
  });
  return router;
}
