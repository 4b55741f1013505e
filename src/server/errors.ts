/**
 * Errors as the API reports them: `{ "error": { "code", "message" } }` with a 4xx status for what the
 * client can fix. Only messages written for users reach the client; anything unexpected becomes a
 * plain 500 without its details (no stack traces, no paths from deep inside a library).
 */
import { PlanError, type PlanErrorCode } from '../core/source.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For `commands-not-approved`: what the client must approve (repeat the start with approveCommands). */
    readonly commands?: string[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; commands?: string[] };
}

export function errorBody(code: string, message: string, commands?: string[]): ErrorBody {
  return { error: { code, message, ...(commands ? { commands } : {}) } };
}

const PLAN_ERROR_STATUS: Record<PlanErrorCode, number> = {
  'plan-not-found': 404,
  'plan-not-a-file': 404,
  'plan-binary': 422,
  'plan-not-utf8': 422,
  'plan-unreadable': 422,
  'no-active-plan': 404,
  'status-corrupt': 409,
  'status-unreadable': 409,
  'status-locked': 409,
  'task-claimed': 409,
  'unknown-task': 404,
  'invalid-argument': 400,
  'plan-has-errors': 422,
  'commands-not-approved': 409,
  'checkout-dirty': 409,
  'in-place-required': 409,
  'orchestrator-running': 409,
  'start-failed': 422,
  'not-running': 409,
  'other-host': 409,
  'queue-unavailable': 503,
};

/** Fastify's own errors that a client causes, with the code we report instead of FST_ERR_…. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_BAD_URL: 'bad-request',
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PlanError) return new ApiError(PLAN_ERROR_STATUS[err.code] ?? 400, err.code, err.message);
  const e = err as { statusCode?: number; code?: string; message?: string; name?: string };
  if (e?.name === 'GitError') return new ApiError(409, 'git-error', e.message ?? 'git failed');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = (e.code && FASTIFY_CODES[e.code]) || 'bad-request';
    // The JSON parser's message quotes the offending token, which is the client's own input: fine to return.
    return new ApiError(e.statusCode, code, e.message ?? 'bad request');
  }
  return new ApiError(500, 'internal', 'internal error; see the server output');
}
