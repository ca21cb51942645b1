// The one place that reads the environment. Parsed once, validated, frozen; a wrong value stops
// start-up with a ConfigError naming the variable and the fix.
import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import dotenv from 'dotenv';
import {
  EMULATED_IG_ACCOUNT_ID,
  EMULATED_IG_LOGIN_ACCOUNT_ID,
  EMULATED_NAMES,
  EMULATED_PAGE_ID,
  EMULATED_SECOND_PAGE_ID,
} from './accounts/emulated.ts';
import { fileIo, readAccountsFile, type AccountsFileIo } from './accounts/file.ts';
import type { Account } from './accounts/types.ts';
import { ConfigError } from './errors.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.ts';

export const DEFAULT_GRAPH_API_URL = 'https://graph.facebook.com';
export const DEFAULT_GRAPH_API_VERSION = 'v24.0';
export const DEFAULT_INSTAGRAM_API_URL = 'https://graph.instagram.com';

export interface Config {
  /** `live` talks to Meta (PAGE_ACCESS_TOKEN or ACCOUNTS_FILE set); `emulator` runs a local Graph API and chat page. */
  mode: 'live' | 'emulator';
  /**
   * Emulator mode with APP_SECRET set in the environment: the secrets (and the emulator's Page token,
   * derived from APP_SECRET) are the same in every process, so scripts can talk to a running emulator.
   */
  emulatorPinned: boolean;
  PORT: number;
  /**
   * The interface the server listens on: loopback (127.0.0.1) by default in emulator mode, which is
   * for this machine only; undefined (every interface) by default in live mode.
   */
  HOST: string | undefined;
  APP_ID: string | undefined;
  APP_SECRET: string;
  /**
   * The single-Page variables. Without ACCOUNTS_FILE they make the one page account (PAGE_ID is
   * required in live mode; the emulator's first Page otherwise); with it they are those of the
   * file's first Page ('' when it lists none). Code that serves several accounts reads `accounts`.
   */
  PAGE_ID: string;
  PAGE_ACCESS_TOKEN: string;
  VERIFY_TOKEN: string;
  APP_URL: string;
  IG_ACCOUNT_ID: string | undefined;
  /** The path of the accounts file, when the accounts come from one. */
  ACCOUNTS_FILE: string | undefined;
  /**
   * Every account this deployment serves, validated (unique ids); the first is the default
   * account. From ACCOUNTS_FILE, or the one Page of PAGE_ID, or the emulator's three accounts.
   */
  accounts: readonly Account[];
  GRAPH_API_URL: string;
  GRAPH_API_VERSION: string;
  /** Base URL of every Instagram Login call (with GRAPH_API_VERSION): graph.instagram.com, or the emulator's. */
  INSTAGRAM_API_URL: string;
  /** Signs Instagram Login accounts' webhooks and makes their appsecret_proof; APP_SECRET unless set. */
  INSTAGRAM_APP_SECRET: string;
  LOG_LEVEL: LogLevel;
  /** `json` lines, `pretty` (pino-pretty) for a person, or `auto`: pretty when stdout is a terminal. */
  LOG_FORMAT: LogFormat;
  /**
   * Where state, inbox and outbox live: `sqlite:PATH` (live default `sqlite:./data/bot.db`),
   * `postgres://…` / `postgresql://…` (several instances on one database) or `memory:` (emulator default).
   */
  DATABASE_URL: string;
  /** PostgreSQL connections of the bot's worker (the webhook's thread uses two of its own). */
  DATABASE_POOL_SIZE: number;
  /** Send API calls per second per account: each Page, each Instagram Login account (Meta allows 300/s for text; default stays below). */
  SEND_RATE_LIMIT: number;
  /** Presented as a bearer token to open the live dashboard in live mode; unset = dashboard off. */
  DASHBOARD_TOKEN: string | undefined;
  /** Things worth telling the operator at start-up (e.g. an accounts file others can read): the caller logs them. */
  warnings: readonly string[];
  /** Presented as a bearer token by Prometheus to scrape GET /metrics; unset = /metrics off (404). */
  METRICS_TOKEN: string | undefined;
  /** Live mode: how often the watchdog checks the webhook subscription, in ms; 0 = never. */
  WATCHDOG_INTERVAL_MS: number;
  /** Live mode: the watchdog subscribes again (as `npm run setup -- subscribe` does) when it finds drift. */
  WATCHDOG_RESUBSCRIBE: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the config from an environment object (process.env in app.ts, a literal in tests).
 * `io` reads ACCOUNTS_FILE (the file system unless a test injects one).
 */
export function loadConfig(env: Env, io: AccountsFileIo = fileIo): Readonly<Config> {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const token = read('PAGE_ACCESS_TOKEN');
  const accountsFile = read('ACCOUNTS_FILE');
  if (accountsFile !== undefined && token !== undefined) {
    throw new ConfigError(
      'ACCOUNTS_FILE',
      'and PAGE_ACCESS_TOKEN are both set, and only one of them may say which accounts the bot serves',
      'keep ACCOUNTS_FILE and move the Page into it (its page_id and access_token), then remove PAGE_ACCESS_TOKEN (and PAGE_ID, IG_ACCOUNT_ID) from .env; or remove ACCOUNTS_FILE to run the one Page of PAGE_ACCESS_TOKEN',
    );
  }
  const mode = token === undefined && accountsFile === undefined ? 'emulator' : 'live';
  const PORT = parsePort(read('PORT'));
  const secrets = mode === 'live' ? requireLiveSecrets(read, accountsFile === undefined ? 'PAGE_ACCESS_TOKEN' : 'ACCOUNTS_FILE') : emulatorSecrets(read);
  const pinned = mode === 'emulator' && read('APP_SECRET') !== undefined;
  const warnings: string[] = [];
  const IG_ACCOUNT_ID = numericId('IG_ACCOUNT_ID', read('IG_ACCOUNT_ID'));
  let accounts: Account[];
  let single: { PAGE_ID: string; PAGE_ACCESS_TOKEN: string; IG_ACCOUNT_ID: string | undefined };
  if (accountsFile !== undefined) {
    const file = readAccountsFile(accountsFile, io);
    accounts = file.accounts;
    warnings.push(...file.warnings);
    for (const name of ['PAGE_ID', 'IG_ACCOUNT_ID'].filter((n) => read(n) !== undefined)) {
      warnings.push(`${name} is ignored: with ACCOUNTS_FILE the file lists the accounts. Remove ${name} from .env`);
    }
    const firstPage = accounts.find((a) => a.type === 'page');
    single = { PAGE_ID: firstPage?.page_id ?? '', PAGE_ACCESS_TOKEN: firstPage?.access_token ?? '', IG_ACCOUNT_ID: firstPage?.instagram_account_id };
  } else {
    const PAGE_ID = parsePageId(read('PAGE_ID'), mode);
    const PAGE_ACCESS_TOKEN = token ?? emulatorToken('emulator page token', pinned ? secrets.APP_SECRET : undefined);
    single = { PAGE_ID, PAGE_ACCESS_TOKEN, IG_ACCOUNT_ID };
    accounts = mode === 'live'
      ? [{ type: 'page', key: PAGE_ID, page_id: PAGE_ID, access_token: PAGE_ACCESS_TOKEN, instagram_account_id: IG_ACCOUNT_ID, name: undefined }]
      : emulatorAccounts(PAGE_ID, PAGE_ACCESS_TOKEN, IG_ACCOUNT_ID, pinned ? secrets.APP_SECRET : undefined);
  }
  const config: Config = {
    mode,
    emulatorPinned: pinned,
    PORT,
    HOST: parseHost(read('HOST'), mode),
    APP_ID: numericId('APP_ID', read('APP_ID')) ?? (mode === 'emulator' ? '100000000000001' : undefined),
    APP_SECRET: secrets.APP_SECRET,
    ...single,
    VERIFY_TOKEN: secrets.VERIFY_TOKEN,
    APP_URL: parseAppUrl(read('APP_URL'), PORT),
    ACCOUNTS_FILE: accountsFile,
    accounts: Object.freeze(accounts.map((a) => Object.freeze(a))),
    GRAPH_API_URL: parseGraphUrl(read('GRAPH_API_URL'), mode, PORT),
    GRAPH_API_VERSION: parseVersion(read('GRAPH_API_VERSION')),
    INSTAGRAM_API_URL: parseInstagramUrl(read('INSTAGRAM_API_URL'), mode, PORT),
    INSTAGRAM_APP_SECRET: read('INSTAGRAM_APP_SECRET') ?? secrets.APP_SECRET,
    LOG_LEVEL: parseLogLevel(read('LOG_LEVEL')),
    LOG_FORMAT: parseLogFormat(read('LOG_FORMAT')),
    DATABASE_URL: parseDatabaseUrl(read('DATABASE_URL'), mode),
    DATABASE_POOL_SIZE: parsePoolSize(read('DATABASE_POOL_SIZE')),
    SEND_RATE_LIMIT: parseRate(read('SEND_RATE_LIMIT')),
    DASHBOARD_TOKEN: parseDashboardToken(read('DASHBOARD_TOKEN')),
    warnings: Object.freeze(warnings),
    METRICS_TOKEN: parseMetricsToken(read('METRICS_TOKEN')),
    WATCHDOG_INTERVAL_MS: parseInterval(read('WATCHDOG_INTERVAL')),
    WATCHDOG_RESUBSCRIBE: parseBoolean('WATCHDOG_RESUBSCRIBE', read('WATCHDOG_RESUBSCRIBE')),
  };
  return Object.freeze(config);
}

/**
 * For entry points (app.ts, scripts) only, never on import: `.env` (if present) into the
 * environment, then the config. Returns undefined after printing which variable is wrong and the fix.
 */
export function configFromEnvironment(report: (line: string) => void = (line) => process.stderr.write(line)): Readonly<Config> | undefined {
  dotenv.config({ quiet: true });
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    report(`Configuration error: ${err.message}\n`);
    return undefined;
  }
}

/**
 * The secret values of a config, for the logger, the dashboard and the emulator to redact wherever
 * they might appear: the app secrets, every account's token, the verify and dashboard tokens.
 */
export function secretsOf(config: Config): string[] {
  const all = [
    config.APP_SECRET,
    config.INSTAGRAM_APP_SECRET,
    config.PAGE_ACCESS_TOKEN,
    ...config.accounts.map((a) => a.access_token),
    config.VERIFY_TOKEN,
    config.DASHBOARD_TOKEN,
    config.METRICS_TOKEN,
    ...databasePasswords(config.DATABASE_URL),
  ];
  return [...new Set(all.filter((s): s is string => s !== undefined && s !== ''))];
}

/** The password in a PostgreSQL URL, as written (percent-encoded) and as sent; also a `password=` option. */
function databasePasswords(url: string): string[] {
  if (!POSTGRES_URL.test(url)) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const found = [parsed.password, parsed.searchParams.get('password') ?? ''].filter((p) => p !== '');
  const decoded = found.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return [...new Set([...found, ...decoded])];
}

/** The secrets Meta signs webhooks with: APP_SECRET, and INSTAGRAM_APP_SECRET when it is another. */
export function signingSecrets(config: Pick<Config, 'APP_SECRET' | 'INSTAGRAM_APP_SECRET'>): string[] {
  return [...new Set([config.APP_SECRET, config.INSTAGRAM_APP_SECRET])];
}

function requireLiveSecrets(read: (name: string) => string | undefined, because: 'PAGE_ACCESS_TOKEN' | 'ACCOUNTS_FILE') {
  const need = (name: string, where: string): string => {
    const value = read(name);
    if (value === undefined) {
      throw new ConfigError(name, `is required when ${because} is set`, `set ${name} in .env (${where})`);
    }
    return value;
  };
  return {
    APP_SECRET: need('APP_SECRET', 'Meta App Dashboard > App settings > Basic > App secret'),
    VERIFY_TOKEN: need('VERIFY_TOKEN', 'any long random string; give Meta the same one when subscribing'),
  };
}

function emulatorSecrets(read: (name: string) => string | undefined) {
  // Fresh per run unless pinned (e.g. to sign test events with `npm run send-test-event`): the
  // emulator signs its own notifications, so nothing needs to be configured.
  return {
    APP_SECRET: read('APP_SECRET') ?? randomBytes(24).toString('hex'),
    VERIFY_TOKEN: read('VERIFY_TOKEN') ?? randomBytes(12).toString('hex'),
  };
}

/** Random per run, or derived from a pinned APP_SECRET so another process can compute it too. */
function emulatorToken(label: string, pinnedSecret: string | undefined): string {
  const material = pinnedSecret ? createHmac('sha256', pinnedSecret).update(label).digest('hex') : randomBytes(16).toString('hex');
  return `EMULATOR-${material.slice(0, 32)}`;
}

/**
 * The emulator's accounts: the first Page (PAGE_ID, with IG_ACCOUNT_ID or the emulator's linked
 * Instagram account), a second Page, and an Instagram Login account, each with its own token.
 * An extra account whose id PAGE_ID or IG_ACCOUNT_ID already took is left out.
 */
function emulatorAccounts(pageId: string, pageToken: string, igAccountId: string | undefined, pinnedSecret: string | undefined): Account[] {
  const first: Account = { type: 'page', key: pageId, page_id: pageId, access_token: pageToken, instagram_account_id: igAccountId ?? EMULATED_IG_ACCOUNT_ID, name: EMULATED_NAMES.firstPage };
  const taken = new Set([pageId, first.instagram_account_id]);
  const extras: Account[] = [
    { type: 'page', key: EMULATED_SECOND_PAGE_ID, page_id: EMULATED_SECOND_PAGE_ID, access_token: emulatorToken('emulator second page token', pinnedSecret), instagram_account_id: undefined, name: EMULATED_NAMES.secondPage },
    { type: 'instagram', key: EMULATED_IG_LOGIN_ACCOUNT_ID, instagram_account_id: EMULATED_IG_LOGIN_ACCOUNT_ID, access_token: emulatorToken('emulator instagram login token', pinnedSecret), name: EMULATED_NAMES.igLogin },
  ];
  return [first, ...extras.filter((a) => !taken.has(a.key))];
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError('PORT', `"${raw}" is not a port number`, 'use a whole number from 0 to 65535, e.g. PORT=3000');
  }
  return port;
}

function parseHost(raw: string | undefined, mode: Config['mode']): string | undefined {
  if (raw === undefined) return mode === 'emulator' ? '127.0.0.1' : undefined;
  const host = raw.replace(/^\[(.*)\]$/, '$1');
  const hostName = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
  if (isIP(host) === 0 && !hostName.test(host)) {
    throw new ConfigError('HOST', `"${raw}" is not an IP address or host name`, 'use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (every interface), without a scheme or port');
  }
  return host;
}

function numericId(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !/^\d+$/.test(raw)) {
    throw new ConfigError(name, 'must be a numeric ID', `copy the numeric ${name} from Meta's dashboard, without quotes`);
  }
  return raw;
}

/**
 * The bot answers only for its own Page (and Instagram account), so in live mode it must know
 * which Page that is; the emulator plays a Page of its own.
 */
function parsePageId(raw: string | undefined, mode: Config['mode']): string {
  const id = numericId('PAGE_ID', raw);
  if (id !== undefined) return id;
  if (mode === 'emulator') return EMULATED_PAGE_ID;
  throw new ConfigError(
    'PAGE_ID',
    'is required when PAGE_ACCESS_TOKEN is set: the bot answers only for its own Page',
    'set PAGE_ID in .env to the numeric ID of the Page the token belongs to (Page > About > Page transparency, or Messenger API Settings)',
  );
}

function parseUrl(name: string, raw: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw}" is not a URL`, `use an absolute URL such as ${example}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(name, `"${url.protocol}" is not http or https`, `use an absolute URL such as ${example}`);
  }
  return url;
}

function parseAppUrl(raw: string | undefined, port: number): string {
  if (raw === undefined) return `http://localhost:${port}`;
  return stripSlash(parseUrl('APP_URL', raw, 'https://abc123.ngrok-free.app').toString());
}

function parseGraphUrl(raw: string | undefined, mode: Config['mode'], port: number): string {
  if (raw === undefined) return mode === 'emulator' ? `http://127.0.0.1:${port}/emulator/graph` : DEFAULT_GRAPH_API_URL;
  return stripSlash(parseUrl('GRAPH_API_URL', raw, DEFAULT_GRAPH_API_URL).toString());
}

function parseInstagramUrl(raw: string | undefined, mode: Config['mode'], port: number): string {
  if (raw === undefined) return mode === 'emulator' ? `http://127.0.0.1:${port}/emulator/instagram` : DEFAULT_INSTAGRAM_API_URL;
  return stripSlash(parseUrl('INSTAGRAM_API_URL', raw, DEFAULT_INSTAGRAM_API_URL).toString());
}

function parseVersion(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_GRAPH_API_VERSION;
  if (!/^v\d+\.\d+$/.test(raw)) {
    throw new ConfigError('GRAPH_API_VERSION', `"${raw}" is not a Graph API version`, `use the form ${DEFAULT_GRAPH_API_VERSION}`);
  }
  return raw;
}

function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined) return 'info';
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `"${raw}" is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

function parseLogFormat(raw: string | undefined): LogFormat {
  if (raw === undefined) return 'auto';
  const format = raw.toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError('LOG_FORMAT', `"${raw}" is not a log format`, `use ${LOG_FORMATS.join(', ')} (auto: pretty at a terminal, JSON lines otherwise)`);
  }
  return format as LogFormat;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

function parseDatabaseUrl(raw: string | undefined, mode: Config['mode']): string {
  // The emulator's users live for one run, so its default store does too.
  if (raw === undefined) return mode === 'emulator' ? 'memory:' : 'sqlite:./data/bot.db';
  if (raw === 'memory:' || /^sqlite:.+/.test(raw)) return raw;
  const fix = 'use sqlite:PATH (e.g. sqlite:./data/bot.db), postgres://USER:PASSWORD@HOST:5432/DATABASE or memory:';
  if (POSTGRES_URL.test(raw)) {
    try {
      new URL(raw);
      return raw;
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid PostgreSQL URL', `${fix}; percent-encode special characters in the password (@ is %40, / is %2F)`);
    }
  }
  throw new ConfigError('DATABASE_URL', `"${withoutPassword(raw)}" is not a supported store`, fix);
}

/** A URL-like value as it may be shown: whatever sits between "//" and "@" (credentials) is masked. */
function withoutPassword(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//***@');
}

function parsePoolSize(raw: string | undefined): number {
  if (raw === undefined) return 10;
  const size = Number(raw);
  if (!/^\d+$/.test(raw) || size < 1 || size > 100) {
    throw new ConfigError('DATABASE_POOL_SIZE', `"${raw}" is not a pool size from 1 to 100`, 'use PostgreSQL connections per instance, e.g. DATABASE_POOL_SIZE=10 (the default)');
  }
  return size;
}

function parseRate(raw: string | undefined): number {
  if (raw === undefined) return 250;
  const rate = Number(raw);
  if (!/^\d+$/.test(raw) || rate < 1 || rate > 300) {
    throw new ConfigError('SEND_RATE_LIMIT', `"${raw}" is not a rate from 1 to 300`, 'use sends per second per account, e.g. SEND_RATE_LIMIT=250 (Meta allows 300)');
  }
  return rate;
}

function parseDashboardToken(raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.length < 16) {
    throw new ConfigError('DASHBOARD_TOKEN', 'is too short to protect user messages', 'use at least 16 random characters, e.g. from `openssl rand -hex 16`');
  }
  return raw;
}

function parseMetricsToken(raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'is too short to protect /metrics', 'use at least 16 random characters, e.g. from `openssl rand -hex 16`, and give Prometheus the same one');
  }
  return raw;
}

const DEFAULT_WATCHDOG_MS = 15 * 60_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Seconds (`900`), or a number with s, m or h (`900s`, `15m`, `1h`); `off` (or 0) turns the
 * watchdog off. At least a minute: Graph limits the app's calls, and drift is not that quick.
 */
function parseInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_WATCHDOG_MS;
  const value = raw.toLowerCase();
  if (value === 'off' || value === '0') return 0;
  const match = /^(\d+)([smh]?)$/.exec(value);
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] || 's'] ?? 1000) : NaN;
  if (!(ms >= 60_000 && ms <= 24 * 3_600_000)) {
    throw new ConfigError('WATCHDOG_INTERVAL', `"${raw}" is not an interval from 1 minute to 24 hours`, 'use e.g. WATCHDOG_INTERVAL=15m, 900s or 900 (seconds), or off');
  }
  return ms;
}

function parseBoolean(name: string, raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new ConfigError(name, `"${raw}" is not true or false`, `use ${name}=true or ${name}=false`);
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
