// What every setup command gets injected, the exit codes they return, and the one guard that
// stops them early when the config cannot reach a real Page.
import type { Config } from '../../services/config.ts';
import type { GraphClient } from '../../services/graph/client.ts';
import type { Translations } from '../../services/i18n.ts';
import type { Output } from './output.ts';

export const EXIT = {
  /** Done, or every check passed. */
  OK: 0,
  /** A Graph call or a check failed. */
  FAILED: 1,
  /** Bad command line or configuration: nothing was sent. */
  USAGE: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface SetupDeps {
  config: Readonly<Config>;
  /** The one Graph client; its default token is the Page token. */
  graph: GraphClient;
  out: Output;
  /** For the webhook verification request in `doctor`; global fetch otherwise. */
  fetchImpl?: typeof fetch;
  /** Locale strings for the Messenger Profile; loaded from locales/ otherwise. */
  translations?: Translations;
  /** The hub.challenge to send; random otherwise. */
  challenge?: () => string;
  /** Milliseconds since the epoch, for token expiry. */
  now?: () => number;
}

/** The values every live command needs, checked present. */
export interface LiveTarget {
  appId: string;
  pageId: string;
  /** `APP_ID|APP_SECRET`: sent only in the Authorization header, never printed. */
  appToken: string;
}

export interface MissingSetting {
  variable: string;
  fix: string;
}

/** Settings the setup commands cannot work without, each with where to find it. */
export function missingSettings(config: Readonly<Config>): MissingSetting[] {
  const missing: MissingSetting[] = [];
  if (config.mode !== 'live' && !config.emulatorPinned) {
    missing.push({
      variable: 'PAGE_ACCESS_TOKEN',
      fix:
        'set it in .env to a Page token (App Dashboard > Messenger > Messenger API Settings > Generate token); ' +
        'or, to try the commands against the emulator, set APP_SECRET and VERIFY_TOKEN in .env and restart npm start',
    });
  }
  if (config.APP_ID === undefined) {
    missing.push({ variable: 'APP_ID', fix: 'copy the numeric App ID from App Dashboard > App settings > Basic into .env' });
  }
  if (config.PAGE_ID === undefined) {
    missing.push({ variable: 'PAGE_ID', fix: 'copy the numeric Page ID (Page > About > Page transparency, or Messenger API Settings) into .env' });
  }
  return missing;
}

/** The live target, or undefined after printing which variable is missing and how to fix it. */
export function requireLive(deps: Pick<SetupDeps, 'config' | 'out'>): LiveTarget | undefined {
  const { config, out } = deps;
  const missing = missingSettings(config);
  if (missing.length > 0 || config.APP_ID === undefined || config.PAGE_ID === undefined) {
    out.line('The setup commands need a real Meta app and Page, and .env is missing:');
    for (const m of missing) out.line(`  ${m.variable}: ${m.fix}.`);
    out.line('Nothing was sent. See "Connect your Page" in the README.');
    return undefined;
  }
  return { appId: config.APP_ID, pageId: config.PAGE_ID, appToken: `${config.APP_ID}|${config.APP_SECRET}` };
}

/** Meta only calls (and Messenger only allow-lists) https URLs that it can reach; the emulator calls localhost. */
export function publicHttpsProblem(appUrl: string, mode: Config['mode'] = 'live'): string | undefined {
  if (mode === 'emulator') return undefined;
  const url = new URL(appUrl);
  if (url.protocol !== 'https:') return `APP_URL is ${url.protocol.replace(':', '')}, and Meta only calls https URLs`;
  if (['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return 'APP_URL points at this machine, which Meta cannot reach';
  return undefined;
}

export const APP_URL_FIX = 'start a tunnel (ngrok http 3000, or cloudflared tunnel --url http://localhost:3000) and set APP_URL in .env to its https URL';
