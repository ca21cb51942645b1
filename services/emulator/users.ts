// The simulated users, one per browser tab. Bounded: the least recently active user is forgotten
// when the limit is reached, so an open emulator never grows without end.
import type { Channel } from '../events/types.ts';
import type { ConversationTarget } from './accounts.ts';
import { newUserId } from './ids.ts';
import type { SimUser } from './types.ts';

/** The locales the page offers: the four the bot speaks. */
export const EMULATOR_LOCALES = ['en_US', 'id_ID', 'zh_TW', 'es_ES'] as const;
export type EmulatorLocale = (typeof EMULATOR_LOCALES)[number];

export interface NewUser {
  channel: Channel;
  name: string;
  locale: EmulatorLocale;
  /** The account to talk to (its key); the first that offers the channel when absent. */
  account?: string;
}

export interface UserRegistry {
  create(input: { target: ConversationTarget; name: string; locale: EmulatorLocale }): SimUser;
  get(id: string): SimUser | undefined;
  /** Marks activity, so busy users are the last to be forgotten. */
  touch(user: SimUser): void;
  readonly size: number;
}

export function createUserRegistry({ now, limit = 500, onForget }: { now: () => number; limit?: number; onForget?: (id: string) => void }): UserRegistry {
  const users = new Map<string, SimUser>();
  return {
    create({ target, name, locale }) {
      if (users.size >= limit) forgetLeastActive();
      const { channel } = target;
      let id = newUserId(channel);
      while (users.has(id)) id = newUserId(channel);
      const [first, ...rest] = name.trim().split(/\s+/);
      const at = now();
      const user: SimUser = {
        id,
        channel,
        account: target.account,
        account_id: target.entry_id,
        first_name: first ?? name,
        last_name: rest.join(' '),
        username: usernameOf(name),
        locale,
        thread_owner: 'app',
        created_at: at,
        last_active_at: at,
      };
      users.set(id, user);
      return user;
    },
    get: (id) => users.get(id),
    touch(user) {
      user.last_active_at = now();
    },
    get size() {
      return users.size;
    },
  };

  function forgetLeastActive(): void {
    let oldest: SimUser | undefined;
    for (const user of users.values()) if (!oldest || user.last_active_at < oldest.last_active_at) oldest = user;
    if (!oldest) return;
    users.delete(oldest.id);
    onForget?.(oldest.id);
  }
}

/** `Mia Tan` → `mia.tan`; Instagram handles are lower-case letters, digits, dots and underscores. */
function usernameOf(name: string): string {
  const handle = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 30);
  return handle === '' ? 'user' : handle;
}

/** Display name as Instagram's `name` field gives it. */
export function fullName(user: SimUser): string {
  return [user.first_name, user.last_name].filter((s) => s !== '').join(' ');
}
