// The edges of one account's node (`me/<edge>` or `<account-id>/<edge>`), the same for a Page on
// the emulated Graph API and an Instagram Login account on the emulated Instagram API: the Send
// API, the messenger profile, handover, thread owner, the app install, and the profiles of the
// account's own users. A user is scoped to one account, as PSIDs and IGSIDs are: another account's
// token cannot message or look them up.
import type { EmulatedAccount } from './accounts.ts';
import { newMid } from './ids.ts';
import type { CommentsApi, GraphEffects, GraphReply, Json } from './graph-shared.ts';
import { PAGE_INBOX_APP_ID, ParamError, graphError, isObject, jsonParam, listParam, ok, platformOf, stringParam, unsupported } from './graph-shared.ts';
import type { SimUser } from './types.ts';
import type { UserRegistry } from './users.ts';
import { fullName } from './users.ts';
import { sendBodyProblem } from './validate-send.ts';

export interface AccountNodeDeps {
  users: UserRegistry;
  effects: GraphEffects;
  appId: string | undefined;
  appName: string;
  /** Absolute URL of a picture for the User Profile API's `profile_pic`. */
  profilePic: (user: SimUser) => string;
  /** The sample posts' comments: private replies to them, public replies under them. */
  comments?: CommentsApi;
}

export interface AccountNode {
  account: EmulatedAccount;
  /** An edge of the account node; undefined when the node has no such edge. */
  edge(method: string, edge: string, params: Json): GraphReply | undefined;
  /** One of the account's users, by id; undefined for anyone else. */
  user(id: string): SimUser | undefined;
  userProfile(user: SimUser, params: Json): GraphReply;
  /** `POST /{comment-id}/{edge}`: a public reply under one of the account's comments; undefined when `id` is none of them. */
  commentEdge(method: string, id: string, edge: string, params: Json): GraphReply | undefined;
}

const MESSENGER_PROFILE_FIELDS = ['get_started', 'greeting', 'ice_breakers', 'persistent_menu', 'whitelisted_domains', 'account_linking_url', 'commands', 'title', 'description'];

/** Fields a Page install takes (`/{page-id}/subscribed_apps`). */
const PAGE_FIELDS = new Set([
  'messages',
  'message_echoes',
  'message_edits',
  'messaging_postbacks',
  'message_reads',
  'message_deliveries',
  'message_reactions',
  'messaging_referrals',
  'messaging_optins',
  'messaging_handovers',
  'messaging_policy_enforcement',
  'messaging_account_linking',
  'messaging_game_plays',
  'messaging_feedback',
  'messaging_customer_information',
  'messaging_seen',
  'standby',
  'feed',
]);

/** Fields an Instagram Login account install takes (`/{ig-id}/subscribed_apps` on graph.instagram.com). */
const INSTAGRAM_FIELDS = new Set([
  'messages',
  'message_edit',
  'message_reactions',
  'messaging_handover',
  'messaging_optins',
  'messaging_postbacks',
  'messaging_referral',
  'messaging_seen',
  'standby',
  'comments',
  'live_comments',
  'mentions',
  'story_insights',
]);

const USER_FIELDS = {
  messenger: ['id', 'first_name', 'last_name', 'name', 'profile_pic', 'locale'],
  instagram: ['id', 'name', 'username', 'profile_pic', 'follower_count', 'is_user_follow_business', 'is_business_follow_user', 'is_verified_user'],
} as const;

export function createAccountNode(account: EmulatedAccount, deps: AccountNodeDeps): AccountNode {
  const { users } = deps;
  const profiles = new Map<string, Json>();
  let subscribedFields: string[] | undefined;
  const installFields = account.type === 'page' ? PAGE_FIELDS : INSTAGRAM_FIELDS;
  const own = (id: string): SimUser | undefined => {
    const user = users.get(id);
    return user?.account === account.key ? user : undefined;
  };

  function sendMessage(params: Json): GraphReply {
    const body: Json = { ...params, recipient: jsonParam(params, 'recipient'), message: jsonParam(params, 'message') };
    // A private reply: the recipient is a comment on one of the account's posts, not a user id.
    if (isObject(body.recipient) && body.recipient.comment_id !== undefined) {
      return deps.comments ? deps.comments.privateReply(account, body) : graphError(400, '(#100) Invalid comment_id: no such comment, or it cannot be replied to privately', 'OAuthException', 100);
    }
    const recipientId = isObject(body.recipient) && typeof body.recipient.id === 'string' ? body.recipient.id : undefined;
    const user = recipientId === undefined ? undefined : own(recipientId);
    if (recipientId !== undefined && !user) return graphError(400, '(#100) No matching user found', 'OAuthException', 100, 2018001);
    const problem = sendBodyProblem(body, user?.channel ?? (account.type === 'page' ? 'messenger' : 'instagram'));
    if (problem || !user) return graphError(400, problem ?? '(#100) The parameter recipient is required', 'OAuthException', 100, undefined, user?.id);
    users.touch(user);
    if (typeof body.sender_action === 'string') {
      const action = body.sender_action;
      return { ...ok({ recipient_id: user.id }, user.id), after: () => deps.effects.senderAction(user, action) };
    }
    const mid = newMid(user.channel, user.account_id);
    const message = body.message;
    return { ...ok({ recipient_id: user.id, message_id: mid }, user.id), after: () => deps.effects.messageSent(user, mid, message) };
  }

  function userProfile(user: SimUser, params: Json): GraphReply {
    const requested = listParam(params, 'fields') ?? (user.channel === 'messenger' ? ['first_name', 'last_name', 'profile_pic'] : ['name', 'username', 'profile_pic']);
    const available: readonly string[] = USER_FIELDS[user.channel];
    const unknown = requested.find((f) => !available.includes(f));
    if (unknown) {
      return graphError(400, `(#100) Tried accessing nonexisting field (${unknown}) on node type (${user.channel === 'messenger' ? 'User' : 'IGUser'})`, 'OAuthException', 100, undefined, user.id);
    }
    const values: Json = {
      first_name: user.first_name,
      last_name: user.last_name,
      name: fullName(user),
      username: user.username,
      profile_pic: deps.profilePic(user),
      locale: user.locale,
      follower_count: 0,
      is_user_follow_business: false,
      is_business_follow_user: false,
      is_verified_user: false,
    };
    const profile: Json = {};
    for (const field of requested) if (field !== 'id') profile[field] = values[field];
    profile.id = user.id;
    return ok(profile, user.id);
  }

  function getMessengerProfile(params: Json): GraphReply {
    const fields = listParam(params, 'fields');
    if (!fields) throw new ParamError('The parameter fields is required');
    const stored = profiles.get(platformOf(params)) ?? {};
    const picked = Object.fromEntries(fields.filter((f) => f in stored).map((f) => [f, stored[f]]));
    return ok({ data: Object.keys(picked).length > 0 ? [picked] : [] });
  }

  function setMessengerProfile(params: Json): GraphReply {
    const given = MESSENGER_PROFILE_FIELDS.filter((f) => params[f] !== undefined);
    if (given.length === 0) throw new ParamError(`Requires one of the params: ${MESSENGER_PROFILE_FIELDS.join(', ')}`);
    const platform = platformOf(params);
    if (account.type === 'instagram' && platform !== 'instagram') throw new ParamError('platform must be instagram for an Instagram account');
    const stored = profiles.get(platform) ?? {};
    for (const field of given) stored[field] = jsonParam(params, field);
    profiles.set(platform, stored);
    return ok({ result: 'success' });
  }

  function deleteMessengerProfile(params: Json): GraphReply {
    const fields = listParam(params, 'fields');
    if (!fields) throw new ParamError('The parameter fields is required');
    const stored = profiles.get(platformOf(params)) ?? {};
    for (const field of fields) delete stored[field];
    return ok({ result: 'success' });
  }

  function passThread(params: Json): GraphReply {
    const target = stringParam(params, 'target_app_id');
    if (target === undefined) throw new ParamError('The parameter target_app_id is required');
    if (target !== PAGE_INBOX_APP_ID && target !== deps.appId) throw new ParamError('Invalid target_app_id: the app is not a receiver of this Page');
    const metadata = stringParam(params, 'metadata');
    return withRecipient(params, (user) => ({ ...ok({ success: true }, user.id), after: () => deps.effects.threadPassed(user, target, metadata) }));
  }

  function takeThread(params: Json): GraphReply {
    const metadata = stringParam(params, 'metadata');
    return withRecipient(params, (user) => ({ ...ok({ success: true }, user.id), after: () => deps.effects.threadTaken(user, metadata) }));
  }

  function threadOwner(params: Json): GraphReply {
    const id = stringParam(params, 'recipient');
    const user = id === undefined ? undefined : own(id);
    if (!user) throw new ParamError('The parameter recipient is required and must be a user of this Page');
    return ok({ data: [{ thread_owner: { app_id: user.thread_owner === 'app' ? deps.appId : PAGE_INBOX_APP_ID } }] }, user.id);
  }

  function withRecipient(params: Json, then: (user: SimUser) => GraphReply): GraphReply {
    const recipient = jsonParam(params, 'recipient');
    const id = isObject(recipient) && typeof recipient.id === 'string' ? recipient.id : undefined;
    if (id === undefined) throw new ParamError('The parameter recipient is required');
    const user = own(id);
    if (!user) return graphError(400, '(#100) No matching user found', 'OAuthException', 100, 2018001);
    return then(user);
  }

  function subscribe(params: Json): GraphReply {
    const fields = listParam(params, 'subscribed_fields');
    if (!fields || fields.length === 0) throw new ParamError('The parameter subscribed_fields is required');
    const bad = fields.find((f) => !installFields.has(f));
    if (bad) throw new ParamError(`Param subscribed_fields must be one of {${[...installFields].join(', ')}} - got "${bad}"`);
    subscribedFields = fields;
    return ok({ success: true });
  }

  return {
    account,
    user: own,
    userProfile,
    commentEdge: (method, id, edge, params) => (method === 'POST' && edge !== '' ? deps.comments?.publicReply(account, id, edge, params) : undefined),
    edge(method, edge, params) {
      switch (`${method} ${edge}`) {
        case 'POST messages':
          return sendMessage(params);
        case 'GET messenger_profile':
          return getMessengerProfile(params);
        case 'POST messenger_profile':
          return setMessengerProfile(params);
        case 'DELETE messenger_profile':
          return deleteMessengerProfile(params);
        case 'POST pass_thread_control':
          return passThread(params);
        case 'POST take_thread_control':
          return takeThread(params);
        case 'POST request_thread_control':
          return withRecipient(params, (user) => ok({ success: true }, user.id));
        case 'GET thread_owner':
          return threadOwner(params);
        case 'GET subscribed_apps':
          return ok({ data: subscribedFields ? [{ category: 'Business', name: deps.appName, id: deps.appId, subscribed_fields: subscribedFields }] : [] });
        case 'POST subscribed_apps':
          return subscribe(params);
        case 'DELETE subscribed_apps':
          subscribedFields = undefined;
          return ok({ success: true });
        default:
          return undefined;
      }
    },
  };
}

/** Graph's answer for an edge an account node does not have. */
export function noSuchEdge(method: string, edge: string): GraphReply {
  return unsupported(method, edge === '' ? 'me' : `me/${edge}`);
}
