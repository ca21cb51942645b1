// Instagram stories that reach the inbox: someone mentions the shop in their story (a message with
// a `story_mention` attachment) or replies to one of the shop's stories (`reply_to.story`). Each
// story is thanked once; the ids already thanked are kept in the user's state, the newest few only.
import type { MessagePayload } from '../events/types.ts';
import type { UserState } from '../state/store.ts';

/** Stories live 24 hours: the last few thanked are all a user can still mention or reply to. */
export const THANKED_STORIES_KEPT = 20;

export interface StoryRef {
  kind: 'mention' | 'reply';
  /** The story's id; a mention without one is known by its message (one message per mention). */
  id: string;
}

/** The story a message is about, if any. */
export function storyOf(message: MessagePayload): StoryRef | undefined {
  const replyTo = message.reply_to;
  if (replyTo && 'story' in replyTo && typeof replyTo.story.id === 'string') return { kind: 'reply', id: replyTo.story.id };
  const mention = message.attachments?.find((a) => a.type === 'story_mention');
  if (!mention) return undefined;
  const id = mention.payload?.id;
  return { kind: 'mention', id: typeof id === 'string' && id !== '' ? id : `mid:${message.mid}` };
}

/** Records the story as thanked; false when it already was (then nobody is thanked again). */
export function rememberThanked(user: UserState, story: StoryRef): boolean {
  const thanked = user.thanked_stories ?? [];
  if (thanked.includes(story.id)) return false;
  user.thanked_stories = [...thanked, story.id].slice(-THANKED_STORIES_KEPT);
  return true;
}
