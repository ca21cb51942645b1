// The permissions (token scopes) each account's token needs, each with what fails without it, so
// `doctor` can name a missing one and its consequence. Messaging always; for the platforms that
// have comment triggers (data/comment-replies.json), the ones that deliver comments and answer
// them. A Page token (Facebook Login) carries `pages_*` and, for its linked Instagram account,
// `instagram_*` scopes; an Instagram Login token carries `instagram_business_*` scopes.
// Source: Meta's Instagram webhook fields and permissions, Pages API permissions, private replies.
import type { Account } from '../../services/accounts/types.ts';
import { commentTriggers, type CommentTriggers } from '../../services/comments/triggers.ts';
import type { Channel } from '../../services/events/types.ts';

export interface Permission {
  scope: string;
  /** What the bot cannot do without it. */
  why: string;
}

const PAGE_MESSAGING: readonly Permission[] = [
  { scope: 'pages_messaging', why: 'send replies, private replies to comments included' },
  { scope: 'pages_manage_metadata', why: 'install the app on the Page (subscribed_apps), so Meta delivers its webhooks' },
];
const LINKED_INSTAGRAM_MESSAGING: readonly Permission[] = [
  { scope: 'instagram_basic', why: 'reach the linked Instagram account' },
  { scope: 'instagram_manage_messages', why: 'receive and answer Instagram messages, private replies included' },
];
const PAGE_COMMENTS: readonly Permission[] = [
  { scope: 'pages_read_engagement', why: "receive the Page's `feed` (comments on its posts)" },
  { scope: 'pages_read_user_content', why: 'read who wrote a comment (comments arrive without `from`, and none is answered)' },
];
const PAGE_PUBLIC_REPLIES: readonly Permission[] = [{ scope: 'pages_manage_engagement', why: 'post the public reply under a comment' }];
const LINKED_INSTAGRAM_COMMENTS: readonly Permission[] = [
  { scope: 'instagram_manage_comments', why: "receive comments on the Instagram account's media and reply under them" },
  // Meta lists it for the Instagram comments webhook with Facebook Login too.
  { scope: 'pages_read_engagement', why: 'receive comments on the linked Instagram account' },
];
const LOGIN_MESSAGING: readonly Permission[] = [
  { scope: 'instagram_business_basic', why: 'reach the Instagram account' },
  { scope: 'instagram_business_manage_messages', why: 'receive and answer its messages, private replies included' },
];
const LOGIN_COMMENTS: readonly Permission[] = [{ scope: 'instagram_business_manage_comments', why: 'receive comments on its media and reply under them' }];

/** The scopes this account's token needs, messaging first, in a stable order. */
export function requiredPermissions(account: Account, comments: CommentTriggers): Permission[] {
  const facebook = comments.covers('messenger');
  const instagram = comments.covers('instagram');
  if (account.type === 'instagram') return [...LOGIN_MESSAGING, ...(instagram ? LOGIN_COMMENTS : [])];
  const linked = account.instagram_account_id !== undefined;
  const all = [
    ...PAGE_MESSAGING,
    ...(linked ? LINKED_INSTAGRAM_MESSAGING : []),
    ...(facebook ? PAGE_COMMENTS : []),
    ...(facebook && repliesPublicly(comments, 'messenger') ? PAGE_PUBLIC_REPLIES : []),
    ...(linked && instagram ? LINKED_INSTAGRAM_COMMENTS : []),
  ];
  // A scope two features need is listed once, with the reason of the first.
  return all.filter((p, i) => all.findIndex((q) => q.scope === p.scope) === i);
}

/** Whether a trigger answering on this channel also replies publicly under the comment. */
function repliesPublicly(comments: CommentTriggers, channel: Channel): boolean {
  return commentTriggers(comments.triggers.filter((t) => t.public_reply !== undefined)).covers(channel);
}
