// Typed errors. Each one carries what the one error path needs to log and decide, and none of
// them ever carries a token, a secret or a raw request body.

/** A configuration value is missing or wrong. The message names the variable and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, problem: string, fix: string) {
    super(`${variable}: ${problem}. Fix: ${fix}`);
    this.variable = variable;
  }
}

/** The webhook signature is missing, malformed or does not match. The reason is for logs only. */
export class SignatureError extends Error {
  override name = 'SignatureError';
  readonly reason: 'missing' | 'malformed' | 'mismatch';
  constructor(reason: SignatureError['reason']) {
    super(`webhook signature ${reason}`);
    this.reason = reason;
  }
}

/** An authentic body that is not a webhook notification at all (not JSON, no `object`/`entry`). */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

export interface GraphErrorDetails {
  /** HTTP status of the Graph response, or undefined when no response arrived (network, timeout). */
  status: number | undefined;
  /** Graph `error.code`, e.g. 190 (invalid token), 100 (invalid parameter), 613 (rate limit). */
  code: number | undefined;
  error_subcode: number | undefined;
  type: string | undefined;
  fbtrace_id: string | undefined;
  /** HTTP method and path of the call, without the query string (which could hold a token). */
  endpoint: string;
  /** Graph's `error.message`, or the network error's message. Never contains the access token. */
  graphMessage: string;
}

/** A Graph API call failed. Carries Graph's code, subcode, trace id, HTTP status and endpoint. */
export class GraphApiError extends Error implements GraphErrorDetails {
  override name = 'GraphApiError';
  readonly status: number | undefined;
  readonly code: number | undefined;
  readonly error_subcode: number | undefined;
  readonly type: string | undefined;
  readonly fbtrace_id: string | undefined;
  readonly endpoint: string;
  readonly graphMessage: string;
  constructor(details: GraphErrorDetails) {
    const code = details.code === undefined ? '' : ` code ${details.code}`;
    const sub = details.error_subcode === undefined ? '' : `/${details.error_subcode}`;
    const status = details.status === undefined ? 'no response' : `HTTP ${details.status}`;
    super(`Graph API ${details.endpoint} failed (${status}${code}${sub}): ${details.graphMessage}`);
    this.status = details.status;
    this.code = details.code;
    this.error_subcode = details.error_subcode;
    this.type = details.type;
    this.fbtrace_id = details.fbtrace_id;
    this.endpoint = details.endpoint;
    this.graphMessage = details.graphMessage;
  }

  /** The fields worth logging, as a plain object. */
  toLog(): GraphErrorDetails {
    return {
      status: this.status,
      code: this.code,
      error_subcode: this.error_subcode,
      type: this.type,
      fbtrace_id: this.fbtrace_id,
      endpoint: this.endpoint,
      graphMessage: this.graphMessage,
    };
  }
}
