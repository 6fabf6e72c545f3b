import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Router, type Request, type Response } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { Sql } from '../../core/platform/db.js';
import { getJob, IdempotencyConflictError, JobCreator, TooManyJobsInFlightError, type Job, type JobInput } from '../../core/jobs/index.js';
import type { Boss } from '../../core/queue/index.js';
import { HttpError } from '../errors.js';
import { extractRequestSchema, idempotencyKeySchema } from '../schemas.js';
import type { SyncLimit } from '../syncLimit.js';
import { parseOr400 } from '../validation.js';
import { acceptedView, jobView, tooManyJobsInFlight } from './jobs.js';

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

export interface ExtractRouterDeps {
  sql: Sql;
  boss: Boss;
  /** The API process's job writer (createApp makes one). */
  jobs: JobCreator;
  allowPrivateNetworks: boolean;
  /** The largest maxPages a job may ask for (maxPagesLimit). */
  maxPages: number;
  maxAttempts: number;
  maxJobsInFlight: number;
  /** How long POST /v1/extract waits for the job before answering 202. */
  syncTimeoutMs: number;
  /** Caps POST /v1/extract requests waiting for their job (shared with /v1/scrape). */
  syncLimit: SyncLimit;
}

// Polling the job row is enough here: a waiting request costs one indexed
// read per interval, and the interval grows so long jobs cost little.
export async function waitForFinish(sql: Sql, jobId: string, apiKeyId: string, timeoutMs: number, signal: AbortSignal): Promise<Job | null> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    const job = await getJob(sql, { jobId, apiKeyId });
    if (!job || job.status === 'completed' || job.status === 'failed') return job;
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted) return job;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 500);
  }
}

export type SubmitJob = (req: Request, res: Response, admit?: () => void, extra?: Partial<JobInput>) => Promise<{ job: Job; replayed: boolean }>;

/** A submission as read from its request, whichever HTTP layer read it (express, or server/acceptPath.ts). */
export interface Submission {
  apiKey: ApiKey;
  /** The parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** The Idempotency-Key header as sent. */
  idempotencyKey: string | undefined;
}

/** Validate, then (after `admit`, which may refuse) create the job or replay it. */
export type CreateSubmitted = (submission: Submission, admit?: () => void, extra?: Partial<JobInput>) => Promise<{ job: Job; replayed: boolean }>;

/** POST /v1/extract's validation and job creation, independent of the HTTP layer. */
export function submittedJobs(deps: Pick<ExtractRouterDeps, 'jobs' | 'allowPrivateNetworks' | 'maxPages' | 'maxAttempts' | 'maxJobsInFlight'>): CreateSubmitted {
  const schema = extractRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks, maxPages: deps.maxPages });

  return async function create({ apiKey, body: raw, idempotencyKey: rawKey }, admit = () => {}, extra = {}) {
    if (raw === undefined) throw new HttpError(400, 'validation_error', 'invalid body: a JSON object with a url is required', [{ field: 'body', message: 'is required' }]);
    const body = parseOr400(schema, raw);
    const idempotencyKey = rawKey === undefined ? null : parseOr400(idempotencyKeySchema, rawKey, 'Idempotency-Key');
    admit();
    const { callbackUrl, ...rest } = body;
    const input: JobInput = { ...rest, ...extra };
    try {
      return await deps.jobs.create({
        apiKeyId: apiKey.id,
        input,
        callbackUrl: callbackUrl ?? null,
        idempotencyKey,
        requestHash: idempotencyKey ? createHash('sha256').update(canonicalJson({ ...body, ...extra })).digest('hex') : null,
        maxAttempts: deps.maxAttempts,
        maxInFlight: deps.maxJobsInFlight,
      });
    } catch (err) {
      if (err instanceof IdempotencyConflictError) {
        throw new HttpError(409, 'idempotency_conflict', err.message, { jobId: err.jobId });
      }
      if (err instanceof TooManyJobsInFlightError) {
        throw tooManyJobsInFlight(err);
      }
      throw err;
    }
  };
}

/** POST /v1/extract's job submission, shared with the routes that take the same body (KnowledgeSDK's /v1/business); the response is left to the caller. */
export function jobSubmitter(deps: Pick<ExtractRouterDeps, 'jobs' | 'allowPrivateNetworks' | 'maxPages' | 'maxAttempts' | 'maxJobsInFlight'>): SubmitJob {
  const create = submittedJobs(deps);
  return async function submit(req, res, admit, extra) {
    const created = await create({ apiKey: res.locals.apiKey as ApiKey, body: req.body, idempotencyKey: req.header('idempotency-key') }, admit, extra);
    res.locals.jobId = created.job.id;
    if (created.replayed) res.setHeader('idempotent-replayed', 'true');
    return created;
  };
}

/**
 * The body res.json would send (same content type; Node adds the length), for
 * the API's busiest route: res.json also hashes every body for an ETag, which
 * no client of a POST can use, and then writes the body as a buffer of its own
 * rather than with the headers (CPU profile of the accept benchmark).
 */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** POST /v1/extract/async's answer: 202 with the new job, or 200 with the job an idempotent submission replays. */
export function sendAccepted(res: ServerResponse, { job, replayed }: { job: Job; replayed: boolean }): void {
  sendJson(res, replayed ? 200 : 202, acceptedView(job));
}

export function extractRouter(deps: ExtractRouterDeps): Router {
  const router = Router();
  const submit = jobSubmitter(deps);

  router.post('/v1/extract/async', async (req, res) => {
    sendAccepted(res, await submit(req, res));
  });

  // The synchronous variant: the same job, but the answer waits for it up to
  // EXTRACT_SYNC_TIMEOUT; a job still running then is answered like the async route.
  router.post('/v1/extract', async (req, res) => {
    // Refused over the cap before any job exists, so a 429 leaves nothing behind.
    const { job: created } = await submit(req, res, () => deps.syncLimit.hold((res.locals.apiKey as ApiKey).id, res));
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const job = (await waitForFinish(deps.sql, created.id, created.apiKeyId, deps.syncTimeoutMs, gone.signal)) ?? created;
    if (job.status === 'completed' || job.status === 'failed') {
      res.status(200).json(jobView(job));
      return;
    }
    res
      .status(202)
      .setHeader('location', `/v1/jobs/${job.id}`)
      .json({ ...acceptedView(job), message: `the job is still ${job.status}; poll GET /v1/jobs/${job.id} or pass a callbackUrl` });
  });

  return router;
}
