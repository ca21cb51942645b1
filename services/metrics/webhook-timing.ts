// Times each /webhook answer for bot_webhook_requests_total and bot_webhook_duration_seconds,
// from outside the route (app.ts wraps it), so the hot path itself does not change. A request
// whose client went away before the answer is not counted: nothing was answered.
import type { ServerResponse } from 'node:http';
import type { BotMetrics } from './bot-metrics.ts';

/** Call right after the webhook route took the request; `startedAt` is performance.now() before it did. */
export function timeWebhookAnswer(res: ServerResponse, startedAt: number, metrics: Pick<BotMetrics, 'webhookAnswered'>): void {
  const record = (): void => metrics.webhookAnswered(res.statusCode, (performance.now() - startedAt) / 1000);
  // GET verification and early refusals are answered synchronously, before a listener could be added.
  if (res.writableEnded) record();
  else res.once('finish', record);
}
