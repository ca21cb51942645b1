// Real-browser end-to-end tests: a fresh app in emulator mode (no Meta credentials), started as
// its own process the way `npm start` starts it, and headless Chromium driven by playwright-core.
// A screenshot of the page is saved to test-results/ when a test fails.
// Run: npm run test:e2e   (CHROMIUM_PATH overrides /usr/bin/chromium; UPDATE_SCREENSHOT=1 also
// refreshes docs/screenshot.png for the README).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTranslations } from '../../services/i18n.ts';
import { loadCatalog } from '../../services/shop/catalog.ts';
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

async function startChat(page: Page, channel: 'Messenger' | 'Instagram', name: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel(channel).check();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

// The bot's texts and buttons come from locales/, so a shop's rewording changes both sides.
const translations = createTranslations();
const EN = translations.fixedT('en_US');
const ES = translations.fixedT('es_ES');
const { shop, products } = loadCatalog();
const priceOf = (id: string) => {
  const product = products.find((p) => p.id === id);
  return product ? new Intl.NumberFormat('en-US', { style: 'currency', currency: product.currency }).format(Number(product.price)) : '';
};

/** Waits for a bot bubble with this text (its first line: what one line of the page shows). */
const botSays = (page: Page, text: string) => page.locator('.row.bot', { hasText: text.split('\n')[0] ?? text }).last().waitFor();

// node:test's describe/it return promises the runner itself tracks.
void describe('the emulator page in a real browser', () => {
  void it('Messenger: hello, welcome (by name from the second greeting on), quick reply, carousel, postback, reaction, language', async () => {
    await inNewTab('messenger', { width: 1280, height: 860 }, async (page) => {
      await startChat(page, 'Messenger', 'Mia');
      await page.getByRole('button', { name: 'Get Started', exact: true }).waitFor();
      await say(page, 'hello');
      // A new user: answered at once, without a name (the profile is looked up after this answer).
      await botSays(page, EN('welcome.anonymous'));

      await page.getByRole('button', { name: EN('menu.browse') }).click();
      const cards = page.locator('.carousel .card');
      await cards.first().waitFor();
      assert.equal(await cards.count(), 4);
      // Browser-side code as text: this project compiles without the DOM library.
      await page.waitForFunction("[...document.querySelectorAll('.carousel .card img')].every((img) => img.complete && img.naturalWidth > 0)");
      assert.equal(await cards.first().locator('h4').textContent(), EN('products.sencha.title'));
      if (process.env.UPDATE_SCREENSHOT) {
        // The README's picture: the carousel beside the Send API call that produced it.
        await page.locator('.record.graph summary', { hasText: 'POST /v24.0/me/messages' }).last().click();
        await page.screenshot({ path: `${ROOT}docs/screenshot.png` });
        await page.locator('.record.graph summary', { hasText: 'POST /v24.0/me/messages' }).last().click();
      }

      await cards.nth(3).getByRole('button', { name: EN('browse.details_button') }).click();
      await botSays(page, EN('browse.details', { title: EN('products.oolong.title'), price: priceOf('oolong'), details: EN('products.oolong.details') }));
      // The emulator sent delivery and read receipts for the bot's messages.
      await page.locator('.row.bot .status', { hasText: 'Seen' }).first().waitFor();

      await page.getByRole('button', { name: 'React to this message' }).first().click();
      await page.getByRole('button', { name: 'React with love' }).click();
      await botSays(page, EN('reaction.thanks'));
      await page.locator('.reaction-badge').first().waitFor();

      await say(page, 'hi');
      await botSays(page, EN('welcome.named', { name: 'Mia' }));
      await botSays(page, EN('menu.prompt'));
      await page.getByRole('button', { name: EN('menu.language'), exact: true }).click();
      await page.getByRole('button', { name: ES('language.name') }).click();
      await botSays(page, ES('language.changed'));
      await page.getByRole('button', { name: ES('menu.browse') }).waitFor();

      // A person takes over (handover), the user waits on standby, and the Page Inbox passes the
      // conversation back to the bot; then a sticker.
      await page.getByRole('button', { name: ES('menu.human') }).click();
      await botSays(page, ES('human.handoff', { contact: new Intl.ListFormat('es-ES', { type: 'disjunction' }).format([shop.contact.email, ...(shop.contact.phone ? [shop.contact.phone] : [])]) }));
      await page.locator('.notice', { hasText: 'passed this conversation to a person' }).waitFor();
      const repliesBefore = await page.locator('.row.bot').count();
      await say(page, '¿hola?');
      await page.locator('.record.webhook', { hasText: 'standby message' }).waitFor();
      await page.getByRole('button', { name: 'Pass back to the bot (as the Page Inbox)' }).click();
      await botSays(page, ES('human.back'));
      assert.equal(await page.locator('.row.bot').count(), repliesBefore + 1, 'the bot answered while a person owned the thread');
      await page.getByRole('button', { name: 'Send a thumbs-up sticker' }).click();
      await botSays(page, ES('attachment.sticker'));

      // The inspector showed every webhook with its 200 and the bot's Graph calls, live.
      const webhooks = page.locator('.record.webhook');
      assert.ok((await webhooks.count()) >= 8);
      assert.equal(await page.locator('.record.webhook .code.bad').count(), 0);
      await page.locator('.record.graph', { hasText: 'POST /v24.0/me/messages' }).first().waitFor();
      await page.locator('.record.webhook', { hasText: 'reaction' }).first().waitFor();
    });
  });

  void it('Instagram at phone width, keyboard only: its own user, welcome, carousel and a one-card details reply', async () => {
    await inNewTab('instagram', { width: 375, height: 740 }, async (page) => {
      await page.goto(base);
      await page.getByLabel('Instagram').check();
      const name = page.getByLabel('Your name');
      await name.fill('Maya Putri');
      await name.press('Enter');
      await say(page, 'hello');
      await botSays(page, EN('welcome.anonymous'));
      assert.equal(await page.locator('text=Mia').count(), 0, 'another tab’s user leaked into this one');
      assert.equal(await page.locator('#channel-badge').textContent(), 'Instagram');

      // Keyboard only: Tab to the chip and press Enter.
      const chip = page.getByRole('button', { name: EN('menu.browse') });
      await chip.focus();
      await page.keyboard.press('Enter');
      await page.locator('.carousel .card').first().waitFor();
      await page.locator('.carousel .card').first().getByRole('button', { name: EN('browse.details_button') }).press('Enter');
      // Instagram has no button template: the bot answers with a one-card generic template.
      await botSays(page, EN('products.sencha.details'));
      assert.equal(await page.locator('.row.bot .carousel').last().locator('.card').count(), 1);
      // Instagram has no delivery receipts, only "seen".
      await page.locator('.row.bot .status', { hasText: 'Seen' }).first().waitFor();
      assert.equal(await page.locator('.row.bot .status', { hasText: 'Delivered' }).count(), 0);

      // An image from the phone's gallery.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      await page.locator('#image-input').setInputFiles({ name: 'tea.png', mimeType: 'image/png', buffer: png });
      await page.locator('.row.user img.media').waitFor();
      await botSays(page, EN('attachment.image'));

      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `the page scrolls sideways at 375 px by ${overflow}px`);
      assert.equal(await page.locator('#inspector-panel').getAttribute('open'), null, 'the inspector starts collapsed on a phone');
    });
  });

  void it('another account: the Instagram Login account (no Facebook Page), picked on the setup screen, answered through the Instagram API', async () => {
    await inNewTab('instagram-login', { width: 1280, height: 860 }, async (page) => {
      await page.goto(base);
      await page.getByLabel('Instagram').check();
      const account = page.getByLabel('Shop account');
      // Instagram offers the first Page's linked account and the Instagram Login account; Messenger only the Pages.
      assert.deepEqual(await account.locator('option').allTextContents(), ['@tidewater.tea.co (Tidewater Tea Co., linked to its Page)', '@matcha.corner (Matcha Corner, Instagram Login, no Page)']);
      await account.selectOption({ label: '@matcha.corner (Matcha Corner, Instagram Login, no Page)' });
      await page.locator('#account-note', { hasText: 'through the Instagram API (graph.instagram.com) with its own Instagram token' }).waitFor();
      await page.getByLabel('Your name').fill('Noor');
      await page.getByRole('button', { name: 'Start chatting' }).click();
      await page.getByRole('textbox', { name: 'Message' }).waitFor();
      assert.equal(await page.locator('#chat-title').textContent(), '@matcha.corner');
      assert.equal(await page.locator('#channel-badge').textContent(), 'Instagram · Instagram Login');
      await say(page, 'hello');
      await botSays(page, EN('welcome.anonymous'));
      // The inspector: the webhook was for this account, and the reply went out through the Instagram API with its token.
      await page.locator('.record.webhook', { hasText: 'Matcha Corner · Instagram Login' }).first().waitFor();
      const reply = page.locator('.record.graph', { hasText: 'POST /v24.0/me/messages' }).last();
      await reply.waitFor();
      assert.equal(await reply.locator('.dir').textContent(), '← Instagram API');
      assert.equal(await reply.locator('.account').textContent(), 'Matcha Corner · Instagram Login');
      assert.equal(await page.locator('.record.graph .dir', { hasText: '← Graph API' }).count(), 0, 'an Instagram Login reply went through the Graph API');

      // A new chat with the second Page on Messenger: its own account, through the Graph API.
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByLabel('Messenger').check();
      await page.getByLabel('Shop account').selectOption({ label: 'Harbour Tea Bar (Facebook Page)' });
      await page.getByLabel('Your name').fill('Ben');
      await page.getByRole('button', { name: 'Start chatting' }).click();
      await say(page, 'hello');
      await botSays(page, EN('welcome.anonymous'));
      const pageReply = page.locator('.record.graph', { hasText: 'POST /v24.0/me/messages' }).last();
      await pageReply.waitFor();
      assert.equal(await pageReply.locator('.dir').textContent(), '← Graph API');
      assert.equal(await pageReply.locator('.account').textContent(), 'Harbour Tea Bar · Page');
    });
  });
});
