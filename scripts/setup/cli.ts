// The command line of `npm run setup -- <command>`: parsing into a closed set of commands, the
// usage text, and dispatch to the command functions (which tests also call directly).
import { parseArgs } from 'node:util';
import { EXIT, type ExitCode, type SetupDeps } from './context.ts';
import { doctor } from './doctor.ts';
import type { WebhookObjectName } from './fields.ts';
import { profile } from './profile.ts';
import { status } from './status.ts';
import { subscribe } from './subscribe.ts';
import { unsubscribe } from './unsubscribe.ts';

export const USAGE = `usage: npm run setup -- <command> [options] [--account ID]

commands:
  doctor                      check config, tokens, subscriptions, webhook and profile (run this first)
  subscribe                   subscribe the app to the webhook fields the bot needs and install it on each account
  status                      show the app subscriptions and each account's install, and what differs from what the bot needs
  unsubscribe [--object page|instagram] [--fields a,b]
                              remove the app subscription (all objects, one object, or some of its fields);
                              removing a whole object also uninstalls the app from the accounts that use it
  profile [--dry-run]         set Get Started, greeting, persistent menu and allowed domain (Pages) and
                              Instagram ice breakers from locales/, changing only what differs; --dry-run sends nothing
  help                        show this text

--account ID                  only the account with this Page or Instagram account id (every configured account
                              otherwise, each in its own section); with unsubscribe, only its install is removed

exit codes: 0 done / all checks passed, 1 a Graph call or a check failed, 2 usage or configuration error`;

export type Command =
  | { command: 'help' }
  | { command: 'doctor' | 'subscribe' | 'status'; account?: string }
  | { command: 'unsubscribe'; object?: WebhookObjectName; fields?: string[]; account?: string }
  | { command: 'profile'; dryRun: boolean; account?: string };

export type ParseResult = { ok: true; value: Command } | { ok: false; error: string };

const FIELD = /^[a-z_]+$/;
const ACCOUNT_OPTION = { account: { type: 'string' } } as const;

/** `{ account }` when --account was given (digits only: a Page or Instagram account id). */
function accountOf(value: string | undefined): { account?: string } | string {
  if (value === undefined) return {};
  return /^\d{1,32}$/.test(value) ? { account: value } : `--account takes a numeric Page or Instagram account id, not "${value}"`;
}

export function parseCommand(argv: readonly string[]): ParseResult {
  const [name, ...rest] = argv;
  try {
    switch (name) {
      case 'doctor':
      case 'subscribe':
      case 'status': {
        const { values } = parseArgs({ args: rest, options: ACCOUNT_OPTION, strict: true, allowPositionals: false });
        const account = accountOf(values.account);
        return typeof account === 'string' ? { ok: false, error: account } : { ok: true, value: { command: name, ...account } };
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return { ok: true, value: { command: 'help' } };
      case 'profile': {
        const { values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean' }, ...ACCOUNT_OPTION }, strict: true, allowPositionals: false });
        const account = accountOf(values.account);
        return typeof account === 'string' ? { ok: false, error: account } : { ok: true, value: { command: 'profile', dryRun: values['dry-run'] === true, ...account } };
      }
      case 'unsubscribe':
        return parseUnsubscribe(rest);
      default:
        return { ok: false, error: `unknown command "${name}"` };
    }
  } catch (err) {
    // parseArgs throws TypeError with a readable message for unknown or malformed options.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function parseUnsubscribe(args: string[]): ParseResult {
  const { values } = parseArgs({ args, options: { object: { type: 'string' }, fields: { type: 'string' }, ...ACCOUNT_OPTION }, strict: true, allowPositionals: false });
  const { object, fields } = values;
  const account = accountOf(values.account);
  if (typeof account === 'string') return { ok: false, error: account };
  if (object !== undefined && object !== 'page' && object !== 'instagram') {
    return { ok: false, error: `--object must be page or instagram, not "${object}"` };
  }
  if (fields !== undefined && account.account !== undefined) return { ok: false, error: '--fields changes the app subscription, which every account shares: leave out --account' };
  if (fields === undefined) return { ok: true, value: { command: 'unsubscribe', ...(object === undefined ? {} : { object }), ...account } };
  if (object === undefined) return { ok: false, error: '--fields needs --object page or --object instagram' };
  const list = fields.split(',').map((f) => f.trim());
  const bad = list.filter((f) => !FIELD.test(f));
  if (bad.length > 0 || list.length === 0) {
    return { ok: false, error: `--fields takes a comma-separated list of webhook field names, e.g. --fields message_reads,message_deliveries` };
  }
  return { ok: true, value: { command: 'unsubscribe', object, fields: list } };
}

export async function runCommand(command: Command, deps: SetupDeps): Promise<ExitCode> {
  switch (command.command) {
    case 'help':
      deps.out.line(USAGE);
      return EXIT.OK;
    case 'doctor':
      return doctor(deps, only(command.account));
    case 'subscribe':
      return subscribe(deps, only(command.account));
    case 'status':
      return status(deps, only(command.account));
    case 'unsubscribe':
      return unsubscribe(deps, { ...(command.object === undefined ? {} : { object: command.object }), ...(command.fields === undefined ? {} : { fields: command.fields }), ...only(command.account) });
    case 'profile':
      return profile(deps, { dryRun: command.dryRun, ...only(command.account) });
    default:
      return assertNever(command);
  }
}

function only(account: string | undefined): { account?: string } {
  return account === undefined ? {} : { account };
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}
