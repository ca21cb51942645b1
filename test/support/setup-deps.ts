// What the setup-command tests share: a live-mode environment (its secrets named after the test
// file, so a leak points at its source) and SetupDeps that capture the output lines. Comment
// triggers are none unless a test gives some (`triggers`), so the fields asked for are the
// messaging ones whatever data/comment-replies.json holds.
import { commentTriggers, type CommentTrigger } from '../../services/comments/triggers.ts';
import { loadConfig } from '../../services/config.ts';
import { graphClientFor } from '../../services/graph/client.ts';
import type { SetupDeps } from '../../scripts/setup/context.ts';

export const SETUP_GRAPH = 'https://graph.test';
export const SETUP_VERSION = 'v24.0';
export const SETUP_APP_ID = '222222222222222';
export const SETUP_PAGE_ID = '3333333333';

export function setupEnv(name: string) {
  return {
    PAGE_ACCESS_TOKEN: `EAA${name}PageToken0123456789`,
    APP_SECRET: `${name}-app-secret-0123456789`,
    VERIFY_TOKEN: `${name}-verify-token-0123456789`,
    APP_ID: SETUP_APP_ID,
    PAGE_ID: SETUP_PAGE_ID,
    APP_URL: 'https://bot.example.test',
    GRAPH_API_URL: SETUP_GRAPH,
    GRAPH_API_VERSION: SETUP_VERSION,
  };
}

/** SetupDeps from an environment, with the output captured as lines. */
export function setupDeps(env: Record<string, string>, extra: Partial<Omit<SetupDeps, 'config' | 'graph' | 'out'>> = {}) {
  const config = loadConfig(env);
  const lines: string[] = [];
  const deps: SetupDeps = { config, graph: graphClientFor(config), comments: commentTriggers([]), out: { isTTY: false, line: (text = '') => lines.push(text) }, ...extra };
  return { deps, lines, text: () => lines.join('\n') };
}

/** A trigger as data/comment-replies.json would give it (checked by loadCommentTriggers there). */
export function trigger(overrides: Partial<CommentTrigger> = {}): CommentTrigger {
  return { name: 'price', keywords: { en_US: ['price'] }, platforms: ['facebook', 'instagram'], private_reply: { text: 'browse.intro', menu: true }, ...overrides };
}

/** Triggers for `SetupDeps.comments`. */
export function triggers(...list: CommentTrigger[]) {
  return commentTriggers(list);
}
