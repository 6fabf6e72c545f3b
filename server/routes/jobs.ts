import { Router } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { Sql } from '../../core/platform/db.js';
import { cancelJob, InvalidCursorError, listJobEvents, listJobs, retryJob, TooManyJobsInFlightError, type Job } from '../../core/jobs/index.js';
import type { Boss } from '../../core/queue/index.js';
import { HttpError } from '../errors.js';
import { ownJobFinder } from '../ownJob.js';
import { listJobsQuerySchema } from '../schemas.js';
import { parseOr400 } from '../validation.js';
import type { JobAcceptedView, JobEventsView, JobView } from './jobs.openapi.js';

/** The public shape of a job (its schema: jobs.openapi.ts). */
export function jobView(job: Job, { includeResult = true } = {}): JobView {
  return {
    jobId: job.id,
    status: job.status,
    url: job.input.url,
    input: job.input,
    callbackUrl: job.callbackUrl,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    // Absent until the job ends (KnowledgeSDK's client types it `completedAt?: string`).
    ...(job.completedAt ? { completedAt: job.completedAt.toISOString() } : {}),
    updatedAt: job.updatedAt.toISOString(),
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    progress: job.progress,
    // Written by the worker's pipeline as the ExtractResult the schema describes.
    ...(includeResult && job.status === 'completed' ? { result: job.result as JobView['result'] } : {}),
    // `error` is the message as a string (what KnowledgeSDK's client shows);
    // the machine-readable {code, message, …} is `errorDetail`.
    ...(job.error ? { error: job.error.message, errorDetail: job.error } : {}),
  };
}

/** A submitted job's answer: 202, or 200 for an idempotent replay (its schema: jobs.openapi.ts). */
export const acceptedView = (job: Job): JobAcceptedView => ({ jobId: job.id, status: job.status, createdAt: job.createdAt.toISOString() });

/** 429 for a key at MAX_JOBS_IN_FLIGHT_PER_KEY, on every route that puts a job in flight. */
export function tooManyJobsInFlight(err: TooManyJobsInFlightError): HttpError {
  return new HttpError(429, 'too_many_jobs_in_flight', err.message, undefined, { 'retry-after': '5' });
}

export function jobsRouter(deps: { sql: Sql; boss: Boss; maxAttempts: number; maxJobsInFlight: number }): Router {
  const router = Router();
  const { sql, boss } = deps;

  const ownJob = ownJobFinder(sql);

  router.get('/v1/jobs', async (req, res) => {
    const query = parseOr400(listJobsQuerySchema, req.query, 'query');
    const apiKey = res.locals.apiKey as ApiKey;
    try {
      const page = await listJobs(sql, { apiKeyId: apiKey.id, status: query.status, limit: query.limit, cursor: query.cursor });
      res.json({ jobs: page.jobs.map((j) => jobView(j, { includeResult: false })), nextCursor: page.nextCursor });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new HttpError(400, 'validation_error', 'invalid query: cursor: is not valid', [{ field: 'cursor', message: 'is not valid' }]);
      throw err;
    }
  });

  router.get('/v1/jobs/:jobId', async (req, res) => {
    res.json(jobView(await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals, { withResult: true })));
  });

  router.get('/v1/jobs/:jobId/events', async (req, res) => {
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    const events = await listJobEvents(sql, job.id);
    const view: JobEventsView = {
      jobId: job.id,
      events: events.map((e) => ({ from: e.fromStatus, to: e.toStatus, at: e.at.toISOString(), attempt: e.attempt, workerId: e.workerId, detail: e.detail })),
    };
    res.json(view);
  });

  router.post('/v1/jobs/:jobId/cancel', async (req, res) => {
    const apiKey = res.locals.apiKey as ApiKey;
    const job = await ownJob(apiKey, req.params.jobId, res.locals);
    const cancelled = await cancelJob(sql, boss, { jobId: job.id, apiKeyId: apiKey.id });
    if (!cancelled) throw new HttpError(409, 'invalid_state', `job is ${job.status} and can no longer be cancelled`);
    res.json(jobView(cancelled));
  });

  router.post('/v1/jobs/:jobId/retry', async (req, res) => {
    const apiKey = res.locals.apiKey as ApiKey;
    const job = await ownJob(apiKey, req.params.jobId, res.locals);
    const retried = await retryJob(sql, { jobId: job.id, apiKeyId: apiKey.id, extraAttempts: deps.maxAttempts, maxInFlight: deps.maxJobsInFlight }).catch((err: unknown) => {
      throw err instanceof TooManyJobsInFlightError ? tooManyJobsInFlight(err) : err;
    });
    if (!retried) throw new HttpError(409, 'invalid_state', `job is ${job.status}; only failed or cancelled jobs can be retried`);
    res.status(202).json(jobView(retried));
  });

  return router;
}
