import type { RequestHandler } from 'express';
import type { Sql } from '../core/platform/db.js';
import { metricsAccessAllowed, metricsRegistry } from '../core/platform/metrics.js';
import { HttpError } from './errors.js';

/** GET /metrics in Prometheus text format; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`. */
export function metricsHandler(sql: Sql, token: string | undefined): RequestHandler {
  const registry = metricsRegistry(sql);
  return async (req, res) => {
    if (!metricsAccessAllowed(req.header('authorization'), token)) {
      throw new HttpError(401, 'unauthorized', 'metrics need the METRICS_TOKEN bearer token', undefined, { 'www-authenticate': 'Bearer' });
    }
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  };
}
