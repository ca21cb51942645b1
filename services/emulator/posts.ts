// The emulator's posts and stories: a sample post for each conversation an account offers (a
// Facebook post on each Page, a media post on each Instagram account, the Page-linked one and the
// Instagram Login one), on which a simulated user comments; Meta's side of it, too. A comment
// becomes the notification Meta sends for that account (a Page `feed` change with `item:
// "comment"`, or an Instagram `comments` change, under the account's `entry.id`); the account's
// emulated API takes the bot's private reply (a message to `recipient.comment_id`, delivered into
// the commenter's chat, once per comment as Meta allows) and its public reply (`POST
// /{comment-id}/comments` on Facebook, `/{ig-comment-id}/replies` on Instagram), shown under the
// comment. A comment is the account's own: another account's token cannot reply to it. Like Meta,
// the emulator then notifies the app of that reply, which is the shop's own comment: the bot must
// leave it alone. Instagram users can also mention the shop in a story, or reply to its story.
//
// A Facebook comment's `from.id` is not the commenter's PSID (Meta scopes it differently), so the
// emulator gives each Messenger user a separate commenter id; an Instagram comment carries the IGSID.
import { randomInt } from 'node:crypto';
import type { Channel } from '../events/types.ts';
import { channelsOf, type EmulatedAccount } from './accounts.ts';
import type { CommentsApi, Json } from './graph-shared.ts';
import { graphError, isObject, unsupported } from './graph-shared.ts';
import { newMid } from './ids.ts';
import type { Notification } from './notifications.ts';
import { messageNotification } from './notifications.ts';
import type { ChatOutput, SimUser, WebhookRecord } from './types.ts';
import type { UserRegistry } from './users.ts';
import { fullName } from './users.ts';
import { COMMENT_ID, sendBodyProblem } from './validate-send.ts';

/** What a post looks like on the page, with the comments of the user looking at it. */
export interface PostView {
  id: string;
  channel: Channel;
  /** The key of the account that posted it. */
  account: string;
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
  /** Every account the emulator plays: each gets a sample post per channel it offers. */
  accounts: readonly EmulatedAccount[];
  baseUrl: string;
  now: () => number;
  users: UserRegistry;
  /** Delivers a notification in the user's lane and records it (the core's webhook path). */
  send(user: SimUser, notification: Notification): Promise<WebhookRecord>;
  /** `send` without waiting: the core tracks the delivery (idle() waits for it) and logs a failure. */
  notify(user: SimUser, notification: Notification): void;
  /** Updates the user's Posts view. */
  show(user: SimUser, output: PostsOutput): void;
  /** Shows the user's own story mention or story reply in their chat, as Instagram does. */
  chat(user: SimUser, output: ChatOutput): void;
  /** The bot's message reached the user: shown in their chat like any message. */
  messageSent(user: SimUser, mid: string, message: unknown): void;
}

export interface Posts extends CommentsApi {
  /** The sample post of the user's account on the user's channel, with their comments. */
  view(user: SimUser): PostView;
  /** The user comments on that post; resolves once the webhook was answered. */
  comment(user: SimUser, text: string): Promise<{ comment_id: string; webhook: WebhookRecord }>;
  /** Instagram: the user mentions the shop in their story, or replies to the shop's story. */
  story(user: SimUser, action: StoryAction): Promise<{ mid: string; webhook: WebhookRecord }>;
  /** The user was forgotten (services/emulator/users.ts): so are their comments. */
  forget(userId: string): void;
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
  account: EmulatedAccount;
  caption: string;
  image: string;
}

/** Comments kept per user, oldest forgotten first: an open emulator stays bounded. */
const COMMENTS_PER_USER = 50;
/** What Meta takes in a comment: 2,200 characters on Instagram (Facebook takes more). */
const COMMENT_MAX = 2200;
/** Meta accepts a private reply within 7 days of the comment. */
const PRIVATE_REPLY_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
const STORY_ID_DIGITS = 17;

const CAPTIONS: Record<Channel, string> = {
  messenger: 'New season teas are in! 🍵 Comment "price" and we will message you the list.',
  instagram: 'Fresh jasmine pearls, hand-rolled ✨ Comment "price" for the list!',
};
const IMAGES: Record<Channel, readonly string[]> = {
  messenger: ['sencha.png', 'oolong.png', 'earl-grey.png'],
  instagram: ['jasmine-pearls.png', 'earl-grey.png', 'oolong.png'],
};

/** One sample post per account and channel, with ids like Meta's (`<page id>_<post id>`, or digits). */
function samplePosts(accounts: readonly EmulatedAccount[], baseUrl: string): Map<string, SamplePost> {
  const posts = new Map<string, SamplePost>();
  const count: Record<Channel, number> = { messenger: 0, instagram: 0 };
  for (const account of accounts) {
    for (const channel of channelsOf(account)) {
      const n = count[channel];
      count[channel] += 1;
      const id = channel === 'messenger' ? `${account.page_id ?? ''}_${7_000_000_000_000_001 + n}` : (17_800_000_000_000_001n + BigInt(n)).toString();
      const image = IMAGES[channel][n % IMAGES[channel].length] ?? 'sencha.png';
      posts.set(postKey(account.key, channel), { id, channel, account, caption: CAPTIONS[channel], image: `${baseUrl}/images/${image}` });
    }
  }
  return posts;
}

const postKey = (account: string, channel: Channel): string => `${account}/${channel}`;

/** How the account signs on a channel: its name on Facebook, its handle on Instagram. */
function authorOf(account: EmulatedAccount, channel: Channel): string {
  return channel === 'messenger' ? account.name : (account.username ?? account.name);
}

export function createPosts(deps: PostsDeps): Posts {
  const posts = samplePosts(deps.accounts, deps.baseUrl);
  const comments = new Map<string, StoredComment>();
  const byUser = new Map<string, string[]>();
  const commenterIds = new Map<string, string>();
  const storyIds = new Map<string, string>();
  const newCommentId = (post: SamplePost): string => (post.channel === 'messenger' ? `${post.id.split('_')[1] ?? '0'}_${digits(16)}` : digits(17));

  const postOf = (user: SimUser): SamplePost => {
    const post = posts.get(postKey(user.account, user.channel));
    // Users are only made for a conversation an account offers, and each such one has a post.
    if (!post) throw new Error(`no sample post for account ${user.account} on ${user.channel}`);
    return post;
  };

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
    const post = postOf(user);
    const shop = authorOf(post.account, post.channel);
    const mine = (byUser.get(user.id) ?? []).map((id) => comments.get(id)).filter((c): c is StoredComment => c !== undefined && c.post === post);
    return {
      id: post.id,
      channel: post.channel,
      account: post.account.key,
      author: shop,
      caption: post.caption,
      image: post.image,
      comments: mine.map((c) => ({
        id: c.id,
        text: c.text,
        at: c.at,
        author: user.channel === 'messenger' ? fullName(user) : user.username,
        private_reply: c.private_reply,
        replies: c.replies.map((r) => ({ ...r, author: shop })),
      })),
    };
  };

  const remember = (user: SimUser, comment: StoredComment): void => {
    comments.set(comment.id, comment);
    const list = byUser.get(user.id) ?? [];
    list.push(comment.id);
    while (list.length > COMMENTS_PER_USER) {
      const oldest = list.shift();
      if (oldest !== undefined) comments.delete(oldest);
    }
    byUser.set(user.id, list);
  };

  /** The notification Meta sends for a comment (ours or the user's) on a sample post, under the account's entry id. */
  const commentNotification = (post: SamplePost, comment: { id: string; text: string; at: number; parent_id?: string }, from: Json): Notification => {
    const seconds = Math.floor(comment.at / 1000);
    if (post.channel === 'messenger') {
      const value: Json = { from, post: { status_type: 'added_photos', is_published: true, id: post.id }, message: comment.text, post_id: post.id, comment_id: comment.id, created_time: seconds, item: 'comment', parent_id: comment.parent_id ?? post.id, verb: 'add' };
      return { object: 'page', entry: [{ id: post.account.page_id ?? '', time: seconds, changes: [{ field: 'feed', value }] }] };
    }
    const value: Json = { from, media: { id: post.id, media_product_type: 'FEED' }, id: comment.id, text: comment.text, ...(comment.parent_id ? { parent_id: comment.parent_id } : {}) };
    return { object: 'instagram', entry: [{ id: post.account.instagram_account_id ?? '', time: seconds, changes: [{ field: 'comments', value }] }] };
  };

  /** The shop's own identity in a comment it writes: the Page, or the Instagram account. */
  const shopAsAuthor = (post: SamplePost): Json =>
    post.channel === 'messenger' ? { id: post.account.page_id, name: post.account.name } : { id: post.account.instagram_account_id, username: authorOf(post.account, 'instagram') };

  /** One of the account's comments; another account's (or an unknown one) is none. */
  const commentOf = (account: EmulatedAccount, id: unknown): StoredComment | undefined => {
    const comment = typeof id === 'string' ? comments.get(id) : undefined;
    return comment?.post.account.key === account.key ? comment : undefined;
  };

  const storyIdOf = (account: string): string => {
    let id = storyIds.get(account);
    if (!id) {
      id = digits(STORY_ID_DIGITS);
      storyIds.set(account, id);
    }
    return id;
  };

  return {
    view,
    async comment(user, text) {
      const post = postOf(user);
      deps.users.touch(user);
      const comment: StoredComment = { id: newCommentId(post), post, user_id: user.id, text, at: deps.now(), private_reply: false, replies: [] };
      remember(user, comment);
      deps.show(user, { type: 'post', post: view(user) });
      const from = user.channel === 'messenger' ? { id: commenterId(user), name: fullName(user) } : { id: user.id, username: user.username };
      const webhook = await deps.send(user, commentNotification(post, comment, from));
      return { comment_id: comment.id, webhook };
    },
    async story(user, action) {
      const post = postOf(user);
      deps.users.touch(user);
      const mid = newMid(user.channel, user.account_id);
      const url = `${deps.baseUrl}/emulator/avatar.svg#story-${mid.slice(-8)}`;
      const message =
        action.type === 'mention' ? { mid, attachments: [{ type: 'story_mention', payload: { url } }] } : { mid, text: action.text, reply_to: { story: { url, id: storyIdOf(user.account) } } };
      const at = deps.now();
      const shop = authorOf(post.account, 'instagram');
      deps.chat(user, { type: 'user', mid, at, text: action.type === 'mention' ? `📸 You mentioned @${shop} in your story` : `↩ Replying to @${shop}'s story: ${action.text}` });
      const webhook = await deps.send(user, messageNotification(user, at, message));
      return { mid, webhook };
    },
    forget(userId) {
      for (const id of byUser.get(userId) ?? []) comments.delete(id);
      byUser.delete(userId);
      commenterIds.delete(userId);
    },
    privateReply(account, body) {
      const recipient = isObject(body.recipient) ? body.recipient : {};
      const comment = commentOf(account, recipient.comment_id);
      // Checked like any Send API body first: on the comment's channel when it is known.
      const problem = sendBodyProblem(body, comment?.post.channel ?? (account.type === 'page' ? 'messenger' : 'instagram'));
      if (problem) return graphError(400, problem, 'OAuthException', 100, undefined, comment?.user_id);
      const user = comment ? deps.users.get(comment.user_id) : undefined;
      if (!comment || !user) return graphError(400, '(#100) Invalid comment_id: no such comment, or it cannot be replied to privately', 'OAuthException', 100);
      // Meta: one private reply per comment, within 7 days of it.
      if (comment.private_reply) return graphError(400, '(#10900) Activity already replied to', 'OAuthException', 10900, undefined, user.id);
      if (deps.now() - comment.at >= PRIVATE_REPLY_WINDOW_MS) return graphError(400, '(#100) The comment is older than 7 days: it can no longer be replied to privately', 'OAuthException', 100, undefined, user.id);
      comment.private_reply = true;
      deps.users.touch(user);
      const mid = newMid(user.channel, user.account_id);
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
    publicReply(account, commentId, edge, params) {
      const comment = COMMENT_ID.test(commentId) ? commentOf(account, commentId) : undefined;
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
          deps.notify(user, commentNotification(comment.post, { ...reply, parent_id: comment.id }, shopAsAuthor(comment.post)));
        },
      };
    },
  };
}

/** A random id of `n` digits that does not start with 0, like Meta's. */
function digits(n: number): string {
  return `1${Array.from({ length: n - 1 }, () => randomInt(10)).join('')}`;
}
