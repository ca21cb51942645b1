// The live dashboard in real mode: the inspector page, and the traffic it shows (webhooks and
// Graph calls seen by the observer hooks). Mounted only when DASHBOARD_TOKEN is set; the data
// needs `Authorization: Bearer <DASHBOARD_TOKEN>`, so user messages are never public. The page
// reads the stream with fetch (headers allowed), so the token never travels in a URL. The traffic
// log keeps records scrubbed of every secret; what leaves here is scrubbed once more as text.
import { createHash, timingSafeEqual } from 'node:crypto';
import { projectPath } from '../services/project-dir.ts';
import express, { type Request, type Response, type Router } from 'express';
import type { StreamHub } from '../services/emulator/sse.ts';
import { createRedactor, withSecrets, type Secrets } from '../services/redact.ts';
import type { TrafficLog } from '../services/emulator/traffic.ts';
import type { Logger } from '../services/logger.ts';
import type { LiveMetrics } from '../services/metrics/live.ts';

const PAGE_DIR = projectPath('public/emulator/');

export interface DashboardDeps {
  token: string;
  traffic: TrafficLog;
  streams: StreamHub;
  log: Logger;
  /** Secret values (secretsOf(config), DASHBOARD_TOKEN among them; a SecretSet with the tokens learnt since). */
  secrets: Secrets;
  /** The live charts' points (#14), sent on the same stream as the traffic. */
  live?: LiveMetrics;
}

export function dashboardRouter({ token, traffic, streams, log, secrets, live }: DashboardDeps): Router {
  const router = express.Router();
  const redactor = createRedactor(withSecrets(secrets, [token]));
  const authorised = (req: Request, res: Response): boolean => {
    const given = /^Bearer\s+(\S+)$/i.exec(req.get('authorization')?.trim() ?? '')?.[1];
    if (given !== undefined && sameSecret(given, token)) return true;
    log.warn('dashboard access refused', { presented: given !== undefined });
    res.status(401).set({ 'WWW-Authenticate': 'Bearer realm="dashboard"', 'Cache-Control': 'no-store' }).json({ error: 'present the DASHBOARD_TOKEN as a bearer token' });
    return false;
  };

  // The page and its scripts hold no data: they ask for the token and send it with each request.
  router.get('/dashboard', (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile('dashboard.html', { root: PAGE_DIR });
  });
  router.use('/dashboard/assets', express.static(PAGE_DIR, { index: false, maxAge: '1h' }));

  router.get('/dashboard/api/records', (req, res) => {
    if (!authorised(req, res)) return;
    res.set('Cache-Control', 'no-store').type('application/json').send(redactor.text(JSON.stringify({ records: traffic.recent() })));
  });

  router.get('/dashboard/api/stream', (req, res) => {
    if (!authorised(req, res)) return;
    const stream = streams.open(req, res);
    stream.send('ready', { records: traffic.recent(), ...(live ? { metrics: live.history() } : {}) });
    stream.onClose(traffic.subscribe((record) => stream.send('inspector', record)));
    if (live) stream.onClose(live.subscribe((point) => stream.send('metrics', point)));
  });

  router.use('/dashboard', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return router;
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
