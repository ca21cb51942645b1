// The comment triggers of data/comment-replies.json: which words in a comment on which posts get a
// private reply (and optionally a public one), validated on load so a broken file stops start-up
// with the file and field named. The format is in README.md, "Comments to conversations".
import { existsSync, readFileSync } from 'node:fs';
import type { Channel } from '../events/types.ts';
import { isSupportedLocale, SUPPORTED_LOCALES, type Locale, type PlainMessageKey } from '../i18n.ts';
import { normalizeText } from '../conversation/intents.ts';
import { array, fail, matching, member, object, readDataFile, string, type Field } from '../shop/data-file.ts';

export interface CommentTrigger {
  name: string;
  /** The words per language, as written in the file. */
  keywords: Readonly<Partial<Record<Locale, readonly string[]>>>;
  /** Where it answers: Facebook (Page posts), Instagram (the account's media), or both. */
  platforms: readonly Platform[];
  /**
   * The Facebook posts and Instagram media it answers on. With neither, every post on its
   * platforms; naming some posts or media limits it to those (naming only posts: no Instagram).
   */
  post_ids?: readonly string[];
  media_ids?: readonly string[];
  /** The private reply: a text (translation key), with the main menu's quick replies when `menu`. */
  private_reply: { text: PlainMessageKey; menu: boolean };
  /** A public reply under the comment, e.g. "We've sent you a message". */
  public_reply?: { text: PlainMessageKey };
}

/** What a comment is matched on. */
export interface CommentToMatch {
  channel: Channel;
  text: string;
  /** Facebook: the post (`<page id>_<post id>`). */
  post_id?: string;
  /** Instagram: the media. */
  media_id?: string;
}

export interface TriggerMatch {
  trigger: CommentTrigger;
  /** The languages of the words that matched (one: the commenter's language; several: unknown). */
  locales: readonly Locale[];
}

export interface CommentTriggers {
  readonly triggers: readonly CommentTrigger[];
  /** The first trigger, in the file's order, whose words the comment contains on a post it covers. */
  match(comment: CommentToMatch): TriggerMatch | undefined;
  /** Whether any trigger can answer comments on this channel (setup subscribes `feed` / `comments` then). */
  covers(channel: Channel): boolean;
}

/** Where the comments are: `facebook` is a Page's posts (the `messenger` channel), `instagram` the account's media. */
export type Platform = 'facebook' | 'instagram';
const PLATFORMS: readonly Platform[] = ['facebook', 'instagram'];

export function platformOf(channel: Channel): Platform {
  return channel === 'messenger' ? 'facebook' : 'instagram';
}

export const COMMENT_REPLIES_FILE = 'data/comment-replies.json';
const FIELDS = ['name', 'keywords', 'platforms', 'post_ids', 'media_ids', 'private_reply', 'public_reply'] as const;
const NAME = matching(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, "-" and "_" (it names the trigger in logs), like "price"');
const POST_ID = matching(/^\d{1,32}(?:_\d{1,32})?$/, 'a Facebook post id, "<page id>_<post id>" or the post id alone, like "1234567890_7000000000000001"');
const MEDIA_ID = matching(/^\d{1,32}$/, 'an Instagram media id (digits), like "17800000000000001"');
/** Meta's limits: 2,000 characters for a message; Instagram comments take 2,200 (Facebook more). */
const PRIVATE_REPLY_MAX = 2000;
const PUBLIC_REPLY_MAX = 2200;
// Scripts written without spaces between words: a keyword in them is found anywhere in the comment.
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * Reads the triggers from `<dir>comment-replies.json`; a shop without the file has none. `english`
 * is the reference locale file, which must hold every text the triggers name.
 */
export function loadCommentTriggers(dir: string, english: string): CommentTriggers {
  const path = `${dir}comment-replies.json`;
  if (!existsSync(path)) return commentTriggers([]);
  const file = readDataFile(path, COMMENT_REPLIES_FILE);
  const texts = JSON.parse(readFileSync(english, 'utf8')) as unknown;
  const triggers = array(file).map((field) => readTrigger(field, texts));
  const seen = new Set<string>();
  triggers.forEach((trigger, i) => {
    if (seen.has(trigger.name)) fail(member(member(file, i), 'name'), `${JSON.stringify(trigger.name)} appears twice`);
    seen.add(trigger.name);
  });
  return commentTriggers(triggers);
}

/** The matcher over triggers already checked. */
export function commentTriggers(triggers: readonly CommentTrigger[]): CommentTriggers {
  const indexed = triggers.map((trigger) => ({
    trigger,
    words: Object.entries(trigger.keywords).flatMap(([locale, words]) => (words ?? []).map((word) => ({ locale: locale as Locale, word: normalizeText(word) }))),
  }));
  return {
    triggers,
    match(comment) {
      const text = normalizeText(comment.text);
      if (text === '') return undefined;
      for (const { trigger, words } of indexed) {
        if (!covers(trigger, comment)) continue;
        const locales = [...new Set(words.filter(({ word }) => contains(text, word)).map((w) => w.locale))];
        if (locales.length > 0) return { trigger, locales };
      }
      return undefined;
    },
    covers: (channel) => triggers.some((trigger) => answersOn(trigger, platformOf(channel))),
  };
}

/** A keyword matches as whole words anywhere in the comment; in scripts without spaces, anywhere. */
function contains(text: string, word: string): boolean {
  return UNSPACED.test(word) ? text.includes(word) : ` ${text} `.includes(` ${word} `);
}

/** Whether the trigger answers on a platform at all. */
function answersOn(trigger: CommentTrigger, platform: Platform): boolean {
  if (!trigger.platforms.includes(platform)) return false;
  if (trigger.post_ids === undefined && trigger.media_ids === undefined) return true;
  return (platform === 'facebook' ? trigger.post_ids : trigger.media_ids) !== undefined;
}

/** Whether the trigger answers on the comment's post. A post id in the file may be `<page>_<post>` or the post's own id. */
function covers(trigger: CommentTrigger, comment: CommentToMatch): boolean {
  const platform = platformOf(comment.channel);
  if (!answersOn(trigger, platform)) return false;
  if (platform === 'instagram') return trigger.media_ids === undefined || (comment.media_id !== undefined && trigger.media_ids.includes(comment.media_id));
  const post = comment.post_id;
  return trigger.post_ids === undefined || (post !== undefined && trigger.post_ids.some((id) => post === id || post.endsWith(`_${id}`)));
}

function readTrigger(field: Field, texts: unknown): CommentTrigger {
  object(field, FIELDS);
  const privateField = object(member(field, 'private_reply'), ['text', 'menu']);
  const menu = member(privateField, 'menu');
  if (menu.value !== undefined && typeof menu.value !== 'boolean') fail(menu, `must be true or false, got ${JSON.stringify(menu.value)}`);
  const publicField = member(field, 'public_reply');
  const postIds = idList(member(field, 'post_ids'), POST_ID);
  const mediaIds = idList(member(field, 'media_ids'), MEDIA_ID);
  const platforms = readPlatforms(member(field, 'platforms'));
  if (postIds !== undefined && !platforms.includes('facebook')) fail(member(field, 'post_ids'), 'names Facebook posts, but platforms leaves out "facebook"');
  if (mediaIds !== undefined && !platforms.includes('instagram')) fail(member(field, 'media_ids'), 'names Instagram media, but platforms leaves out "instagram"');
  return {
    name: string(member(field, 'name'), NAME),
    keywords: readKeywords(member(field, 'keywords')),
    platforms,
    ...(postIds === undefined ? {} : { post_ids: postIds }),
    ...(mediaIds === undefined ? {} : { media_ids: mediaIds }),
    private_reply: { text: textKey(member(privateField, 'text'), texts, PRIVATE_REPLY_MAX), menu: menu.value === true },
    ...(publicField.value === undefined ? {} : { public_reply: { text: textKey(member(object(publicField, ['text']), 'text'), texts, PUBLIC_REPLY_MAX) } }),
  };
}

function readKeywords(field: Field): Partial<Record<Locale, string[]>> {
  object(field, SUPPORTED_LOCALES);
  const keywords: Partial<Record<Locale, string[]>> = {};
  for (const locale of Object.keys(field.value as object)) {
    if (!isSupportedLocale(locale)) continue;
    const words = array(member(field, locale)).map((word) => {
      const text = string(word);
      if (normalizeText(text) === '') fail(word, `${JSON.stringify(text)} has no letters or digits left to match`);
      return text;
    });
    if (words.length > 0) keywords[locale] = words;
  }
  if (Object.keys(keywords).length === 0) fail(field, `has no words: give at least one, e.g. { "en_US": ["price"] }`);
  return keywords;
}

function readPlatforms(field: Field): Platform[] {
  if (field.value === undefined) return [...PLATFORMS];
  const platforms = array(field).map((item) => string(item, { expected: `one of ${PLATFORMS.map((p) => `"${p}"`).join(', ')}`, test: (p) => (PLATFORMS as readonly string[]).includes(p) }) as Platform);
  if (platforms.length === 0) fail(field, 'is empty: leave it out to answer on Facebook and Instagram');
  return [...new Set(platforms)];
}

function idList(field: Field, format: { test(text: string): boolean; expected: string }): string[] | undefined {
  if (field.value === undefined) return undefined;
  const ids = array(field).map((id) => string(id, format));
  if (ids.length === 0) fail(field, 'is empty: leave it out to answer comments on every post');
  return ids;
}

/** A translation key that names a text in locales/en_US.json needing no variables but {{shop}}. */
function textKey(field: Field, texts: unknown, max: number): PlainMessageKey {
  const key = string(field);
  const text = key.split('.').reduce<unknown>((node, part) => (isRecord(node) ? node[part] : undefined), texts);
  if (typeof text !== 'string') fail(field, `${JSON.stringify(key)} is not a text in locales/en_US.json (a key like "browse.intro")`);
  const variables = [...text.matchAll(/\{\{\s*([^}\s,]+)/g)].map((m) => m[1]).filter((name) => name !== 'shop');
  if (variables.length > 0) fail(field, `${JSON.stringify(key)} needs {{${variables.join('}}, {{')}}}, which a comment reply cannot fill: only {{shop}} is known`);
  if ([...text].length > max) fail(field, `${JSON.stringify(key)} is over ${max} characters in locales/en_US.json`);
  // Checked just now against en_US.json; the locale test makes every language have it too.
  return key as PlainMessageKey;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
