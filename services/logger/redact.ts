// Value-based redaction of finished log lines. pino's own `redact` works on key paths, but a token
// can turn up anywhere (a URL in a message, an error text Graph echoed, a header in a stack), so
// every configured secret is replaced in the serialised line itself, whatever path it took.

export const REDACTED = '[REDACTED]';

/** Shorter values would replace ordinary words and numbers all over the logs. */
const MIN_SECRET_LENGTH = 4;

export type Redactor = (line: string) => string;

/**
 * Replaces every secret in a line, raw or in the escaped form JSON gives it (a secret with a quote
 * or a backslash appears escaped in a JSON line). Longer forms go first, so a secret that contains
 * another one is not left half visible.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const forms = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  forms.sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    // `includes` first: almost every line has no secret, and a search is cheaper than a replace.
    for (const form of forms) if (out.includes(form)) out = out.replaceAll(form, REDACTED);
    return out;
  };
}
