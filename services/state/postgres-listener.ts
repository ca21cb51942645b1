// LISTEN on a dedicated connection (a pooled one would be handed to someone else between queries),
// kept alive across server restarts and network blips: after an error it reconnects with backoff
// and LISTENs again. Notifications sent while it was away are lost, so after every reconnection
// the handler is called once per channel: the worker looks for work, and nothing waits for the
// slow poll.
import pg from 'pg';
import type { Logger } from '../logger.ts';

/** `payload` is the notification's; absent for the call made after a reconnection. */
export type NotifyHandler = (channel: string, payload?: string) => void;
export type StopListening = () => Promise<void>;

export interface ListenerOptions {
  url: string;
  applicationName: string;
  log: Logger;
  channels: readonly string[];
  onNotify: NotifyHandler;
  /** First and longest wait before reconnecting (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Resolves once the first connection attempt is over (listening, or failed and retrying in the
 * background, logged), with the function that stops listening.
 */
export async function startListener(options: ListenerOptions): Promise<StopListening> {
  const bad = options.channels.find((c) => !CHANNEL.test(c));
  if (bad !== undefined) throw new TypeError(`"${bad}" is not a channel name this store listens on (lower-case letters, digits and _)`);
  const minBackoff = options.minBackoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let backoff = minBackoff;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let connecting: Promise<void> | undefined;

  const reconnectLater = (): void => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connecting = connect(true);
    }, backoff);
    timer.unref();
    backoff = Math.min(maxBackoff, backoff * 2);
  };

  const connect = async (again: boolean): Promise<void> => {
    const next = new pg.Client({ connectionString: options.url, application_name: options.applicationName, keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      if (client === next) client = undefined;
      next.removeAllListeners('notification');
      void next.end().catch(() => undefined);
      if (!stopped) {
        options.log.warn('database: the LISTEN connection failed; reconnecting', { err, retry_in_ms: backoff });
        reconnectLater();
      }
    };
    next.on('error', fail);
    next.on('end', () => fail(new Error('the connection ended')));
    next.on('notification', (message) => {
      if (!stopped) options.onNotify(message.channel, message.payload);
    });
    try {
      await next.connect();
      for (const channel of options.channels) await next.query(`LISTEN ${next.escapeIdentifier(channel)}`);
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (stopped) {
      failed = true;
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    backoff = minBackoff;
    if (again) {
      options.log.info('database: listening again', { channels: options.channels });
      for (const channel of options.channels) options.onNotify(channel);
    }
  };

  connecting = connect(false);
  await connecting;
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    await connecting;
    const current = client;
    client = undefined;
    if (current) {
      current.removeAllListeners('end');
      await current.end().catch(() => undefined);
    }
  };
}
