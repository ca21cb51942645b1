// The emulator's HTTP side, mounted at /emulator in emulator mode only: the emulated Graph API
// under /graph/:version/…, the emulated Instagram API under /instagram/:version/… (and Meta's
// unversioned /instagram/refresh_access_token), and the page's API (the accounts, create a user,
// act as that user, one event stream; the Posts view's is routes/emulator-posts.ts). Thin: parse
// and check the request, call the core, answer.
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { parseAction } from '../services/emulator/actions.ts';
import { emulatorPostsRouter } from './emulator-posts.ts';
import { channelsOf } from '../services/emulator/accounts.ts';
import type { EmulatorCore, SimUser } from '../services/emulator/index.ts';
import { graphError, unsupported, type GraphCall, type GraphReply } from '../services/emulator/graph-shared.ts';
import { isMediaType, MAX_MEDIA_BYTES } from '../services/emulator/media.ts';
import type { StreamHub } from '../services/emulator/sse.ts';
import { EMULATOR_LOCALES, type EmulatorLocale } from '../services/emulator/users.ts';
import { fullName } from '../services/emulator/users.ts';
import type { Logger } from '../services/logger.ts';

const MAX_STREAMS_PER_USER = 5;
const NAME_LIMIT = 60;

export function emulatorRouter(emulator: EmulatorCore, { log, streams }: { log: Logger; streams: StreamHub }): Router {
  const router = express.Router();
  const graphBody = [express.json({ limit: '1mb' }), express.urlencoded({ extended: false, limit: '1mb' })];
  const openStreams = new Map<string, number>();

  router.all('/graph/:version/*path', graphBody, async (req: Request<{ version: string; path: string[] }>, res: Response) => {
    await answerGraph((call) => emulator.graph(call), req, res, req.params.version, req.params.path.join('/'));
  });
  router.all(['/graph', '/graph/*rest'], (req, res) => {
    sendGraph(res, unsupported(req.method, req.path.replace(/^\/graph\/?/, '') || 'graph'));
  });
  // Meta documents the refresh endpoint without a version; every other Instagram call has one.
  router.get('/instagram/refresh_access_token', async (req, res) => {
    await answerGraph((call) => emulator.instagram(call), req, res, '', 'refresh_access_token');
  });
  router.all('/instagram/:version/*path', graphBody, async (req: Request<{ version: string; path: string[] }>, res: Response) => {
    await answerGraph((call) => emulator.instagram(call), req, res, req.params.version, req.params.path.join('/'));
  });
  router.all(['/instagram', '/instagram/*rest'], (req, res) => {
    sendGraph(res, unsupported(req.method, req.path.replace(/^\/instagram\/?/, '') || 'instagram'));
  });

  router.get('/info', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      mode: 'emulator',
      page: { id: emulator.ids.pageId, name: emulator.pageName },
      instagram_account: { id: emulator.ids.igAccountId },
      accounts: emulator.accounts.map((a) => ({
        key: a.key,
        type: a.type,
        api: a.api,
        name: a.name,
        username: a.username,
        page_id: a.page_id,
        instagram_account_id: a.instagram_account_id,
        channels: channelsOf(a),
      })),
      locales: EMULATOR_LOCALES,
      channels: ['messenger', 'instagram'],
    });
  });

  router.post('/users', express.json({ limit: '4kb' }), (req, res) => {
    const body = req.body as unknown;
    const input = isObject(body) ? body : {};
    const channel = input.channel ?? 'messenger';
    const locale = input.locale ?? 'en_US';
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (channel !== 'messenger' && channel !== 'instagram') return jsonError(res, 400, 'channel must be "messenger" or "instagram"');
    if (typeof locale !== 'string' || !(EMULATOR_LOCALES as readonly string[]).includes(locale)) {
      return jsonError(res, 400, `locale must be one of ${EMULATOR_LOCALES.join(', ')}`);
    }
    if (name === '' || [...name].length > NAME_LIMIT || /[\p{Cc}]/u.test(name)) return jsonError(res, 400, `name must be 1 to ${NAME_LIMIT} printable characters`);
    const offering = emulator.accounts.filter((a) => channelsOf(a).includes(channel));
    const account = input.account ?? offering[0]?.key;
    if (typeof account !== 'string' || !offering.some((a) => a.key === account)) {
      return jsonError(res, 400, `account must be one that offers ${channel}: ${offering.map((a) => a.key).join(', ') || 'none'}`);
    }
    const user = emulator.createUser({ channel, name, locale: locale as EmulatorLocale, account });
    res.status(201).json(publicUser(user));
  });

  router.get('/users/:id', (req, res) => {
    const user = userOf(emulator, req, res);
    if (user) res.set('Cache-Control', 'no-store').json(publicUser(user));
  });

  router.get('/users/:id/stream', (req, res) => {
    const user = userOf(emulator, req, res);
    if (!user) return;
    const count = openStreams.get(user.id) ?? 0;
    if (count >= MAX_STREAMS_PER_USER) return jsonError(res, 429, `at most ${MAX_STREAMS_PER_USER} open streams per user`);
    openStreams.set(user.id, count + 1);
    const stream = streams.open(req, res);
    stream.send('ready', { user: publicUser(user), history: emulator.history(user.id) });
    const unsubscribe = emulator.subscribe(user.id, (event) => stream.send(event.event, event.data));
    stream.onClose(() => {
      unsubscribe();
      const left = (openStreams.get(user.id) ?? 1) - 1;
      if (left > 0) openStreams.set(user.id, left);
      else openStreams.delete(user.id);
    });
  });

  router.post('/users/:id/actions', express.json({ limit: '16kb' }), async (req, res) => {
    const user = userOf(emulator, req, res);
    if (!user) return;
    const parsed = parseAction(req.body as unknown);
    if (!parsed.ok) return jsonError(res, 400, parsed.error);
    const action = parsed.value;
    if (action.type === 'reaction' && !emulator.botSent(user.id, action.mid)) return jsonError(res, 400, 'mid is not a message the bot sent to this user');
    if (action.type === 'return_thread' && user.thread_owner !== 'inbox') return jsonError(res, 409, 'the bot already owns this conversation');
    if (action.type === 'sticker' && user.channel === 'instagram') return jsonError(res, 400, 'stickers are a Messenger feature');
    await answerAction(res, emulator.act(user, action));
  });

  router.post('/users/:id/images', express.raw({ type: () => true, limit: MAX_MEDIA_BYTES }), async (req, res) => {
    const user = userOf(emulator, req, res);
    if (!user) return;
    const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!isMediaType(type)) return jsonError(res, 415, 'send a PNG, JPEG, GIF or WebP image as the request body');
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (bytes.length === 0) return jsonError(res, 400, 'the image is empty');
    const key = emulator.media.put(type, bytes);
    await answerAction(res, emulator.act(user, { type: 'image', url: `${emulator.baseUrl}/emulator/media/${key}` }));
  });

  router.get('/media/:key', (req, res) => {
    const item = emulator.media.get(req.params.key);
    if (!item) return jsonError(res, 404, 'no such media');
    res.set({ 'Content-Type': item.type, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=3600' }).send(item.bytes);
  });

  router.use(emulatorPostsRouter(emulator));
  router.use(['/info', '/users', '/media'], (_req, res) => jsonError(res, 404, 'not found'));
  router.use(apiErrors(log));
  return router;
}

/** `version` '' is an unversioned call (only Instagram's refresh endpoint is one). */
async function answerGraph(api: (call: GraphCall) => Promise<GraphReply>, req: Request, res: Response, version: string, path: string): Promise<void> {
  if (version !== '' && !/^v\d+\.\d+$/.test(version)) return sendGraph(res, unsupported(req.method, version));
  const reply = await api({
    method: req.method,
    version,
    path,
    query: stringQuery(req.query),
    body: req.body as unknown,
    bearer: bearerOf(req.get('authorization')),
  });
  // Effects such as delivery receipts follow Meta's answer, never precede it.
  if (reply.after) res.once('finish', reply.after);
  sendGraph(res, reply);
}

function sendGraph(res: Response, reply: { status: number; body: unknown }): void {
  if (reply.status === 400 && isObject(reply.body) && isObject(reply.body.error) && reply.body.error.code === 190) {
    res.set('WWW-Authenticate', 'OAuth "Facebook Platform" "invalid_token"');
  }
  res.status(reply.status).set('Cache-Control', 'no-store').json(reply.body);
}

async function answerAction(res: Response, outcome: ReturnType<EmulatorCore['act']>): Promise<void> {
  const { mid, webhook } = await outcome;
  const summary = { mid, webhook: { status: webhook.status ?? null, ms: webhook.ms ?? null, event: webhook.event } };
  if (webhook.status === 200) {
    res.status(200).json(summary);
    return;
  }
  const why = webhook.status === undefined ? (webhook.error ?? 'no answer') : `HTTP ${webhook.status}`;
  res.status(502).json({ error: `the app did not acknowledge the webhook (${why})`, ...summary });
}

function userOf(emulator: EmulatorCore, req: Request, res: Response): SimUser | undefined {
  const id = req.params.id;
  const user = typeof id === 'string' && /^\d{1,20}$/.test(id) ? emulator.getUser(id) : undefined;
  if (!user) jsonError(res, 404, 'no such user: create one with POST /emulator/users');
  return user;
}

function publicUser(user: SimUser) {
  return {
    id: user.id,
    channel: user.channel,
    account: user.account,
    name: fullName(user),
    first_name: user.first_name,
    last_name: user.last_name,
    username: user.username,
    locale: user.locale,
    thread_owner: user.thread_owner,
  };
}

function jsonError(res: Response, status: number, error: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error });
}

/** Body-parser failures: Graph-style under /graph, plain JSON errors elsewhere; never a stack. */
function apiErrors(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: unknown }).status;
    const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    if (code === 500) log.error('emulator request failed', { err });
    const text = code === 413 ? 'the body is too large' : code === 500 ? 'internal error' : 'the body could not be parsed';
    if (req.path.startsWith('/graph/') || req.path.startsWith('/instagram/')) return sendGraph(res, graphError(code, `(#100) ${text}`, 'OAuthException', 100));
    jsonError(res, code, text);
  };
}

function bearerOf(header: string | undefined): string | undefined {
  const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header?.trim() ?? '');
  return match?.[1];
}

function stringQuery(query: Request['query']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (typeof value === 'string') out[key] = value;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
