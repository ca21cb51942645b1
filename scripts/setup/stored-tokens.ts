// The tokens the setup commands use. The bot refreshes each Instagram Login token while it runs
// and keeps the newest in its store (DATABASE_URL), so the token in ACCOUNTS_FILE may be weeks
// older than the one the bot sends with: checked as it is, `doctor` would show the wrong days
// left. So setup opens the store as the bot does, only reads the stored tokens, and closes it
// again. Whatever goes wrong there (no database yet, a store that will not open), the file's
// tokens are used and a note says so: setup never fails for it.
import { existsSync } from 'node:fs';
import { createAccountTokens, tokenOrigin, type AccountTokens, type TokenStore } from '../../services/accounts/tokens.ts';
import { describeAccount } from '../../services/accounts/types.ts';
import type { Config } from '../../services/config.ts';
import { createLogger } from '../../services/logger.ts';
import { createRedactor, type SecretSet } from '../../services/redact.ts';
import { isPostgresUrl, openStoreAsync } from '../../services/state/open-store.ts';
import { describeDatabase } from '../../services/state/database-url.ts';

/** The store, as far as setup uses it: read, then closed. */
export type ReadableTokenStore = Pick<TokenStore, 'getToken'> & { close(): Promise<void> };

export interface SetupTokensDeps {
  config: Pick<Readonly<Config>, 'accounts' | 'DATABASE_URL' | 'mode'>;
  /** The setup run's secrets: a stored token joins them, so the output never shows it. */
  secrets: SecretSet;
  /** Opens the bot's store (openStoreAsync, as the bot worker does, by default). */
  open?: (databaseUrl: string) => Promise<ReadableTokenStore>;
  /** Gives up on a store that has not answered after this long (default 15 s). */
  timeoutMs?: number;
}

export interface SetupTokens {
  tokens: AccountTokens;
  /** For the person running setup: which token is checked, and why. */
  notes: string[];
}

const FALLBACK = 'the access_token in ACCOUNTS_FILE is used';

export async function setupTokens(deps: SetupTokensDeps): Promise<SetupTokens> {
  const { config, secrets } = deps;
  const tokens = createAccountTokens(config.accounts, { secrets });
  const logins = config.accounts.filter((a) => a.type === 'instagram');
  if (logins.length === 0) return { tokens, notes: [] };
  const url = config.DATABASE_URL;
  if (url === 'memory:') {
    // The emulator's default: nothing outlives a run, and the emulator takes the configured token.
    return { tokens, notes: config.mode === 'live' ? [`DATABASE_URL is memory:, where the bot keeps no refreshed Instagram token: ${FALLBACK}`] : [] };
  }
  const file = sqlitePath(url);
  if (file !== undefined && file !== ':memory:' && !existsSync(file)) {
    return { tokens, notes: [`no database at ${file} yet (has the bot run here?): ${FALLBACK}`] };
  }
  const where = isPostgresUrl(url) ? describeDatabase(url) : (file ?? url);
  const open = deps.open ?? openBotStore;
  let store: ReadableTokenStore | undefined;
  try {
    store = await withTimeout(open(url), deps.timeoutMs ?? 15_000, (late) => void late.close().catch(() => undefined));
    const notes: string[] = [];
    for (const account of logins) {
      const stored = await store.getToken(account.key);
      if (stored === undefined) continue;
      if (stored.origin !== tokenOrigin(account.access_token)) {
        notes.push(`${describeAccount(account)}: the token in ACCOUNTS_FILE replaced the one the bot refreshed; it is the one checked (and the bot's from its next start)`);
        continue;
      }
      tokens.adopt(account.key, stored);
      if (stored.expires_at !== 0) notes.push(`${describeAccount(account)}: the token the bot refreshed on ${new Date(stored.refreshed_at).toISOString().slice(0, 10)} (kept in ${where}) is used, not the older one in ACCOUNTS_FILE`);
    }
    return { tokens, notes };
  } catch (err) {
    // A token adopted before the failure stays: it is the bot's, whatever the rest says.
    const reason = createRedactor(secrets).text(messageOf(err));
    return { tokens, notes: [`could not read the refreshed Instagram tokens from ${where} (${reason}): ${FALLBACK}, and it may be older than the one the bot uses`] };
  } finally {
    await store?.close().catch(() => undefined);
  }
}

/** The store as the bot worker opens it (migrated first), on one connection, with nothing logged. */
async function openBotStore(databaseUrl: string): Promise<ReadableTokenStore> {
  return openStoreAsync(databaseUrl, { poolSize: 1, applicationName: 'shopbot setup', log: createLogger({ level: 'silent' }) });
}

/** An error's message; by shape, since a native module's errors need not be this realm's Error. */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}

function sqlitePath(url: string): string | undefined {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined;
}

/** The store, or a timeout error; a store that opens too late is closed when it does. */
function withTimeout<T>(opening: Promise<T>, ms: number, closeLate: (late: T) => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no answer within ${Math.round(ms / 1000)} s`));
    }, ms);
  });
  void opening.then((value) => {
    if (timedOut) closeLate(value);
  }, () => undefined);
  return Promise.race([opening, late]).finally(() => clearTimeout(timer));
}
