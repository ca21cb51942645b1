// The live charts in a real browser (headless Chromium via playwright-core): in the emulator's
// inspector and on the live dashboard (live mode against a mock Graph API, SQLite file, so the
// numbers come from the worker thread). Each shows four charts that update once a second, and
// the events and replies of a message appear in them.
// Run: npm run test:e2e   (CHROMIUM_PATH overrides /usr/bin/chromium)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTranslations } from '../../services/i18n.ts';
import { orderStatusItem, pageNotification, psid } from '../reliability/helpers.ts';
import { startMockGraph, type MockGraph } from '../support/mock-graph-server.ts';
import { freePort, spawnApp, type SpawnedApp } from '../support/spawn-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}test-results/`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const DASHBOARD_TOKEN = 'dashboard-token-0123456789abcdef';

let browser: Browser | undefined;
let emulator: { child: ChildProcess; url: string; output: () => string } | undefined;
let live: SpawnedApp | undefined;
let mock: MockGraph | undefined;
let dir: string | undefined;

/** `app.ts` in emulator mode, as `npm start` runs it on a fresh machine. */
async function startEmulator(): Promise<NonNullable<typeof emulator>> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATABASE_URL: 'memory:', LOG_LEVEL: 'warn', PAGE_ACCESS_TOKEN: '', APP_SECRET: '', VERIFY_TOKEN: '', APP_URL: '', GRAPH_API_URL: '', DASHBOARD_TOKEN: '', METRICS_TOKEN: '' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://localhost:${port}/`;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(`Open ${url}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the app exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  emulator = await startEmulator();
  mock = await startMockGraph();
  dir = mkdtempSync(join(tmpdir(), 'charts-e2e-'));
  live = await spawnApp({ graphUrl: mock.url, databasePath: join(dir, 'bot.db'), cwd: dir, env: { DASHBOARD_TOKEN, WATCHDOG_INTERVAL: 'off' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  if (emulator && emulator.child.exitCode === null) {
    const exited = new Promise((resolve) => emulator?.child.once('exit', resolve));
    emulator.child.kill('SIGTERM');
    await exited;
  }
  await live?.kill('SIGTERM');
  await mock?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function inNewTab(name: string, output: () => string, scenario: (page: Page) => Promise<void>): Promise<void> {
  assert.ok(browser);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
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
    process.stderr.write(`\nScreenshot saved to ${file}\nApp output:\n${output()}\n`);
    throw err;
  } finally {
    await context.close();
  }
}

/** Four charts, each an SVG with its lines; and the points keep coming (one a second). */
async function expectLiveCharts(page: Page): Promise<void> {
  const charts = page.locator('#live-charts figure.chart');
  await charts.first().waitFor();
  const ids: string[] = [];
  for (const chart of await charts.all()) ids.push((await chart.getAttribute('data-chart')) ?? '');
  assert.deepEqual(ids, ['events', 'replies', 'latency', 'backlog']);
  assert.equal(await page.locator('#live-charts figure.chart svg polyline').count(), 6);
  await page.waitForFunction("Number(document.getElementById('live-charts').dataset.points) >= 2");
  const before = Number(await page.locator('#live-charts').getAttribute('data-points'));
  await page.waitForFunction(`Number(document.getElementById('live-charts').dataset.points) > ${before}`);
}

/** The message's event and replies reached the charts, and the latency chart has a value in ms. */
async function expectTrafficInCharts(page: Page): Promise<void> {
  await page.waitForFunction("Number(document.querySelector('[data-chart=events]').dataset.max) > 0");
  await page.waitForFunction("Number(document.querySelector('[data-chart=replies]').dataset.max) > 0");
  await page.waitForFunction("/p50 [0-9.]+ ms/.test(document.querySelector('[data-chart=latency] .chart-value').textContent)");
  await page.waitForFunction("document.querySelector('[data-chart=events] polyline').getAttribute('points').split(' ').length >= 2");
  const label = await page.locator('[data-chart="backlog"]').getAttribute('aria-label');
  assert.match(label ?? '', /^Backlog: inbox \d+ · outbox \d+$/);
}

void describe('live charts in a real browser', () => {
  void it('the emulator\'s inspector charts events/s, replies/s, latency and the backlog, live', async () => {
    assert.ok(emulator);
    const app = emulator;
    await inNewTab('charts-emulator', () => app.output(), async (page) => {
      await page.goto(app.url);
      await page.getByLabel('Messenger').check();
      await page.getByLabel('Your name').fill('Noor');
      await page.getByRole('button', { name: 'Start chatting' }).click();
      await expectLiveCharts(page);
      assert.equal(await page.locator('[data-chart="events"]').getAttribute('data-max'), '0');
      const box = page.getByRole('textbox', { name: 'Message' });
      await box.fill('hello');
      await box.press('Enter');
      await page.locator('.row.bot', { hasText: createTranslations().fixedT('en_US')('welcome.anonymous') }).last().waitFor();
      await expectTrafficInCharts(page);
    });
  });

  void it('the live dashboard charts the bot\'s worker thread from the same numbers, behind the dashboard token', async () => {
    assert.ok(live);
    const app = live;
    await inNewTab('charts-dashboard', () => app.output(), async (page) => {
      await page.goto(`${app.url}/dashboard`);
      await page.getByLabel('Dashboard token').fill(DASHBOARD_TOKEN);
      await page.getByRole('button', { name: 'Open' }).click();
      await expectLiveCharts(page);
      for (let i = 0; i < 5; i += 1) assert.equal(await app.post(pageNotification([orderStatusItem(psid(1400 + i), Date.now() - 1000)])), 200);
      await page.locator('.record.webhook').nth(4).waitFor();
      await expectTrafficInCharts(page);
    });
  });
});
