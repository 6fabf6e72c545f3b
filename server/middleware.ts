import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { KeyCache, type ApiKey } from '../core/apiKeys.js';
import type { Sql } from '../core/platform/db.js';
import { logHot, type Logger } from '../core/platform/logger.js';
import { bearerToken, metrics } from '../core/platform/metrics.js';
import { HttpError } from './errors.js';

/** What the request log reads from a request's locals (express's res.locals, or server/acceptPath.ts's own). */
export interface RequestLocals {
  requestId?: string;
  apiKey?: ApiKey;
  jobId?: string;
}

/**
 * The request id (from x-request-id when sane) and, when the response is
 * finished, its metrics sample and its one log line with status and duration.
 * `route` gives the matched route pattern (not the path: job ids would explode
 * the label set), undefined while none matched.
 */
export function trackRequest(logger: Logger, req: IncomingMessage, res: ServerResponse, locals: RequestLocals, path: () => string, route: () => string | undefined): void {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
  locals.requestId = requestId;
  res.setHeader('x-request-id', requestId);
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const method = req.method ?? '';
    metrics.httpDuration.observe({ method, route: route() ?? 'unmatched', status: String(res.statusCode) }, ms / 1000);
    const level = res.statusCode >= 500 ? 'error' : 'info';
    logHot(logger, level, 'request', {
      requestId,
      method,
      path: path(),
      status: res.statusCode,
      ms: Math.round(ms * 10) / 10,
      apiKeyId: locals.apiKey?.id,
      jobId: locals.jobId,
    });
  });
}

/** Request id and one log line per request with status and duration (trackRequest). */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    trackRequest(logger, req, res, res.locals as RequestLocals, () => req.path, () => (req.route?.path ? String(req.route.path) : undefined));
    next();
  };
}

function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  return xApiKey ? xApiKey.trim() : bearerToken(authorization);
}

/** The active key a request presents (x-api-key or Authorization: Bearer), or the 401 to answer. */
export async function authenticateRequest(keys: KeyCache, req: IncomingMessage): Promise<ApiKey> {
  const xApiKey = req.headers['x-api-key'];
  const key = presentedKey(req.headers.authorization, typeof xApiKey === 'string' ? xApiKey : undefined);
  if (!key) throw new HttpError(401, 'unauthorized', 'missing API key: send it in the x-api-key header or as Authorization: Bearer <key>', undefined, { 'www-authenticate': 'Bearer' });
  const apiKey = await keys.authenticate(key);
  if (!apiKey) throw new HttpError(401, 'unauthorized', 'invalid or revoked API key', undefined, { 'www-authenticate': 'Bearer' });
  return apiKey;
}

/** 401 unless the request carries an active API key (authenticateRequest); active keys are cached briefly (KeyCache). */
export function requireApiKey(sql: Sql, keys = new KeyCache(sql)): RequestHandler {
  return async (req, res, next) => {
    res.locals.apiKey = await authenticateRequest(keys, req);
    next();
  };
}

/** 415 for a body that is not JSON (express.json would silently ignore it). */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new HttpError(415, 'unsupported_media_type', 'request body must be application/json');
  }
  next();
};
