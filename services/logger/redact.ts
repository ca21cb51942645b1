// Value-based redaction of finished log lines. pino's own `redact` works on key paths, but a token
// can turn up anywhere (a URL in a message, an error text Graph echoed, a header in a stack), so
// every configured secret is replaced in the serialised line itself, whatever path it took, in
// every escaped form it can take there (services/redact.ts: the same rules as the dashboard's).
// Given a SecretSet, a token the bot obtains later (a refreshed Instagram token) is redacted too.
import { createRedactor as createValueRedactor, REDACTED, type Secrets } from '../redact.ts';

export { REDACTED };

export type Redactor = (line: string) => string;

/** Shorter values would replace ordinary words and numbers all over the logs. */
const MIN_SECRET_LENGTH = 4;

export function createRedactor(secrets: Secrets): Redactor {
  const redactor = createValueRedactor(secrets, { minLength: MIN_SECRET_LENGTH });
  return (line) => redactor.text(line);
}
