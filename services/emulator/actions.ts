// What a simulated user can do on the page, parsed from untrusted JSON into a closed union. Every
// field is checked here, once; the rest of the emulator trusts the result.
import type { ReactionName } from './notifications.ts';
import { REACTIONS } from './notifications.ts';

export type UserAction =
  | { type: 'text'; text: string }
  | { type: 'quick_reply'; text: string; payload: string }
  | { type: 'postback'; title: string; payload: string }
  | { type: 'get_started' }
  | { type: 'sticker' }
  | { type: 'image'; url: string }
  | { type: 'reaction'; mid: string; action: 'react' | 'unreact'; reaction: ReactionName }
  /** A person in the Page Inbox marks the conversation done: the thread goes back to the bot. */
  | { type: 'return_thread' };

export const ACTION_LIMITS = { text: 2000, payload: 1000, title: 80, mid: 200 } as const;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseAction(input: unknown): Parsed<Exclude<UserAction, { type: 'image' }>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('the body must be a JSON object');
  const body = input as Record<string, unknown>;
  switch (body.type) {
    case 'text': {
      const text = str(body.text, 'text', ACTION_LIMITS.text);
      if (typeof text !== 'string') return text;
      return text.trim() === '' ? bad('text must not be blank') : good({ type: 'text', text });
    }
    case 'quick_reply': {
      const text = str(body.text, 'text', ACTION_LIMITS.text);
      const payload = str(body.payload, 'payload', ACTION_LIMITS.payload);
      if (typeof text !== 'string') return text;
      if (typeof payload !== 'string') return payload;
      return good({ type: 'quick_reply', text, payload });
    }
    case 'postback': {
      const title = str(body.title, 'title', ACTION_LIMITS.title);
      const payload = str(body.payload, 'payload', ACTION_LIMITS.payload);
      if (typeof title !== 'string') return title;
      if (typeof payload !== 'string') return payload;
      return good({ type: 'postback', title, payload });
    }
    case 'reaction': {
      const mid = str(body.mid, 'mid', ACTION_LIMITS.mid);
      if (typeof mid !== 'string') return mid;
      if (body.action !== 'react' && body.action !== 'unreact') return bad('action must be "react" or "unreact"');
      const reaction = body.reaction ?? 'love';
      if (typeof reaction !== 'string' || !(reaction in REACTIONS)) return bad(`reaction must be one of ${Object.keys(REACTIONS).join(', ')}`);
      return good({ type: 'reaction', mid, action: body.action, reaction: reaction as ReactionName });
    }
    case 'get_started':
    case 'sticker':
    case 'return_thread':
      return good({ type: body.type });
    default:
      return bad('type must be one of text, quick_reply, postback, reaction, get_started, sticker, return_thread');
  }
}

function str(value: unknown, name: string, max: number): string | { ok: false; error: string } {
  if (typeof value !== 'string' || value === '') return bad(`${name} must be a non-empty string`);
  if ([...value].length > max) return bad(`${name} must be at most ${max} characters`);
  return value;
}

function good<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

function bad(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
