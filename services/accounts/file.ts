// The accounts file (ACCOUNTS_FILE): `{ "accounts": [ … ] }`, read once at start-up and validated
// whole. Every problem names its entry and field and says what to do; a token is never printed,
// not even a part of it (a JSON syntax error is reported by line and column, never by a snippet).
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { Account } from './types.ts';

export interface AccountsFileProblem {
  /** `accounts[1] (page 222)`, or `the file` for a problem with the whole file. */
  entry: string;
  field: string | undefined;
  problem: string;
  fix: string;
}

/** Everything wrong with an accounts file, one line per problem. */
export class AccountsFileError extends ConfigError {
  readonly problems: readonly AccountsFileProblem[];
  constructor(path: string, problems: readonly AccountsFileProblem[]) {
    const lines = problems.map((p) => `\n  - ${p.entry}${p.field === undefined ? '' : ` ${p.field}`}: ${p.problem} (${p.fix})`);
    const fix = `correct ${path} (accounts.example.json shows the format)`;
    const problem = `${path} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:${lines.join('')}`;
    super('ACCOUNTS_FILE', problem, fix);
    this.name = 'AccountsFileError';
    // One problem per line, then the fix on its own line.
    this.message = `ACCOUNTS_FILE: ${problem}\nFix: ${fix}`;
    this.problems = problems;
  }
}

/** File access, injected so tests need no files. */
export interface AccountsFileIo {
  readText(path: string): string;
  /** The file's permission bits, or undefined where they mean nothing (Windows). */
  mode(path: string): number | undefined;
}

export const fileIo: AccountsFileIo = {
  readText: (path) => readFileSync(path, 'utf8'),
  mode: (path) => (process.platform === 'win32' ? undefined : statSync(path).mode & 0o777),
};

export interface AccountsFile {
  accounts: Account[];
  /** For the caller to log: the config module never logs. */
  warnings: string[];
}

/** Reads and validates the file; throws ConfigError (AccountsFileError for its content). */
export function readAccountsFile(path: string, io: AccountsFileIo = fileIo): AccountsFile {
  let text: string;
  try {
    text = io.readText(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'this user may not read it' : code === 'EISDIR' ? 'it is a directory' : `it cannot be read (${typeof code === 'string' ? code : 'error'})`;
    throw new ConfigError('ACCOUNTS_FILE', `"${path}" cannot be used: ${why}`, 'set ACCOUNTS_FILE to the path of your accounts JSON file (copy accounts.example.json to accounts.json and fill it in)');
  }
  const accounts = parseAccounts(text, path);
  const warnings: string[] = [];
  const mode = io.mode(path);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    warnings.push(`ACCOUNTS_FILE ${path} holds access tokens and other users may read it (mode ${mode.toString(8).padStart(3, '0')}): run chmod 600 ${path}`);
  }
  return { accounts, warnings };
}

const ID = /^[0-9]{1,32}$/;
const PAGE_FIELDS = new Set(['type', 'page_id', 'access_token', 'instagram_account_id', 'name']);
const INSTAGRAM_FIELDS = new Set(['type', 'instagram_account_id', 'access_token', 'name']);
const PAGE_TOKEN_FIX = "the Page's token from App Dashboard > Messenger > Messenger API Settings > Generate token";
const INSTAGRAM_TOKEN_FIX = "the account's token from App Dashboard > Instagram > API setup with Instagram login > Generate token";

type Json = Record<string, unknown>;

/** The accounts of a file's text, validated whole; throws AccountsFileError listing every problem. */
export function parseAccounts(text: string, path: string): Account[] {
  const problems: AccountsFileProblem[] = [];
  const whole = (problem: string, fix: string) => problems.push({ entry: 'the file', field: undefined, problem, fix });
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (err) {
    whole(`is not valid JSON${syntaxPlace(err, text)}`, 'check the quotes, commas and brackets there');
    throw new AccountsFileError(path, problems);
  }
  const list = isObject(body) ? body.accounts : undefined;
  if (!isObject(body)) whole('must be a JSON object: { "accounts": [ … ] }', 'wrap the list in { "accounts": … }');
  else if (list === undefined) whole('has no "accounts" list', 'put the accounts in { "accounts": [ … ] }');
  else if (!Array.isArray(list)) whole('"accounts" must be a list', 'write "accounts": [ { … }, { … } ]');
  else if (list.length === 0) whole('"accounts" is empty', 'add at least one account, or unset ACCOUNTS_FILE to run a single Page from PAGE_ACCESS_TOKEN');
  if (isObject(body)) {
    for (const key of Object.keys(body).filter((k) => k !== 'accounts' && !k.startsWith('_') && k !== '$schema')) whole(`has an unknown key "${key}"`, 'the file holds only "accounts" (keys starting with _ are ignored, for notes)');
  }
  const accounts = Array.isArray(list) ? (list as unknown[]).flatMap((entry, i) => readEntry(entry, i, problems)) : [];
  problems.push(...duplicates(accounts));
  if (problems.length > 0) throw new AccountsFileError(path, problems);
  return accounts.map((a) => a.account);
}

interface ReadAccount {
  account: Account;
  label: string;
}

function readEntry(entry: unknown, index: number, problems: AccountsFileProblem[]): ReadAccount[] {
  const at = `accounts[${index}]`;
  if (!isObject(entry)) {
    problems.push({ entry: at, field: undefined, problem: 'is not an object', fix: 'write each account as { "type": …, … }' });
    return [];
  }
  const type = entry.type;
  const primary = type === 'page' ? entry.page_id : entry.instagram_account_id;
  const label = typeof primary === 'string' && ID.test(primary) && (type === 'page' || type === 'instagram') ? `${at} (${type} ${primary})` : at;
  const before = problems.length;
  const problem = (field: string | undefined, text: string, fix: string) => problems.push({ entry: label, field, problem: text, fix });
  if (type !== 'page' && type !== 'instagram') {
    problem('type', type === undefined ? 'is missing' : `is ${JSON.stringify(type)}, not "page" or "instagram"`, 'use "page" for a Facebook Page (and its linked Instagram account), "instagram" for an Instagram account on Instagram Login');
    return [];
  }
  const allowed = type === 'page' ? PAGE_FIELDS : INSTAGRAM_FIELDS;
  for (const key of Object.keys(entry).filter((k) => !allowed.has(k) && !k.startsWith('_'))) {
    const hint = type === 'instagram' && key === 'page_id' ? 'an Instagram Login account has no Page: remove it, or make this a "page" entry with the linked instagram_account_id' : `a "${type}" entry takes ${[...allowed].join(', ')}`;
    problem(key, 'is not a field of this entry', hint);
  }
  const id = (field: string, required: boolean): string | undefined => {
    const value = entry[field];
    if (value === undefined) {
      if (required) problem(field, 'is missing', `add the numeric ${field} as a string, e.g. "${field}": "${field === 'page_id' ? '111111111111111' : '17841400000000001'}"`);
      return undefined;
    }
    if (typeof value === 'number') {
      problem(field, 'is a JSON number', 'write the id in quotes: ids have more digits than a JSON number keeps exactly');
      return undefined;
    }
    if (typeof value !== 'string' || !ID.test(value)) {
      problem(field, 'is not a numeric id', `copy the numeric ${field} from Meta, in quotes`);
      return undefined;
    }
    return value;
  };
  const pageId = type === 'page' ? id('page_id', true) : undefined;
  const igId = id('instagram_account_id', type === 'instagram');
  const token = readToken(entry.access_token, type === 'page' ? PAGE_TOKEN_FIX : INSTAGRAM_TOKEN_FIX, problem);
  const name = readName(entry.name, problem);
  if (problems.length > before || token === undefined) return [];
  if (type === 'page' && pageId !== undefined) {
    return [{ label, account: { type: 'page', key: pageId, page_id: pageId, access_token: token, instagram_account_id: igId, name } }];
  }
  if (type === 'instagram' && igId !== undefined) {
    return [{ label, account: { type: 'instagram', key: igId, instagram_account_id: igId, access_token: token, name } }];
  }
  return [];
}

/** Checks the token's form only; the value itself never appears in a problem. */
function readToken(value: unknown, where: string, problem: (field: string, text: string, fix: string) => void): string | undefined {
  const wrong = tokenProblem(value, where);
  if (wrong === undefined) return value as string;
  problem('access_token', wrong.text, wrong.fix);
  return undefined;
}

function tokenProblem(value: unknown, where: string): { text: string; fix: string } | undefined {
  if (value === undefined) return { text: 'is missing', fix: `paste ${where}` };
  if (typeof value !== 'string' || value.trim() === '') return { text: 'is not a token (a non-empty string)', fix: `paste ${where}` };
  if (/^\s*<.*>\s*$/s.test(value) || value.includes('…') || value.includes('...')) return { text: "is still the example's placeholder", fix: `replace it with ${where}` };
  if (/\s/.test(value)) return { text: 'contains spaces or line breaks', fix: 'paste the token alone, in one piece' };
  if (!/^[\x21-\x7e]+$/.test(value)) return { text: 'contains characters no access token has', fix: `paste ${where} again, without quotes or other marks around it` };
  if (value.length < 20) return { text: 'is too short to be an access token', fix: `paste the whole of ${where}` };
  return undefined;
}

function readName(value: unknown, problem: (field: string, text: string, fix: string) => void): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || [...value].length > 100 || /\p{Cc}/u.test(value)) {
    problem('name', 'must be a short label (1 to 100 printable characters)', 'give the account a name for logs and setup output, or remove "name"');
    return undefined;
  }
  return value.trim();
}

/** Every id may belong to one account only, a linked Instagram account included. */
function duplicates(accounts: readonly ReadAccount[]): AccountsFileProblem[] {
  const seen = new Map<string, string>();
  const problems: AccountsFileProblem[] = [];
  for (const { account, label } of accounts) {
    const fields: [string, string | undefined][] = account.type === 'page' ? [['page_id', account.page_id], ['instagram_account_id', account.instagram_account_id]] : [['instagram_account_id', account.instagram_account_id]];
    for (const [field, id] of fields) {
      if (id === undefined) continue;
      const first = seen.get(id);
      if (first === undefined) seen.set(id, `${label}'s ${field}`);
      else problems.push({ entry: label, field, problem: `${id} is already ${first}`, fix: 'list each Page and Instagram account once; an Instagram account linked to a listed Page is answered through that Page' });
    }
  }
  return problems;
}

/** ` at line 4, column 7` from a JSON.parse error, without the text around it (it could be a token). */
function syntaxPlace(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : '';
  const position = /position (\d+)/.exec(message)?.[1];
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return ` at line ${lineCol[1]}, column ${lineCol[2]}`;
  if (position === undefined) return text.trim() === '' ? ' (the file is empty)' : ' (it ends too early)';
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
