// Graph object ids as they appear in request paths. PSIDs, IGSIDs, Page and Instagram account ids
// are all decimal digits; anything else placed in a path could address another object (`..` turns
// `GET /{psid}` into `GET /`), so it is refused before a request is made, not merely URL-encoded.

/** Longer than any id Meta issues (PSIDs have 16 digits, Instagram ids 17), short enough to be one. */
const GRAPH_ID = /^[0-9]{1,32}$/;

export function isGraphId(value: unknown): value is string {
  return typeof value === 'string' && GRAPH_ID.test(value);
}

/** An id that cannot be a Graph object id: a bug or a forged payload, never worth a request. */
export class InvalidGraphIdError extends Error {
  override name = 'InvalidGraphIdError';
  /** What the id was for (`user profile`, ...); the id itself is kept out of the message. */
  readonly what: string;
  constructor(what: string) {
    super(`${what}: the id is not a numeric Graph id; no request was made`);
    this.what = what;
  }
}

/** The id, checked: throws `InvalidGraphIdError` when it is not decimal digits. */
export function graphId(value: string, what: string): string {
  if (!isGraphId(value)) throw new InvalidGraphIdError(what);
  return value;
}

/**
 * Comment ids as Meta issues them: `<post id>_<comment id>` on Facebook, digits on Instagram. The
 * same reasoning as for `graphId`: nothing else may become (part of) a request path.
 */
const COMMENT_ID = /^[0-9]{1,32}(?:_[0-9]{1,32})?$/;

export function isCommentId(value: unknown): value is string {
  return typeof value === 'string' && COMMENT_ID.test(value);
}

/** The comment id, checked: throws `InvalidGraphIdError` when it is not one. */
export function commentId(value: string, what: string): string {
  if (!isCommentId(value)) throw new InvalidGraphIdError(what);
  return value;
}
