// Failures cross from the bot worker to the webhook thread, where the shop's onError hook runs.
// An Error does not survive postMessage whole (its class and its own fields are lost), so it
// travels as its name, message, stack and own primitive fields (a GraphApiError's code,
// error_subcode, fbtrace_id, endpoint…) and is rebuilt as an Error with them on arrival.
import type { BotFailure } from '../failure-hook.ts';

export interface PostedError {
  name: string;
  message: string;
  stack: string | undefined;
  fields: Record<string, string | number | boolean>;
}

/** A failure as the worker posts it: what was thrown is a PostedError, or its text when it was no Error. */
export type PostedFailure = Omit<BotFailure, 'error'> & { error: PostedError | string };

const REBUILT_FROM_MESSAGE = new Set(['name', 'message', 'stack']);

export function postedFailure(failure: BotFailure): PostedFailure {
  return { ...failure, error: postedError(failure.error) };
}

export function receivedFailure(posted: PostedFailure): BotFailure {
  const { error } = posted;
  if (typeof error === 'string') return { ...posted, error };
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return { ...posted, error: Object.assign(rebuilt, error.fields) };
}

function postedError(error: unknown): PostedError | string {
  if (!(error instanceof Error)) return String(error);
  const fields: PostedError['fields'] = {};
  for (const key of Object.keys(error)) {
    if (REBUILT_FROM_MESSAGE.has(key)) continue;
    const value: unknown = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}
