// The Send API client: the only code that turns an outgoing action into a Graph call. Handlers
// never call it directly; they produce actions, and the delivery step performs them in order.
import type { Channel } from '../events/types.ts';
import type { OutgoingAction } from '../outbox/outgoing-action.ts';
import type { GraphClient } from './client.ts';
import { commentId, graphId } from './ids.ts';
import type { SendRequest } from './messages.ts';

/** Page Inbox's app ID: the documented target for handing a conversation to people. */
export const PAGE_INBOX_APP_ID = '263902037430900';

export interface SendResult {
  recipient_id?: string;
  message_id?: string;
}

export interface UserProfile {
  first_name?: string;
  last_name?: string;
  name?: string;
  username?: string;
  locale?: string;
  profile_pic?: string;
}

export interface SendApi {
  /** Sends as `action.account` (the default account when absent). */
  perform(action: OutgoingAction): Promise<SendResult>;
  /**
   * Looks the user up with the token of `account` (the one the user wrote to; the default account
   * when absent). Rejects with `InvalidGraphIdError`, without a request, when `userId` is not a
   * numeric PSID/IGSID.
   */
  getUserProfile(userId: string, channel: Channel, account?: string): Promise<UserProfile>;
}

/** The Send API over one Graph client: one account's (services/graph/account-send-api.ts puts them together). */
export function createSendApi(graph: GraphClient): SendApi {
  return {
    perform: (action) => performAction(graph, action),
    // async, so an invalid id is a rejection like any other failed lookup, not a synchronous throw.
    getUserProfile: async (userId, channel) =>
      await graph.request<UserProfile>({
        method: 'GET',
        // The id is the whole path: digits only, or the request could address another object.
        path: graphId(userId, 'user profile'),
        // Instagram users have no first name or locale; Messenger's locale needs no extra call.
        params: { fields: channel === 'instagram' ? 'name,username,profile_pic' : 'first_name,last_name,profile_pic,locale' },
      }),
  };
}

async function performAction(graph: GraphClient, action: OutgoingAction): Promise<SendResult> {
  switch (action.type) {
    case 'message':
      return sendRequest(graph, { recipient: action.recipient, messaging_type: 'RESPONSE', message: action.message });
    case 'sender_action':
      return sendRequest(graph, { recipient: action.recipient, sender_action: action.sender_action });
    case 'pass_thread_control':
      await graph.request({
        method: 'POST',
        path: 'me/pass_thread_control',
        data: { recipient: action.recipient, target_app_id: action.target_app_id, metadata: action.metadata },
      });
      return {};
    case 'take_thread_control':
      await graph.request({
        method: 'POST',
        path: 'me/take_thread_control',
        data: { recipient: action.recipient, metadata: action.metadata },
      });
      return {};
    case 'comment_reply': {
      // The comment id is the path: checked like any id there. Facebook calls a reply a comment on
      // the comment; Instagram has a replies edge.
      const edge = action.channel === 'instagram' ? 'replies' : 'comments';
      await graph.request({ method: 'POST', path: `${commentId(action.comment_id, 'comment reply')}/${edge}`, data: { message: action.message } });
      return {};
    }
  }
}

function sendRequest(graph: GraphClient, body: SendRequest): Promise<SendResult> {
  return graph.request<SendResult>({ method: 'POST', path: 'me/messages', data: body });
}
