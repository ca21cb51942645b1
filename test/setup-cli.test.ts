// The command line: parsing (unknown command or flag → usage, exit 2), and the real
// `scripts/setup.ts` run as a child process against a mock Graph API on loopback, as a person
// would run it: exit codes, output, and the requests the mock received.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { USAGE, parseCommand, runCommand } from '../scripts/setup/cli.ts';
import { commentTriggers } from '../services/comments/triggers.ts';
import { loadConfig } from '../services/config.ts';
import { createGraphClient } from '../services/graph/client.ts';
import { MESSENGER_FIELDS, webhookFields } from '../scripts/setup/fields.ts';
import { loadCatalog } from '../services/shop/catalog.ts';
import { runScript, type ScriptRun } from './support/run-script.ts';

describe('parseCommand', () => {
  it.each([
    [['doctor'], { command: 'doctor' }],
    [['subscribe'], { command: 'subscribe' }],
    [['status'], { command: 'status' }],
    [['profile'], { command: 'profile', dryRun: false }],
    [['profile', '--dry-run'], { command: 'profile', dryRun: true }],
    [['unsubscribe'], { command: 'unsubscribe' }],
    [['unsubscribe', '--object', 'instagram'], { command: 'unsubscribe', object: 'instagram' }],
    [['unsubscribe', '--object=page', '--fields', 'message_reads, message_deliveries'], { command: 'unsubscribe', object: 'page', fields: ['message_reads', 'message_deliveries'] }],
    [[], { command: 'help' }],
    [['--help'], { command: 'help' }],
  ])('%j', (argv, expected) => {
    expect(parseCommand(argv)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [['subscribbe'], 'unknown command "subscribbe"'],
    [['status', '--force'], "Unknown option '--force'"],
    [['profile', '--dryrun'], "Unknown option '--dryrun'"],
    [['doctor', 'now'], 'Unexpected argument'],
    [['unsubscribe', '--object', 'user'], '--object must be page or instagram, not "user"'],
    [['unsubscribe', '--fields', 'messages'], '--fields needs --object page or --object instagram'],
    [['unsubscribe', '--object', 'page', '--fields', 'messages,,x'], '--fields takes a comma-separated list'],
    [['unsubscribe', '--object'], "Option '--object <value>' argument missing"],
  ])('%j is refused', (argv, message) => {
    const result = parseCommand(argv);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain(message);
  });

  it('help prints the usage and exits 0', async () => {
    const lines: string[] = [];
    const config = loadConfig({});
    const graph = createGraphClient({ baseUrl: 'https://graph.test', version: 'v24.0', accessToken: 't', appSecret: 's' });
    await expect(runCommand({ command: 'help' }, { config, graph, comments: commentTriggers([]), out: { isTTY: false, line: (t = '') => lines.push(t) } })).resolves.toBe(0);
    expect(lines.join('\n')).toBe(USAGE);
    expect(USAGE).toContain('unsubscribe [--object page|instagram] [--fields a,b]');
    expect(USAGE).toContain('profile [--dry-run]');
  });
});

// ---- end to end: the real script against a mock Graph API ------------------------------------

interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: string;
}

const APP = '222222222222222';
const PAGE = '3333333333';
const SECRETS = { PAGE_ACCESS_TOKEN: 'EAAcliPageToken0123456789', APP_SECRET: 'cli-app-secret-0123456789', VERIFY_TOKEN: 'cli-verify-token-0123456789' };

let server: Server;
let graphUrl = '';
let received: Received[] = [];
/** What the mock answers, by "METHOD /path" without the version. */
let routes: Record<string, [number, unknown]> = {};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => resolve(data));
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? '/', 'http://mock');
      const path = url.pathname.replace(/^\/v24\.0/, '');
      received.push({ method: req.method ?? '', path, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization, body });
      const [status, answer] = routes[`${req.method} ${path}`] ?? [404, { error: { message: `mock has no ${req.method} ${path}`, code: 803 } }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  graphUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Runs `npm run setup -- <args>` as a child process, in an empty directory (no .env). */
function runSetup(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  received = [];
  const cwd = mkdtempSync(join(tmpdir(), 'setup-cli-'));
  const childEnv = {
    PATH: process.env.PATH ?? '',
    ...SECRETS,
    APP_ID: APP,
    PAGE_ID: PAGE,
    APP_URL: 'https://bot.example.test',
    GRAPH_API_URL: graphUrl,
    GRAPH_API_VERSION: 'v24.0',
    ...env,
  };
  return runScript('scripts/setup.ts', args, { cwd, env: childEnv });
}

function expectNoSecrets(text: string) {
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

/** The script reads the shop's data/comment-replies.json, whose example trigger answers on Facebook: the Page needs `feed`. */
const PAGE_FIELDS = webhookFields(loadCatalog().commentReplies).page;
const pageRoutes = (fields: readonly string[]): Record<string, [number, unknown]> => ({
  [`GET /${APP}/subscriptions`]: [200, { data: [{ object: 'page', callback_url: 'https://bot.example.test/webhook', active: true, fields: fields.map((name) => ({ name, version: 'v24.0' })) }] }],
  [`GET /${PAGE}/subscribed_apps`]: [200, { data: [{ id: APP, name: 'Tidewater Bot', subscribed_fields: [...fields] }] }],
});

describe('npm run setup (child process against a mock Graph API)', () => {
  it('the shipped trigger file answers comments on Facebook, so the Page fields include feed', () => {
    expect(PAGE_FIELDS).toEqual([...MESSENGER_FIELDS, 'feed']);
  });

  it('status: reads both edges with the tokens in the header only, prints the table, exits 0', async () => {
    routes = pageRoutes(PAGE_FIELDS);
    const { code, stdout, stderr } = await runSetup(['status']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/page\s+https:\/\/bot\.example\.test\/webhook\s+yes/);
    expect(stdout).toMatch(/✔\s+page install\s+up to date/);
    expect(stdout).not.toContain('\u001b['); // not a TTY: no colour
    expectNoSecrets(stdout);
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /${APP}/subscriptions`, `GET /${PAGE}/subscribed_apps`]);
    expect(received[0]?.authorization).toBe(`Bearer ${APP}|${SECRETS.APP_SECRET}`);
    expect(received[1]?.authorization).toBe(`Bearer ${SECRETS.PAGE_ACCESS_TOKEN}`);
    for (const r of received) {
      expect(Object.keys(r.query)).toEqual(['appsecret_proof']);
    }
  }, 30_000);

  it('status: a Page without feed (the comment triggers need it) is named, exit 1', async () => {
    routes = pageRoutes(MESSENGER_FIELDS);
    const { code, stdout } = await runSetup(['status']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/✖\s+page\s+missing fields: feed/);
    expect(stdout).toMatch(/✖\s+page install\s+missing fields: feed/);
    expect(stdout).toContain('Fix: npm run setup -- subscribe');
  }, 30_000);

  it('subscribe: a 2200 from Meta prints the checklist and exits 1, without any secret', async () => {
    routes = { [`POST /${APP}/subscriptions`]: [400, { error: { message: '(#2200) callback verification failed: Received HTTP code: 404', type: 'OAuthException', code: 2200, fbtrace_id: 'CliTrace' } }] };
    const { code, stdout } = await runSetup(['subscribe']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/fbtrace_id\s+CliTrace/);
    expect(stdout).toContain('same VERIFY_TOKEN');
    expectNoSecrets(stdout);
    expect(received).toHaveLength(1);
    expect(new URLSearchParams(received[0]?.body).get('verify_token')).toBe(SECRETS.VERIFY_TOKEN);
    expect(Object.keys(received[0]?.query ?? {})).toEqual(['appsecret_proof']);
  }, 30_000);

  it('profile --dry-run: only reads', async () => {
    routes = { ['GET /me/messenger_profile']: [200, { data: [] }] };
    const { code, stdout } = await runSetup(['profile', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toContain('Dry run: nothing was sent.');
    expect(received.map((r) => r.method)).toEqual(['GET']);
  }, 30_000);

  it('an unknown command or flag prints the usage on stderr and exits 2, sending nothing', async () => {
    const unknown = await runSetup(['subscibe']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "subscibe"');
    expect(unknown.stderr).toContain('usage: npm run setup -- <command>');
    const flag = await runSetup(['profile', '--force']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--force'");
    expect(received).toEqual([]);
  }, 30_000);

  it('a configuration error names the variable and exits 2', async () => {
    const { code, stderr } = await runSetup(['status'], { PAGE_ID: 'my-page' });
    expect(code).toBe(2);
    expect(stderr).toContain('Configuration error: PAGE_ID: must be a numeric ID');
    expect(received).toEqual([]);
  }, 30_000);

  it('emulator mode (no PAGE_ACCESS_TOKEN) names the variable and exits 2', async () => {
    const { code, stdout } = await runSetup(['subscribe'], { PAGE_ACCESS_TOKEN: '', APP_SECRET: '' });
    expect(code).toBe(2);
    expect(stdout).toContain('PAGE_ACCESS_TOKEN: set it in .env');
    expect(received).toEqual([]);
  }, 30_000);
});
