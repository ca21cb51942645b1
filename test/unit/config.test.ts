import { describe, it, expect } from '@jest/globals';
import { loadConfig, secretsOf } from '../../services/config.ts';
import { ConfigError } from '../../services/errors.ts';

const LIVE = {
  PAGE_ACCESS_TOKEN: 'EAAlivePageToken0123456789',
  APP_SECRET: 'live-app-secret-0123456789',
  VERIFY_TOKEN: 'live-verify-token-0123456789',
  PAGE_ID: '1234567890',
};

/** The ConfigError loadConfig throws for this env (fails the test if it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('fills every optional value with its documented default', () => {
    const config = loadConfig(LIVE);
    expect(config).toMatchObject({
      mode: 'live',
      PORT: 3000,
      GRAPH_API_URL: 'https://graph.facebook.com',
      GRAPH_API_VERSION: 'v24.0',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'sqlite:./data/bot.db',
      SEND_RATE_LIMIT: 250,
      APP_URL: 'http://localhost:3000',
      DASHBOARD_TOKEN: undefined,
    });
  });

  it('keeps valid explicit values', () => {
    const config = loadConfig({ ...LIVE, PORT: '8080', LOG_LEVEL: 'DEBUG', DATABASE_URL: 'memory:', SEND_RATE_LIMIT: '300', GRAPH_API_VERSION: 'v23.0' });
    expect(config).toMatchObject({ PORT: 8080, LOG_LEVEL: 'debug', DATABASE_URL: 'memory:', SEND_RATE_LIMIT: 300, GRAPH_API_VERSION: 'v23.0' });
  });

  it('treats empty and blank strings as unset', () => {
    const config = loadConfig({ ...LIVE, PORT: '', LOG_LEVEL: '  ', DATABASE_URL: '', SEND_RATE_LIMIT: '', APP_ID: '', DASHBOARD_TOKEN: '' });
    expect(config).toMatchObject({ PORT: 3000, LOG_LEVEL: 'info', DATABASE_URL: 'sqlite:./data/bot.db', SEND_RATE_LIMIT: 250, APP_ID: undefined, DASHBOARD_TOKEN: undefined });
    expect(loadConfig({ PAGE_ACCESS_TOKEN: '' }).mode).toBe('emulator');
  });

  it('strips trailing slashes from URLs', () => {
    const config = loadConfig({ ...LIVE, APP_URL: 'https://bot.example.test/', GRAPH_API_URL: 'https://graph.test/base//' });
    expect(config.APP_URL).toBe('https://bot.example.test');
    expect(config.GRAPH_API_URL).toBe('https://graph.test/base');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig(LIVE))).toBe(true);
  });
});

describe('loadConfig emulator mode', () => {
  it('is chosen when PAGE_ACCESS_TOKEN is unset, with fresh random secrets', () => {
    const a = loadConfig({});
    const b = loadConfig({});
    expect(a.mode).toBe('emulator');
    expect(a.APP_SECRET).toMatch(/^[0-9a-f]{48}$/);
    expect(a.VERIFY_TOKEN).toMatch(/^[0-9a-f]{24}$/);
    expect(a.PAGE_ACCESS_TOKEN).toMatch(/^EMULATOR-[0-9a-f]{32}$/);
    expect(b.APP_SECRET).not.toBe(a.APP_SECRET);
    expect(b.PAGE_ACCESS_TOKEN).not.toBe(a.PAGE_ACCESS_TOKEN);
  });

  it('points the Graph API at the local emulator on PORT', () => {
    expect(loadConfig({ PORT: '4321' }).GRAPH_API_URL).toBe('http://127.0.0.1:4321/emulator/graph');
    expect(loadConfig({}).GRAPH_API_URL).toBe('http://127.0.0.1:3000/emulator/graph');
  });
});

describe('loadConfig live mode', () => {
  it.each(['APP_SECRET', 'VERIFY_TOKEN', 'PAGE_ID'])('requires %s, naming it and the fix', (name) => {
    const env: Record<string, string> = { ...LIVE };
    delete env[name];
    const err = configError(env);
    expect(err.variable).toBe(name);
    expect(err.message).toMatch(new RegExp(`^${name}: .*Fix: set ${name} in \\.env`));
    expect(configError({ ...LIVE, [name]: '' }).variable).toBe(name);
  });
});

describe('loadConfig PAGE_ID', () => {
  it('says why a live bot needs it: it answers only for its own Page', () => {
    const { PAGE_ID: _omitted, ...env } = LIVE;
    expect(configError(env).message).toMatch(/^PAGE_ID: is required when PAGE_ACCESS_TOKEN is set: the bot answers only for its own Page\. Fix: set PAGE_ID in \.env to the numeric ID/);
  });

  it("is the emulator's Page in emulator mode, unless set", () => {
    expect(loadConfig({}).PAGE_ID).toBe('100000000000002');
    expect(loadConfig({ PAGE_ID: '555' }).PAGE_ID).toBe('555');
  });
});

describe('loadConfig rejects invalid values', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['APP_ID', '12a'],
    ['PAGE_ID', 'my-page'],
    ['IG_ACCOUNT_ID', '1784x'],
    ['APP_URL', 'not a url'],
    ['APP_URL', 'ftp://x'],
    ['GRAPH_API_URL', 'graph.facebook.com'],
    ['GRAPH_API_URL', 'ftp://graph.test'],
    ['GRAPH_API_VERSION', '21'],
    ['GRAPH_API_VERSION', 'v21'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'sqlite:'],
    ['SEND_RATE_LIMIT', '0'],
    ['SEND_RATE_LIMIT', '301'],
    ['SEND_RATE_LIMIT', 'x'],
    ['DASHBOARD_TOKEN', '0123456789abcde'],
    ['METRICS_TOKEN', '0123456789abcde'],
    ['WATCHDOG_INTERVAL', '30s'],
    ['WATCHDOG_INTERVAL', '25h'],
    ['WATCHDOG_INTERVAL', '15 minutes'],
    ['WATCHDOG_INTERVAL', '-900'],
    ['WATCHDOG_RESUBSCRIBE', 'sometimes'],
  ])('%s=%j', (name, value) => {
    const err = configError({ ...LIVE, [name]: value });
    expect(err.variable).toBe(name);
    expect(err.message.startsWith(`${name}: `)).toBe(true);
    expect(err.message).toContain('Fix: ');
  });

  it('accepts a 16-character DASHBOARD_TOKEN', () => {
    expect(loadConfig({ ...LIVE, DASHBOARD_TOKEN: '0123456789abcdef' }).DASHBOARD_TOKEN).toBe('0123456789abcdef');
  });
});

describe('monitoring settings', () => {
  it('read the watchdog interval as seconds or with a unit, off to disable, 15 minutes by default', () => {
    expect(loadConfig(LIVE)).toMatchObject({ WATCHDOG_INTERVAL_MS: 900_000, WATCHDOG_RESUBSCRIBE: false, METRICS_TOKEN: undefined });
    expect(loadConfig({ ...LIVE, WATCHDOG_INTERVAL: '900' }).WATCHDOG_INTERVAL_MS).toBe(900_000);
    expect(loadConfig({ ...LIVE, WATCHDOG_INTERVAL: '900s' }).WATCHDOG_INTERVAL_MS).toBe(900_000);
    expect(loadConfig({ ...LIVE, WATCHDOG_INTERVAL: '5m' }).WATCHDOG_INTERVAL_MS).toBe(300_000);
    expect(loadConfig({ ...LIVE, WATCHDOG_INTERVAL: '1H' }).WATCHDOG_INTERVAL_MS).toBe(3_600_000);
    expect(loadConfig({ ...LIVE, WATCHDOG_INTERVAL: 'off' }).WATCHDOG_INTERVAL_MS).toBe(0);
    expect(loadConfig({ ...LIVE, WATCHDOG_RESUBSCRIBE: 'true' }).WATCHDOG_RESUBSCRIBE).toBe(true);
    expect(loadConfig({ ...LIVE, METRICS_TOKEN: '0123456789abcdef' }).METRICS_TOKEN).toBe('0123456789abcdef');
  });
});

describe('secretsOf', () => {
  it('lists the app secret, the tokens and the dashboard token when set', () => {
    expect(secretsOf(loadConfig(LIVE))).toEqual([LIVE.APP_SECRET, LIVE.PAGE_ACCESS_TOKEN, LIVE.VERIFY_TOKEN]);
    const withDashboard = loadConfig({ ...LIVE, DASHBOARD_TOKEN: 'dash-0123456789abcdef' });
    expect(secretsOf(withDashboard)).toContain('dash-0123456789abcdef');
    expect(secretsOf(withDashboard)).toHaveLength(4);
    expect(secretsOf(loadConfig({ ...LIVE, METRICS_TOKEN: 'metrics-0123456789abcdef' }))).toContain('metrics-0123456789abcdef');
  });
});
