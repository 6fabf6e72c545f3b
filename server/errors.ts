import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../core/platform/logger.js';

/** An error with an HTTP status and a stable code, rendered by errorBody(). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The one error body of the API: {statusCode, error: <HTTP status text>, message, code, details}.
 * Flat, so KnowledgeSDK's client (which reads `message` or `error` as a string, and `code`)
 * shows the message instead of "[object Object]"; `details` is null when there are none.
 */
export function errorBody(status: number, code: string, message: string, details?: unknown) {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, code, details: details ?? null };
}

export const notFound = (what = 'resource') => new HttpError(404, 'not_found', `${what} not found`);

// Connection-level failures mean the database is unreachable, not that the
// request is wrong: answer 503 so clients retry.
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '53300']);

function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let httpError: HttpError;
    if (err instanceof HttpError) httpError = err;
    else if (err?.type === 'entity.too.large') httpError = new HttpError(413, 'payload_too_large', `request body exceeds ${err.limit} bytes`);
    else if (err?.type === 'entity.parse.failed') httpError = new HttpError(400, 'invalid_json', 'request body is not valid JSON');
    else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported') httpError = new HttpError(415, 'unsupported_media_type', err.message);
    else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) httpError = new HttpError(err.status, 'bad_request', err.message);
    else if (isDatabaseUnavailable(err)) httpError = new HttpError(503, 'service_unavailable', 'the database is unavailable; retry shortly', undefined, { 'retry-after': '5' });
    else {
      logger.error('request failed', { requestId: res.locals.requestId, path: req.path, error: (err as Error)?.message });
      httpError = new HttpError(500, 'internal_error', 'internal error');
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(httpError.headers)) res.setHeader(k, v);
    res.status(httpError.status).json(errorBody(httpError.status, httpError.code, httpError.message, httpError.details));
  };
}
