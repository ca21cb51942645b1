// Outbound Send API shapes, in Meta's field names, and builders that enforce Meta's limits so a
// reply is rejected here with a clear reason instead of by Graph with code 100.

export interface Recipient {
  id?: string;
  user_ref?: string;
  /** A private reply: the one message Meta allows to the author of this comment (within 7 days). */
  comment_id?: string;
}

export interface QuickReply {
  content_type: 'text';
  title: string;
  payload: string;
  image_url?: string;
}

export type Button =
  | { type: 'postback'; title: string; payload: string }
  | { type: 'web_url'; title: string; url: string; webview_height_ratio?: 'compact' | 'tall' | 'full' };

export interface GenericElement {
  title: string;
  subtitle?: string;
  image_url?: string;
  default_action?: { type: 'web_url'; url: string };
  buttons?: Button[];
}

export type OutgoingMessage =
  | { text: string; quick_replies?: QuickReply[] }
  | {
      attachment:
        | { type: 'template'; payload: { template_type: 'button'; text: string; buttons: Button[] } }
        | { type: 'template'; payload: { template_type: 'generic'; elements: GenericElement[] } }
        | { type: 'image' | 'video' | 'audio' | 'file'; payload: { url: string; is_reusable?: boolean } };
      quick_replies?: QuickReply[];
    };

export type SenderAction = 'mark_seen' | 'typing_on' | 'typing_off';

/** A body for POST me/messages. */
export type SendRequest =
  | { recipient: Recipient; messaging_type: 'RESPONSE' | 'UPDATE' | 'MESSAGE_TAG'; message: OutgoingMessage; tag?: string }
  | { recipient: Recipient; sender_action: SenderAction };

/** Meta's documented limits for the Send API. */
export const LIMITS = {
  text: 2000,
  quickReplies: 13,
  quickReplyTitle: 20,
  payload: 1000,
  buttonTemplateText: 640,
  buttons: 3,
  buttonTitle: 20,
  genericElements: 10,
  elementTitle: 80,
  elementSubtitle: 80,
} as const;

/** A reply that breaks a Send API limit: a programming error in a flow, reported before sending. */
export class MessageLimitError extends Error {
  override name = 'MessageLimitError';
}

/** A high surrogate not followed by a low one, or a low one without a high one before it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The text with every lone surrogate replaced by U+FFFD. JSON may carry one (`"\ud83d"`) in what
 * a user typed; quoted back it is not UTF-8, and Meta refuses the whole message.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * At most `max` characters (code points, as Meta counts them) of `text`, cut between graphemes so
 * no emoji, flag or accented letter is split, with `ellipsis` appended when something was cut
 * (within `max`). Always well-formed.
 */
export function truncate(text: string, max: number, ellipsis = '…'): string {
  const whole = wellFormed(text);
  if (codePoints(whole) <= max) return whole;
  const room = max - codePoints(ellipsis);
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(whole)) {
    const size = codePoints(segment);
    if (used + size > room) break;
    kept += segment;
    used += size;
  }
  return room >= 0 ? kept + ellipsis : kept;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * Splits text above the 2000-character limit, preferring paragraph, line, then word boundaries.
 * Chunks are counted in code points, cut between them, and well-formed.
 */
export function splitText(text: string, limit: number = LIMITS.text): string[] {
  const chunks: string[] = [];
  let rest = wellFormed(text);
  while (codePoints(rest) > limit) {
    const window = [...rest].slice(0, limit).join('');
    const cut = bestCut(window);
    const chunk = window.slice(0, cut).trimEnd();
    if (chunk !== '') chunks.push(chunk);
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || chunks.length === 0) chunks.push(rest);
  return chunks;
}

function bestCut(window: string): number {
  const minimum = Math.floor(window.length / 2);
  for (const sep of ['\n\n', '\n', ' ']) {
    const at = window.lastIndexOf(sep);
    if (at >= minimum) return at + sep.length;
  }
  return window.length;
}

export function quickReply(title: string, payload: string): QuickReply {
  check([...title].length <= LIMITS.quickReplyTitle, `quick reply title "${title}" is over ${LIMITS.quickReplyTitle} characters`);
  check(payload.length <= LIMITS.payload, `quick reply payload is over ${LIMITS.payload} characters`);
  return { content_type: 'text', title, payload };
}

/** A text message; lone surrogates (from quoted user input) become U+FFFD. */
export function textMessage(raw: string, quickReplies?: QuickReply[]): OutgoingMessage {
  const text = wellFormed(raw);
  check(text.trim().length > 0, 'text is empty');
  check(codePoints(text) <= LIMITS.text, `text is over ${LIMITS.text} characters: use splitText`);
  if (quickReplies === undefined) return { text };
  check(quickReplies.length >= 1 && quickReplies.length <= LIMITS.quickReplies, `1 to ${LIMITS.quickReplies} quick replies allowed`);
  return { text, quick_replies: quickReplies };
}

export function postbackButton(title: string, payload: string): Button {
  checkButtonTitle(title);
  check(payload.length <= LIMITS.payload, `button payload is over ${LIMITS.payload} characters`);
  return { type: 'postback', title, payload };
}

export function urlButton(title: string, url: string): Button {
  checkButtonTitle(title);
  check(/^https?:\/\//.test(url), `button URL "${url}" is not http(s)`);
  return { type: 'web_url', title, url };
}

export function buttonTemplate(text: string, buttons: Button[]): OutgoingMessage {
  check(text.length > 0 && [...text].length <= LIMITS.buttonTemplateText, `button template text must be 1 to ${LIMITS.buttonTemplateText} characters`);
  check(buttons.length >= 1 && buttons.length <= LIMITS.buttons, `1 to ${LIMITS.buttons} buttons allowed`);
  return { attachment: { type: 'template', payload: { template_type: 'button', text, buttons } } };
}

export function genericTemplate(elements: GenericElement[]): OutgoingMessage {
  check(elements.length >= 1 && elements.length <= LIMITS.genericElements, `1 to ${LIMITS.genericElements} elements allowed`);
  for (const el of elements) {
    check([...el.title].length <= LIMITS.elementTitle, `element title "${el.title}" is over ${LIMITS.elementTitle} characters`);
    check(el.subtitle === undefined || [...el.subtitle].length <= LIMITS.elementSubtitle, `element subtitle is over ${LIMITS.elementSubtitle} characters`);
    check((el.buttons?.length ?? 0) <= LIMITS.buttons, `at most ${LIMITS.buttons} buttons per element`);
  }
  return { attachment: { type: 'template', payload: { template_type: 'generic', elements } } };
}

function checkButtonTitle(title: string): void {
  check(title.length > 0 && [...title].length <= LIMITS.buttonTitle, `button title "${title}" must be 1 to ${LIMITS.buttonTitle} characters`);
}

function check(ok: boolean, problem: string): asserts ok {
  if (!ok) throw new MessageLimitError(problem);
}
