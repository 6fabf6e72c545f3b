import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { KeyCache, type ApiKey } from '../core/apiKeys.js';
import type { Sql } from '../core/platform/db.js';
import { logHot, type Logger } from '../core/platform/logger.js';
import { bearerToken, metrics } from '../core/platform/metrics.js';
import { HttpError } from './errors.js';

/** Request id (from x-request-id when sane) and one log line per request with status and duration. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The matched route pattern, not the path: job ids would explode the label set.
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, ms / 1000);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      logHot(logger, level, 'request', {
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        apiKeyId: (res.locals.apiKey as ApiKey | undefined)?.id,
        jobId: res.locals.jobId as string | undefined,
      });
    });
    next();
  };
}

function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  return xApiKey ? xApiKey.trim() : bearerToken(authorization);
}

/** 401 unless the request carries an active API key (x-api-key or Authorization: Bearer); active keys are cached briefly (KeyCache). */
export function requireApiKey(sql: Sql): RequestHandler {
  const keys = new KeyCache(sql);
  return async (req, res, next) => {
    const key = presentedKey(req.header('authorization'), req.header('x-api-key'));
    if (!key) throw new HttpError(401, 'unauthorized', 'missing API key: send it in the x-api-key header or as Authorization: Bearer <key>', undefined, { 'www-authenticate': 'Bearer' });
    const apiKey = await keys.authenticate(key);
    if (!apiKey) throw new HttpError(401, 'unauthorized', 'invalid or revoked API key', undefined, { 'www-authenticate': 'Bearer' });
    res.locals.apiKey = apiKey;
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
