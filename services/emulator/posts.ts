// The emulator's posts and stories: one sample post on the Page (Facebook) and one on the Instagram
// account, on which a simulated user comments; Meta's side of it, too. A comment becomes the
// notification Meta sends (a `feed` change with `item: "comment"`, or an Instagram `comments`
// change); the emulated Graph API takes the bot's private reply (a message to `recipient.comment_id`,
// delivered into the commenter's chat, once per comment as Meta allows) and its public reply
// (`POST /{comment-id}/comments` on Facebook, `/{ig-comment-id}/replies` on Instagram), shown under
// the comment. Like Meta, it then notifies the app of that reply, which is the shop's own comment:
// the bot must leave it alone. Users can also mention the shop in a story, or reply to its story.
//
// A Facebook comment's `from.id` is not the commenter's PSID (Meta scopes it differently), so the
// emulator gives each Messenger user a separate commenter id; an Instagram comment carries the IGSID.
import { randomInt } from 'node:crypto';
import type { Channel } from '../events/types.ts';
import type { GraphReply } from './graph-api.ts';
import { graphError, unsupported } from './graph-api.ts';
import { newMid } from './ids.ts';
import type { AccountIds, Notification } from './notifications.ts';
import { accountOf, messageNotification } from './notifications.ts';
import type { ChatOutput, SimUser, WebhookRecord } from './types.ts';
import type { UserRegistry } from './users.ts';
import { fullName } from './users.ts';
import { COMMENT_ID, sendBodyProblem } from './validate-send.ts';

type Json = Record<string, unknown>;

/** What a post looks like on the page, with the comments of the user looking at it. */
export interface PostView {
  id: string;
  channel: Channel;
  author: string;
  caption: string;
  image: string;
  comments: CommentView[];
}

export interface CommentView {
  id: string;
  text: string;
  at: number;
  author: string;
  /** The shop answered privately (the message is in the chat). */
  private_reply: boolean;
  replies: { id: string; text: string; at: number; author: string }[];
}

/** What a user's page is told about posts: the post as it is now. */
export interface PostsOutput {
  type: 'post';
  post: PostView;
}

export type StoryAction = { type: 'mention' } | { type: 'reply'; text: string };

export interface PostsDeps {
  ids: AccountIds;
  pageName: string;
  /** The Instagram account's handle, for its own replies. */
  igUsername: string;
  baseUrl: string;
  now: () => number;
  users: UserRegistry;
  /** Delivers a notification in the user's lane and records it (the core's webhook path). */
  send(user: SimUser, notification: Notification): Promise<WebhookRecord>;
  /** Updates the user's Posts view. */
  show(user: SimUser, output: PostsOutput): void;
  /** Shows the user's own story mention or story reply in their chat, as Instagram does. */
  chat(user: SimUser, output: ChatOutput): void;
  /** The bot's message reached the user: shown in their chat like any message. */
  messageSent(user: SimUser, mid: string, message: unknown): void;
}

export interface Posts {
  /** The sample post of the user's channel, with their comments. */
  view(user: SimUser): PostView;
  /** The user comments on their channel's sample post; resolves once the webhook was answered. */
  comment(user: SimUser, text: string): Promise<{ comment_id: string; webhook: WebhookRecord }>;
  /** Instagram: the user mentions the shop in their story, or replies to the shop's story. */
  story(user: SimUser, action: StoryAction): Promise<{ mid: string; webhook: WebhookRecord }>;
  /** The emulated Graph API's private reply: a me/messages body whose recipient is a comment. */
  privateReply(body: Json): GraphReply;
  /** `POST /{comment-id}/comments|replies`; undefined when the id is none of the emulator's comments. */
  publicReply(commentId: string, edge: string, params: Json): GraphReply | undefined;
}

interface StoredComment {
  id: string;
  post: SamplePost;
  user_id: string;
  text: string;
  at: number;
  private_reply: boolean;
  replies: { id: string; text: string; at: number }[];
}

interface SamplePost {
  id: string;
  channel: Channel;
  caption: string;
  image: string;
}

/** Comments kept per user, oldest forgotten first: an open emulator stays bounded. */
const COMMENTS_PER_USER = 50;
const COMMENT_MAX = 2200;
const STORY_ID_DIGITS = 17;

export function createPosts(deps: PostsDeps): Posts {
  const { ids } = deps;
  const posts: Record<Channel, SamplePost> = {
    messenger: { id: `${ids.pageId}_7000000000000001`, channel: 'messenger', caption: 'New season teas are in! 🍵 Comment "price" and we will message you the list.', image: `${deps.baseUrl}/images/sencha.png` },
    instagram: { id: '17800000000000001', channel: 'instagram', caption: 'Fresh jasmine pearls, hand-rolled ✨ Comment "price" for the list!', image: `${deps.baseUrl}/images/jasmine-pearls.png` },
  };
  const comments = new Map<string, StoredComment>();
  const byUser = new Map<string, string[]>();
  const commenterIds = new Map<string, string>();
  const storyId = digits(STORY_ID_DIGITS);
  const newCommentId = (post: SamplePost): string => (post.channel === 'messenger' ? `${post.id.split('_')[1] ?? '0'}_${digits(16)}` : digits(17));

  /** The id Meta puts in a Facebook comment's `from`: the user's, but not their PSID. */
  const commenterId = (user: SimUser): string => {
    if (user.channel === 'instagram') return user.id;
    let id = commenterIds.get(user.id);
    if (!id) {
      id = `6${digits(16).slice(1)}`;
      commenterIds.set(user.id, id);
    }
    return id;
  };

  const view = (user: SimUser): PostView => {
    const post = posts[user.channel];
    const mine = (byUser.get(user.id) ?? []).map((id) => comments.get(id)).filter((c): c is StoredComment => c !== undefined && c.post === post);
    return {
      id: post.id,
      channel: post.channel,
      author: user.channel === 'messenger' ? deps.pageName : deps.igUsername,
      caption: post.caption,
      image: post.image,
      comments: mine.map((c) => ({
        id: c.id,
        text: c.text,
        at: c.at,
        author: user.channel === 'messenger' ? fullName(user) : user.username,
        private_reply: c.private_reply,
        replies: c.replies.map((r) => ({ ...r, author: user.channel === 'messenger' ? deps.pageName : deps.igUsername })),
      })),
    };
  };

  const remember = (user: SimUser, comment: StoredComment): void => {
    comments.set(comment.id, comment);
    const list = byUser.get(user.id) ?? [];
    list.push(comment.id);
    while (list.length > COMMENTS_PER_USER) comments.delete(list.shift() as string);
    byUser.set(user.id, list);
  };

  /** The notification Meta sends for a comment (ours or the user's) on a sample post. */
  const commentNotification = (post: SamplePost, comment: { id: string; text: string; at: number; parent_id?: string }, from: Json): Notification => {
    const seconds = Math.floor(comment.at / 1000);
    if (post.channel === 'messenger') {
      const value: Json = { from, post: { status_type: 'added_photos', is_published: true, id: post.id }, message: comment.text, post_id: post.id, comment_id: comment.id, created_time: seconds, item: 'comment', parent_id: comment.parent_id ?? post.id, verb: 'add' };
      return { object: 'page', entry: [{ id: ids.pageId, time: seconds, changes: [{ field: 'feed', value }] }] };
    }
    const value: Json = { from, media: { id: post.id, media_product_type: 'FEED' }, id: comment.id, text: comment.text, ...(comment.parent_id ? { parent_id: comment.parent_id } : {}) };
    return { object: 'instagram', entry: [{ id: ids.igAccountId, time: seconds, changes: [{ field: 'comments', value }] }] };
  };

  return {
    view,
    async comment(user, text) {
      const post = posts[user.channel];
      const comment: StoredComment = { id: newCommentId(post), post, user_id: user.id, text, at: deps.now(), private_reply: false, replies: [] };
      remember(user, comment);
      deps.show(user, { type: 'post', post: view(user) });
      const from = user.channel === 'messenger' ? { id: commenterId(user), name: fullName(user) } : { id: user.id, username: user.username };
      const webhook = await deps.send(user, commentNotification(post, comment, from));
      return { comment_id: comment.id, webhook };
    },
    async story(user, action) {
      const mid = newMid(user.channel, accountOf(user, ids));
      const url = `${deps.baseUrl}/emulator/avatar.svg#story-${mid.slice(-8)}`;
      const message =
        action.type === 'mention' ? { mid, attachments: [{ type: 'story_mention', payload: { url } }] } : { mid, text: action.text, reply_to: { story: { url, id: storyId } } };
      const at = deps.now();
      deps.chat(user, { type: 'user', mid, at, text: action.type === 'mention' ? `📸 You mentioned @${deps.igUsername} in your story` : `↩ Replying to @${deps.igUsername}'s story: ${action.text}` });
      const webhook = await deps.send(user, messageNotification(user, ids, at, message));
      return { mid, webhook };
    },
    privateReply(body) {
      const recipient = body.recipient as Json;
      const comment = typeof recipient.comment_id === 'string' ? comments.get(recipient.comment_id) : undefined;
      const user = comment ? deps.users.get(comment.user_id) : undefined;
      if (!comment || !user) return graphError(400, '(#100) Invalid comment_id: no such comment, or it cannot be replied to privately', 'OAuthException', 100);
      const problem = sendBodyProblem(body, comment.post.channel);
      if (problem) return graphError(400, problem, 'OAuthException', 100, undefined, user.id);
      // Meta: one private reply per comment.
      if (comment.private_reply) return graphError(400, '(#10900) Activity already replied to', 'OAuthException', 10900, undefined, user.id);
      comment.private_reply = true;
      deps.users.touch(user);
      const mid = newMid(user.channel, accountOf(user, ids));
      const message = body.message;
      return {
        status: 200,
        body: { recipient_id: user.id, message_id: mid },
        userId: user.id,
        after: () => {
          deps.messageSent(user, mid, message);
          deps.show(user, { type: 'post', post: view(user) });
        },
      };
    },
    publicReply(commentId, edge, params) {
      const comment = COMMENT_ID.test(commentId) ? comments.get(commentId) : undefined;
      if (!comment) return undefined;
      const user = deps.users.get(comment.user_id);
      const wanted = comment.post.channel === 'messenger' ? 'comments' : 'replies';
      if (edge !== wanted) return unsupported('POST', `${commentId}/${edge}`, user?.id);
      const text = params.message;
      if (typeof text !== 'string' || text.trim() === '') return graphError(400, '(#100) param message must be a non-empty string', 'OAuthException', 100, undefined, user?.id);
      if ([...text].length > COMMENT_MAX) return graphError(400, `(#100) Length of param message must be less than or equal to ${COMMENT_MAX}`, 'OAuthException', 100, undefined, user?.id);
      const reply = { id: newCommentId(comment.post), text, at: deps.now() };
      comment.replies.push(reply);
      return {
        status: 200,
        body: { id: reply.id },
        userId: user?.id,
        after: () => {
          if (!user) return;
          deps.show(user, { type: 'post', post: view(user) });
          // Meta tells the app about every comment on the post, its own replies included.
          const from = comment.post.channel === 'messenger' ? { id: ids.pageId, name: deps.pageName } : { id: ids.igAccountId, username: deps.igUsername };
          void deps.send(user, commentNotification(comment.post, { ...reply, parent_id: comment.id }, from));
        },
      };
    },
  };
}

/** A random id of `n` digits that does not start with 0, like Meta's. */
function digits(n: number): string {
  return `1${Array.from({ length: n - 1 }, () => randomInt(10)).join('')}`;
}
