// The few facts the bot decides on, read the same way from a Facebook feed comment and an
// Instagram comment (whose `value` objects differ: comment_id/message/post_id vs id/text/media).
import type { Channel, CommentEvent } from '../events/types.ts';

export interface CommentFacts {
  channel: Channel;
  /** What to reply to: `comment_id` on Facebook, `id` on Instagram. */
  comment_id: string;
  /** `add` for a new comment; Instagram sends new comments only. */
  verb: string;
  text: string;
  /** The author's id: an IGSID on Instagram; on Facebook an id that is not a PSID. */
  author_id: string | undefined;
  /** Facebook: the post the comment is under. */
  post_id: string | undefined;
  /** Instagram: the media the comment is under. */
  media_id: string | undefined;
  /** The comment replies to another comment (Facebook: parent_id is a comment, not the post). */
  is_reply: boolean;
  created_at: number;
}

export function commentFacts(event: CommentEvent): CommentFacts {
  if (event.field === 'feed') {
    const { value } = event;
    return {
      channel: event.channel,
      comment_id: value.comment_id,
      verb: value.verb,
      text: value.message ?? '',
      author_id: value.from?.id,
      post_id: value.post_id,
      media_id: undefined,
      is_reply: value.parent_id !== undefined && value.parent_id !== value.post_id,
      created_at: event.created_at,
    };
  }
  const { value } = event;
  return {
    channel: event.channel,
    comment_id: value.id,
    verb: 'add',
    text: value.text ?? '',
    author_id: value.from?.id,
    post_id: undefined,
    media_id: value.media?.id,
    is_reply: value.parent_id !== undefined,
    created_at: event.created_at,
  };
}

/**
 * The inbox lane of a comment. An Instagram comment's author is the IGSID their messages come
 * from: one lane, so a comment and the messages around it are handled in order (the language a
 * comment teaches is known to the message after it). A Facebook author gets a lane of their own
 * comments (their id is no PSID); a comment without an author, the entry's.
 */
export function commentLane(event: CommentEvent, account: string): string {
  const author = event.value.from?.id;
  if (author === undefined) return `${account}/${event.channel}:entry:${event.entry_id}`;
  return event.channel === 'instagram' ? `${account}/instagram:${author}` : `${account}/${event.channel}:commenter:${author}`;
}
