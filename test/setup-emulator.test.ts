// README's "Try the setup commands locally", as a user follows it: a .env with only APP_SECRET and
// VERIFY_TOKEN (and a free PORT), `npm start` (app.ts as a child process, emulator mode), then
// `npm run setup -- subscribe`, `profile` and `doctor` from another process in the same directory,
// with the shop's own comment triggers (data/comment-replies.json answers on Facebook and
// Instagram, so doctor requires the comment permissions on every token). The emulator stands for
// a correctly set-up app: doctor must pass every check on every account.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/spawn-app.ts';
import { ROOT, runScript, TSX_LOADER, type ScriptRun } from './support/run-script.ts';

const ENV_FILE = { APP_SECRET: 'my-local-app-secret-0123456789', VERIFY_TOKEN: 'my-local-verify-token-0123456789' };

let cwd: string;
let app: ChildProcess;
let appOutput = '';

/** Only PATH from this process: everything else comes from the .env in `cwd`, as for a user. */
function run(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, script), ...args], { cwd, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function setup(...args: string[]): Promise<ScriptRun> {
  return runScript('scripts/setup.ts', args, { cwd });
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'setup-emulator-'));
  const port = await freePort();
  writeFileSync(join(cwd, '.env'), Object.entries({ ...ENV_FILE, PORT: String(port) }).map(([k, v]) => `${k}=${v}\n`).join(''));
  app = run('app.ts', []);
  app.stdout?.on('data', (chunk: Buffer) => (appOutput += chunk.toString('utf8')));
  app.stderr?.on('data', (chunk: Buffer) => (appOutput += chunk.toString('utf8')));
  const deadline = Date.now() + 20_000;
  while (!appOutput.includes('to chat with your bot')) {
    if (Date.now() > deadline || app.exitCode !== null) throw new Error(`the emulator did not start:\n${appOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 30_000);

afterAll(async () => {
  if (app.exitCode === null) {
    const exited = new Promise((resolve) => app.once('exit', resolve));
    app.kill('SIGTERM');
    await exited;
  }
  rmSync(cwd, { recursive: true, force: true });
});

describe('npm run setup against the emulator (README: "Try the setup commands locally")', () => {
  it('subscribe and profile succeed, then doctor passes every check on every account, comment permissions included', async () => {
    const subscribed = await setup('subscribe');
    expect({ code: subscribed.code, stderr: subscribed.stderr }).toEqual({ code: 0, stderr: '' });
    const profiled = await setup('profile');
    expect({ code: profiled.code, stderr: profiled.stderr }).toEqual({ code: 0, stderr: '' });

    const { code, stdout, stderr } = await setup('doctor');
    const marks = stdout.split('\n').filter((line) => /^\s+[✔✖!]\s/.test(line));
    expect({ code, stderr, failed: marks.filter((line) => !line.trim().startsWith('✔')) }).toEqual({ code: 0, stderr: '', failed: [] });
    expect(stdout).toContain(`✔ All ${marks.length} checks passed`);
    // Each account has its section, and its token has what the shop's triggers need.
    const sections = stdout.split('\n\n');
    const section = (title: string) => sections.find((s) => s.startsWith(title)) ?? `(no section ${title})`;
    const permissions = (title: string) => /✔\s+Permissions\s+(.*)/.exec(section(title))?.[1]?.split(', ') ?? [];
    expect(permissions('Page 100000000000002 (Tidewater Tea Co.)')).toEqual(expect.arrayContaining(['pages_messaging', 'pages_read_engagement', 'pages_read_user_content', 'pages_manage_engagement', 'instagram_manage_comments']));
    expect(permissions('Page 100000000000003 (Harbour Tea Bar)')).toEqual(expect.arrayContaining(['pages_messaging', 'pages_read_engagement', 'pages_read_user_content', 'pages_manage_engagement']));
    expect(permissions('Instagram 17841400000000003 (Matcha Corner)')).toEqual(expect.arrayContaining(['instagram_business_manage_messages', 'instagram_business_manage_comments']));
    for (const text of [stdout, appOutput]) for (const secret of Object.values(ENV_FILE)) expect(text).not.toContain(secret);
  }, 60_000);
});
