// How a failed Graph call is shown: code, subcode, message and fbtrace_id (what Meta support asks
// for), plus a hint for the failures people hit while connecting a Page. Never a token or a URL
// with a query string: GraphApiError holds neither.
import type { Account } from '../../services/accounts/types.ts';
import { secretsOf, type Config } from '../../services/config.ts';
import { GraphApiError } from '../../services/errors.ts';
import { FAIL, paint, table, type Output } from './output.ts';

/** Which token the failed call carried, so the hint names the right variable. */
export type TokenKind = 'app' | 'page' | 'instagram';

export interface ErrorContext {
  token: TokenKind;
  appUrl: string;
  graphUrl: string;
  /** Where the token of the failed call is configured: `PAGE_ACCESS_TOKEN`, or its entry in ACCOUNTS_FILE. */
  tokenSource: string;
  /** Values scrubbed from Graph's message before it is shown (Graph sometimes quotes a token). */
  secrets: readonly string[];
}

/** The context of a call with the app token, or with an account's token (its kind follows the account). */
export function errorContext(config: Readonly<Config>, token: TokenKind, account?: Account): ErrorContext {
  const secrets = [...secretsOf(config), `${config.APP_ID ?? ''}|${config.APP_SECRET}`];
  const kind: TokenKind = account === undefined ? token : account.type === 'page' ? 'page' : 'instagram';
  const tokenSource =
    config.ACCOUNTS_FILE === undefined || account === undefined ? 'PAGE_ACCESS_TOKEN' : `the access_token of ${account.type} ${account.type === 'page' ? account.page_id : account.instagram_account_id} in ACCOUNTS_FILE`;
  return { token: kind, appUrl: config.APP_URL, graphUrl: kind === 'instagram' ? config.INSTAGRAM_API_URL : config.GRAPH_API_URL, tokenSource, secrets };
}

/** Graph's message without any of our secrets in it. */
export function safeMessage(err: GraphApiError, ctx: ErrorContext): string {
  let text = err.graphMessage;
  for (const secret of ctx.secrets) if (secret.length >= 4) text = text.split(secret).join('[REDACTED]');
  return text;
}

const RATE_LIMIT_CODES = new Set([4, 17, 32, 613]);
const CALLBACK_CODES = new Set([2200, 2201]);

/** Lines that tell a person what to try next, or none when we have nothing better than Graph's text. */
export function hintsFor(err: GraphApiError, ctx: ErrorContext): string[] {
  if (err.status === undefined) {
    return [`no answer from ${ctx.graphUrl}: check the network, or that the mock or emulator behind ${ctx.token === 'instagram' ? 'INSTAGRAM_API_URL' : 'GRAPH_API_URL'} is running`];
  }
  const code = err.code;
  if (code !== undefined && (CALLBACK_CODES.has(code) || (err.error_subcode !== undefined && CALLBACK_CODES.has(err.error_subcode)))) {
    return callbackChecklist(ctx.appUrl);
  }
  if (code === 190 || code === 102) {
    if (ctx.token === 'page') {
      const where = ctx.tokenSource === 'PAGE_ACCESS_TOKEN' ? 'put it in .env' : 'put it there';
      return [`${ctx.tokenSource} is invalid or expired: generate a new Page token (App Dashboard > Messenger > Messenger API Settings > Generate token) and ${where}`];
    }
    if (ctx.token === 'instagram') {
      return [`${ctx.tokenSource} is invalid or expired: generate a new one (App Dashboard > Instagram > API setup with Instagram login > Generate token) and put it there; check INSTAGRAM_APP_SECRET too (App Dashboard > Instagram > API setup with Instagram login > Business login settings)`];
    }
    return ['the app token was rejected: check that APP_ID and APP_SECRET in .env belong to the same app (App Dashboard > App settings > Basic)'];
  }
  if (code === 10 || (code !== undefined && code >= 200 && code <= 299)) {
    if (ctx.token === 'page') {
      return [
        'the Page token lacks a permission: generate it again with pages_messaging and pages_manage_metadata (plus instagram_basic and instagram_manage_messages for Instagram,',
        'and the comment permissions when data/comment-replies.json has triggers), as someone with full control of the Page; `npm run setup -- doctor` names the missing ones',
      ];
    }
    if (ctx.token === 'instagram') {
      return ['the Instagram token lacks a permission: generate it again granting instagram_business_basic and instagram_business_manage_messages (and instagram_business_manage_comments when data/comment-replies.json has triggers on Instagram); `npm run setup -- doctor` names the missing ones'];
    }
    return ['the app token cannot do this: check APP_ID and APP_SECRET, and that the Messenger (and Instagram) product is added to the app'];
  }
  if (code === 100) {
    return [
      'Graph rejected a parameter: usually a field name this object or GRAPH_API_VERSION does not know,',
      'or a product missing from the app (add Messenger, and Instagram for object=instagram, in the App Dashboard)',
    ];
  }
  if (code !== undefined && RATE_LIMIT_CODES.has(code)) {
    return ['Graph is throttling these calls: wait a few minutes and run the command again'];
  }
  return [];
}

/** What to check when Meta's verification GET to our callback fails. */
export function callbackChecklist(appUrl: string): string[] {
  return [
    `Meta could not verify ${appUrl}/webhook. Check that:`,
    '  1. the bot is running (npm start) and the tunnel is up and forwards to its PORT;',
    '  2. APP_URL is the tunnel\'s current https URL (free ngrok URLs change on every start);',
    '  3. the running bot uses the same VERIFY_TOKEN as this .env (restart it after editing .env);',
    '  4. `npm run setup -- doctor` passes its webhook check.',
  ];
}

/** Prints one failed call. */
export function reportGraphError(out: Output, err: GraphApiError, ctx: ErrorContext): void {
  const status = err.status === undefined ? 'no response' : `HTTP ${err.status}`;
  out.line(`${paint(out, 'red', FAIL)} ${err.endpoint} failed (${status})`);
  const rows: string[][] = [];
  if (err.code !== undefined) rows.push(['code', String(err.code)]);
  if (err.error_subcode !== undefined) rows.push(['subcode', String(err.error_subcode)]);
  rows.push(['message', safeMessage(err, ctx)]);
  if (err.fbtrace_id !== undefined) rows.push(['fbtrace_id', err.fbtrace_id]);
  const hints = hintsFor(err, ctx);
  hints.forEach((hint, i) => rows.push([i === 0 ? 'hint' : '', hint]));
  table(out, rows, 4);
}

/** Runs a Graph call; a GraphApiError is reported and returned as a failure, anything else is a bug and propagates. */
export async function attempt<T>(out: Output, ctx: ErrorContext, call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: GraphApiError }> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    if (!(err instanceof GraphApiError)) throw err;
    reportGraphError(out, err, ctx);
    return { ok: false, error: err };
  }
}
