// The emulator page's Posts view: the sample post of the user's account on their channel, with their
// comments; a comment on it; and (Instagram) a story mention or a reply to the shop's story. Thin like
// routes/emulator.ts: check the request, call the emulator core, answer.
import express, { type Response, type Router } from 'express';
import type { EmulatorCore, SimUser } from '../services/emulator/index.ts';
import type { WebhookRecord } from '../services/emulator/types.ts';

const TEXT_LIMIT = 2200;

export function emulatorPostsRouter(emulator: EmulatorCore): Router {
  const router = express.Router();
  const body = express.json({ limit: '16kb' });

  router.get('/users/:id/posts', (req, res) => {
    const user = userOf(emulator, req.params.id, res);
    if (user) res.set('Cache-Control', 'no-store').json(emulator.posts.view(user));
  });

  router.post('/users/:id/comments', body, async (req, res) => {
    const user = userOf(emulator, req.params.id, res);
    if (!user) return;
    const text = textOf(req.body as unknown);
    if (text === undefined) return jsonError(res, 400, `text must be 1 to ${TEXT_LIMIT} characters, not blank`);
    const { comment_id, webhook } = await emulator.posts.comment(user, text);
    answer(res, webhook, { comment_id });
  });

  router.post('/users/:id/stories', body, async (req, res) => {
    const user = userOf(emulator, req.params.id, res);
    if (!user) return;
    if (user.channel !== 'instagram') return jsonError(res, 400, 'stories are an Instagram feature');
    const input = (req.body ?? {}) as Record<string, unknown>;
    if (input.type === 'mention') return answer(res, (await emulator.posts.story(user, { type: 'mention' })).webhook, {});
    const text = textOf(input);
    if (input.type !== 'reply' || text === undefined) return jsonError(res, 400, 'type must be "mention", or "reply" with a text');
    const { mid, webhook } = await emulator.posts.story(user, { type: 'reply', text });
    answer(res, webhook, { mid });
  });

  return router;
}

function textOf(input: unknown): string | undefined {
  const text = typeof input === 'object' && input !== null ? (input as Record<string, unknown>).text : undefined;
  return typeof text === 'string' && text.trim() !== '' && [...text].length <= TEXT_LIMIT ? text : undefined;
}

function answer(res: Response, webhook: WebhookRecord, extra: Record<string, unknown>): void {
  const summary = { ...extra, webhook: { status: webhook.status ?? null, ms: webhook.ms ?? null, event: webhook.event } };
  if (webhook.status === 200) return void res.status(200).json(summary);
  const why = webhook.status === undefined ? (webhook.error ?? 'no answer') : `HTTP ${webhook.status}`;
  res.status(502).json({ error: `the app did not acknowledge the webhook (${why})`, ...summary });
}

function userOf(emulator: EmulatorCore, id: string | undefined, res: Response): SimUser | undefined {
  const user = typeof id === 'string' && /^\d{1,20}$/.test(id) ? emulator.getUser(id) : undefined;
  if (!user) jsonError(res, 404, 'no such user: create one with POST /emulator/users');
  return user;
}

function jsonError(res: Response, status: number, error: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error });
}
