// Errors in Firecrawl's shape: {success: false, error: "<message>", code?, details?}.
// The SDKs read `error` as the message and treat any status but 200 as a failure.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../../core/platform/logger.js';
import { errorHandler, HttpError } from '../errors.js';

export class FirecrawlError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Gleaner's own errors (auth, validation, body parsing, database) keep their status, in Firecrawl's shape. */
export function firecrawlErrorHandler(logger: Logger): ErrorRequestHandler {
  const gleaner = errorHandler(logger);
  return (err, req, res, next) => {
    if (res.headersSent) return;
    if (err instanceof FirecrawlError) {
      res.status(err.status).json({ success: false, error: err.message, ...(err.code ? { code: err.code } : {}), ...(err.details === undefined ? {} : { details: err.details }) });
      return;
    }
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json({ success: false, error: err.message, code: err.code, ...(err.details === undefined ? {} : { details: err.details }) });
      return;
    }
    // Anything else: Gleaner's handler decides status and logging; its body is reshaped on the way out.
    const json = res.json.bind(res);
    res.json = (body: { error?: { code?: string; message?: string } | string; message?: string; code?: string }) => {
      const message = typeof body?.error === 'object' ? body.error.message : (body?.message ?? String(body?.error ?? 'error'));
      const code = typeof body?.error === 'object' ? body.error.code : body?.code;
      return json({ success: false, error: message, ...(code ? { code } : {}) });
    };
    gleaner(err, req, res, next);
  };
}
