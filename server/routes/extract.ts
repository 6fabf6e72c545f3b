import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { Sql } from '../../core/db.js';
import { createJob, IdempotencyConflictError, TooManyJobsInFlightError, type JobInput } from '../../core/jobs.js';
import type { Boss } from '../../core/queue.js';
import { HttpError } from '../errors.js';
import { extractRequestSchema, idempotencyKeySchema } from '../schemas.js';
import { parseOr400 } from '../validation.js';

/** Stable JSON (sorted keys) so the same body always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function extractRouter(deps: { sql: Sql; boss: Boss; allowPrivateNetworks: boolean; maxAttempts: number; maxJobsInFlight: number }): Router {
  const router = Router();
  const schema = extractRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks });

  router.post('/v1/extract/async', async (req, res) => {
    const apiKey = res.locals.apiKey as ApiKey;
    if (req.body === undefined) throw new HttpError(400, 'validation_error', 'invalid body: a JSON object with a url is required', [{ field: 'body', message: 'is required' }]);
    const body = parseOr400(schema, req.body);
    const rawKey = req.header('idempotency-key');
    const idempotencyKey = rawKey === undefined ? null : parseOr400(idempotencyKeySchema, rawKey, 'Idempotency-Key');
    const { callbackUrl, ...rest } = body;
    const input: JobInput = rest;
    try {
      const { job, replayed } = await createJob(deps.sql, deps.boss, {
        apiKeyId: apiKey.id,
        input,
        callbackUrl: callbackUrl ?? null,
        idempotencyKey,
        requestHash: idempotencyKey ? createHash('sha256').update(canonicalJson(body)).digest('hex') : null,
        maxAttempts: deps.maxAttempts,
        maxInFlight: deps.maxJobsInFlight,
      });
      res.locals.jobId = job.id;
      if (replayed) res.setHeader('idempotent-replayed', 'true');
      res.status(replayed ? 200 : 202).json({ jobId: job.id, status: job.status, createdAt: job.createdAt.toISOString() });
    } catch (err) {
      if (err instanceof IdempotencyConflictError) {
        throw new HttpError(409, 'idempotency_conflict', err.message, { jobId: err.jobId });
      }
      if (err instanceof TooManyJobsInFlightError) {
        throw new HttpError(429, 'too_many_jobs_in_flight', err.message, undefined, { 'retry-after': '5' });
      }
      throw err;
    }
  });

  return router;
}
