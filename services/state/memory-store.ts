// The in-memory StateStore: for tests, the emulator and throwaway runs. Bounded per user so a
// long conversation cannot grow memory without limit.
import type { MessageStatus, SentMessage, StateStore, StatusUpdate, UserState } from './store.ts';
import { isStatusAdvance } from './store.ts';

const MAX_SENT_PER_USER = 200;

export function createMemoryStore(): StateStore {
  const users = new Map<string, UserState>();
  const sent = new Map<string, Map<string, SentMessage>>();
  const sentOf = (key: string): Map<string, SentMessage> => {
    let log = sent.get(key);
    if (!log) sent.set(key, (log = new Map<string, SentMessage>()));
    return log;
  };
  return {
    getUser: (key) => Promise.resolve(structuredClone(users.get(key) ?? {})),
    putUser: (key, state) => {
      users.set(key, structuredClone(state));
      return Promise.resolve();
    },
    recordSent: (key, mid, sentAt) => {
      const log = sentOf(key);
      log.set(mid, { mid, sent_at: sentAt, status: 'sent', thanked: false });
      if (log.size > MAX_SENT_PER_USER) log.delete(log.keys().next().value as string);
      return Promise.resolve();
    },
    getSent: (key, mid) => Promise.resolve(cloneOrUndefined(sent.get(key)?.get(mid))),
    updateStatus: (key, update, status) => Promise.resolve(advance(sentOf(key), update, status)),
    setReaction: (key, mid, reaction) => {
      const message = sent.get(key)?.get(mid);
      if (message) message.reaction = reaction;
      return Promise.resolve();
    },
    claimThanks: (key, mid) => {
      const message = sent.get(key)?.get(mid);
      if (!message || message.thanked) return Promise.resolve(false);
      message.thanked = true;
      return Promise.resolve(true);
    },
  };
}

function advance(log: Map<string, SentMessage>, update: StatusUpdate, status: MessageStatus): number {
  const listed = new Set(update.mids ?? []);
  let changed = 0;
  for (const message of log.values()) {
    const covered = listed.has(message.mid) || (update.watermark !== undefined && message.sent_at <= update.watermark);
    if (covered && isStatusAdvance(message.status, status)) {
      message.status = status;
      changed += 1;
    }
  }
  return changed;
}

function cloneOrUndefined<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
