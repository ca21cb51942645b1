// The emulator's Posts view in a real browser: a fresh app in emulator mode started like `npm start`,
// headless Chromium driven by playwright-core. A customer comments "price" on the sample post of the
// account picked on the setup screen; the private reply shows up in the chat, the public reply under
// the comment, both calls in the inspector with their account and API (the Graph API for a Page,
// the Instagram API for the Instagram Login account); on Instagram the customer mentions the shop
// in a story. A screenshot of the page is
// saved to test-results/ when a test fails. Run: npm run test:e2e (CHROMIUM_PATH overrides
// /usr/bin/chromium; SCREENSHOT_POSTS=path saves a picture of the Posts view).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../support/spawn-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}test-results/`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let app: ChildProcess | undefined;
let appOutput = '';
let base = '';
let browser: Browser | undefined;

/** Starts `app.ts` like `npm start` on a fresh machine: no credentials, in-memory state. */
async function startApp(): Promise<string> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: 'memory:',
    LOG_LEVEL: 'warn',
    // Empty values win over a developer's .env (dotenv never overrides what is set).
    PAGE_ACCESS_TOKEN: '',
    APP_SECRET: '',
    VERIFY_TOKEN: '',
    APP_URL: '',
    GRAPH_API_URL: '',
    DASHBOARD_TOKEN: '',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  app = child;
  const url = `http://localhost:${port}/`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not print its URL within 30 s:\n${appOutput}`)), 30_000);
    const onData = (chunk: Buffer) => {
      appOutput += chunk.toString('utf8');
      if (appOutput.includes(`Open ${url} to chat with your bot (emulator mode: no Meta credentials needed)`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with ${code}:\n${appOutput}`));
    });
  });
  return url;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  base = await startApp();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  if (app && app.exitCode === null) {
    const exited = new Promise((resolve) => app?.once('exit', resolve));
    app.kill('SIGTERM');
    await exited;
  }
});

/** Runs a scenario in a fresh tab; on failure saves a screenshot and the app's output. */
async function inNewTab(name: string, viewport: { width: number; height: number }, scenario: (page: Page) => Promise<void>): Promise<void> {
  assert.ok(browser);
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await scenario(page);
    assert.deepEqual(errors, [], 'the page threw errors');
  } catch (err) {
    mkdirSync(RESULTS, { recursive: true });
    const file = `${RESULTS}${name.replace(/\W+/g, '-')}.png`;
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    process.stderr.write(`\nScreenshot saved to ${file}\nApp output:\n${appOutput}\n`);
    throw err;
  } finally {
    await context.close();
  }
}

/** Starts a chat as `name` with the account labelled `account` on the setup screen (the first offering the channel when absent). */
async function startChat(page: Page, channel: 'Messenger' | 'Instagram', name: string, account?: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel(channel).check();
  if (account !== undefined) await page.getByLabel('Shop account').selectOption({ label: account });
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

// node:test's describe/it return promises the runner itself tracks.
void describe('the Posts view in a real browser', () => {
  void it('Facebook: a comment gets the private reply in the chat and the public reply under it; the inspector shows both', async () => {
    await inNewTab('posts-facebook', { width: 1280, height: 860 }, async (page) => {
      await startChat(page, 'Messenger', 'Mia Tan');
      await page.getByRole('tab', { name: 'Posts' }).click();
      const box = page.getByRole('textbox', { name: 'Your comment' });
      await box.fill('Price?');
      await page.getByRole('button', { name: 'Comment', exact: true }).click();
      await page.locator('.comment.reply', { hasText: "We've sent you a private message" }).waitFor();
      await page.getByRole('button', { name: /replied privately/ }).waitFor();
      const publicCall = page.locator('.record.graph summary', { hasText: '/comments' });
      await publicCall.waitFor();
      const privateCall = page.locator('.record.graph summary', { hasText: 'POST /v24.0/me/messages' }).first();
      await privateCall.waitFor();
      for (const call of [publicCall, privateCall]) {
        assert.equal(await call.locator('.dir').textContent(), '← Graph API');
        assert.equal(await call.locator('.account').textContent(), 'Tidewater Tea Co. · Page');
      }
      await page.locator('.record.webhook summary', { hasText: 'feed comment' }).first().waitFor();
      if (process.env.SCREENSHOT_POSTS) await page.screenshot({ path: process.env.SCREENSHOT_POSTS });
      await page.getByRole('button', { name: /replied privately/ }).click();
      await page.locator('.row.bot', { hasText: "Here are this season's teas" }).waitFor();
      await page.getByRole('button', { name: 'Browse teas' }).click();
      await page.locator('.carousel .card').first().waitFor();
    });
  });

  void it('the Instagram Login account: the comment, the private reply and the public reply through the Instagram API', async () => {
    await inNewTab('posts-instagram-login', { width: 1280, height: 860 }, async (page) => {
      await startChat(page, 'Instagram', 'Noor Aziz', '@matcha.corner (Matcha Corner, Instagram Login, no Page)');
      await page.getByRole('tab', { name: 'Posts' }).click();
      await page.getByRole('article', { name: 'Post by matcha.corner' }).waitFor();
      await page.getByRole('textbox', { name: 'Your comment' }).fill('price please');
      await page.getByRole('button', { name: 'Comment', exact: true }).click();
      await page.locator('.comment.reply', { hasText: "We've sent you a private message" }).waitFor();
      assert.equal(await page.locator('.comment.reply strong').first().textContent(), 'matcha.corner');
      const publicCall = page.locator('.record.graph summary', { hasText: '/replies' });
      await publicCall.waitFor();
      const privateCall = page.locator('.record.graph summary', { hasText: 'POST /v24.0/me/messages' }).first();
      await privateCall.waitFor();
      for (const call of [publicCall, privateCall]) {
        assert.equal(await call.locator('.dir').textContent(), '← Instagram API');
        assert.equal(await call.locator('.account').textContent(), 'Matcha Corner · Instagram Login');
      }
      assert.equal(await page.locator('.record.graph .dir', { hasText: '← Graph API' }).count(), 0, 'an Instagram Login reply went through the Graph API');
      await page.locator('.record.webhook summary', { hasText: 'comments' }).first().waitFor();
      assert.equal(await page.locator('.record.webhook .code.bad').count(), 0);
      await page.getByRole('button', { name: /replied privately/ }).click();
      await page.locator('.row.bot', { hasText: "Here are this season's teas" }).waitFor();
    });
  });

  void it('the second Page: its own post, answered with its own token', async () => {
    await inNewTab('posts-second-page', { width: 1280, height: 860 }, async (page) => {
      await startChat(page, 'Messenger', 'Ben Ho', 'Harbour Tea Bar (Facebook Page)');
      await page.getByRole('tab', { name: 'Posts' }).click();
      await page.getByRole('article', { name: 'Post by Harbour Tea Bar' }).waitFor();
      await page.getByRole('textbox', { name: 'Your comment' }).fill('how much?');
      await page.getByRole('button', { name: 'Comment', exact: true }).click();
      await page.locator('.comment.reply', { hasText: "We've sent you a private message" }).waitFor();
      const publicCall = page.locator('.record.graph summary', { hasText: '/comments' });
      await publicCall.waitFor();
      assert.equal(await publicCall.locator('.account').textContent(), 'Harbour Tea Bar · Page');
    });
  });

  void it('Instagram: mention the shop in a story, and be thanked in the chat', async () => {
    await inNewTab('posts-instagram', { width: 375, height: 740 }, async (page) => {
      await startChat(page, 'Instagram', 'Maya Putri');
      await page.getByRole('tab', { name: 'Posts' }).click();
      await page.getByRole('button', { name: /Mention the shop in your story/ }).click();
      await page.locator('.row.bot', { hasText: 'Thank you for mentioning Tidewater Tea Co. in your story' }).waitFor();
      assert.equal(await page.getByRole('tab', { name: 'Chat' }).getAttribute('aria-selected'), 'true');
    });
  });
});
