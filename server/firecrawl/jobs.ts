// Firecrawl's crawl and batch scrape, as ordinary Gleaner jobs: a crawl is a
// discover-mode job (maxPages = limit), a batch scrape a list-mode job over
// urls[]. They show in /v1/jobs, the dashboard and the reports, and their
// pages are indexed for /v1/search like any other job's. Status pages are
// read from the job row: its progress while it runs, its result when done.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { Db, Sql } from '../../core/platform/db.js';
import { cancelJob, getJob, IdempotencyConflictError, JobCreator, listJobs, TooManyJobsInFlightError, type Job, type JobInput } from '../../core/jobs/index.js';
import type { Boss } from '../../core/queue/index.js';
import { idempotencyKeySchema, jobIdSchema } from '../schemas.js';
import { validate } from '../validation.js';
import { FirecrawlError } from './errors.js';
import type { FirecrawlDocument } from './scrape.js';
import { firecrawlDocument } from '../../core/page/firecrawlDocument.js';
import { statusQuerySchema } from './schemas.js';
import { listCrawlItems } from '../../core/crawlTasks/index.js';
import { pathDepth } from '../../worker/pipeline/crawl/urls.js';

/** Documents on one status page unless ?limit= says otherwise. */
export const STATUS_PAGE_SIZE = 10;
/** How long Firecrawl says a job's results stay readable; Gleaner keeps them until JOB_RETENTION removes the job. */
const EXPIRES_MS = 24 * 60 * 60 * 1000;

export type JobKind = 'crawl' | 'batch/scrape';

export interface JobDeps {
  sql: Sql;
  boss: Boss;
  /** The API process's job writer (createApp makes one). */
  jobs: JobCreator;
  maxAttempts: number;
  maxJobsInFlight: number;
}

/** Parse or answer 400 with every field named, in Firecrawl's shape. */
export function parseOrFail<T>(schema: { safeParse(v: unknown): unknown } & Parameters<typeof validate>[0], value: unknown, where = 'body'): T {
  const result = validate(schema, value, where);
  if (result.success) return result.data as T;
  const summary = result.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new FirecrawlError(400, `invalid ${where}: ${summary}`, result.problems, 'BAD_REQUEST');
}

/** Stable JSON (sorted keys) so the same body always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Create the job (or replay it for a repeated x-idempotency-key with the same body); `alongside` is written in the new job's transaction. */
export async function startJob(deps: JobDeps, req: Request, res: Response, input: JobInput, hashed: unknown, alongside?: (tx: Db, job: Job) => Promise<unknown>): Promise<Job> {
  const apiKey = res.locals.apiKey as ApiKey;
  const rawKey = req.header('x-idempotency-key');
  const idempotencyKey = rawKey === undefined ? null : parseOrFail<string>(idempotencyKeySchema, rawKey, 'x-idempotency-key');
  try {
    const params = {
      apiKeyId: apiKey.id,
      input,
      callbackUrl: null,
      idempotencyKey,
      requestHash: idempotencyKey ? createHash('sha256').update(`firecrawl\n${canonicalJson(hashed)}`).digest('hex') : null,
      maxAttempts: deps.maxAttempts,
      maxInFlight: deps.maxJobsInFlight,
    };
    const { job, replayed } = alongside ? await deps.jobs.createWith(params, alongside) : await deps.jobs.create(params);
    res.locals.jobId = job.id;
    if (replayed) res.setHeader('idempotent-replayed', 'true');
    return job;
  } catch (err) {
    if (err instanceof IdempotencyConflictError) throw new FirecrawlError(409, err.message, { id: err.jobId }, 'IDEMPOTENCY_CONFLICT');
    if (err instanceof TooManyJobsInFlightError) {
      res.setHeader('retry-after', '5');
      throw new FirecrawlError(429, err.message, undefined, 'TOO_MANY_JOBS_IN_FLIGHT');
    }
    throw err;
  }
}

/** The caller's job by id, or 404 (another key's job is indistinguishable from a missing one). */
export async function ownJob(deps: JobDeps, res: Response, rawId: string, withResult: boolean): Promise<Job> {
  const jobId = parseOrFail<string>(jobIdSchema, rawId, 'id');
  res.locals.jobId = jobId;
  const job = await getJob(deps.sql, { jobId, apiKeyId: (res.locals.apiKey as ApiKey).id, withResult });
  if (!job) throw new FirecrawlError(404, 'job not found', undefined, 'NOT_FOUND');
  return job;
}

export function firecrawlStatus(job: Job): 'scraping' | 'completed' | 'failed' | 'cancelled' {
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return job.status;
  return 'scraping';
}

interface ResultItem {
  title?: string;
  description?: string;
  content?: string;
  source?: string;
}
interface ResultFailure {
  url?: string;
  reason?: string;
  message?: string;
  status?: number;
}

function resultOf(job: Job): { items: ResultItem[]; failures: ResultFailure[] } {
  const r = (job.result ?? {}) as { knowledgeItems?: ResultItem[]; failedPages?: ResultFailure[] };
  const failures = Array.isArray(r.failedPages) ? r.failedPages : [];
  // A job that failed as a whole ("no page could be crawled") carries its page failures in its error.
  const errorFailures = (job.error as { failures?: ResultFailure[] } | null)?.failures;
  return { items: Array.isArray(r.knowledgeItems) ? r.knowledgeItems : [], failures: failures.length ? failures : Array.isArray(errorFailures) ? errorFailures : [] };
}

/**
 * One status page. `next` is the absolute URL of the following page: v2
 * sends null on the last one, v1 leaves the key out (its client pages while
 * the key is present).
 */
export async function statusPage(deps: JobDeps, job: Job, req: Request, version: 'v1' | 'v2', kind: JobKind) {
  const query = parseOrFail<{ skip: number; limit?: number }>(statusQuerySchema, req.query, 'query');
  const size = query.limit ?? STATUS_PAGE_SIZE;
  // One more than the page, so a further page shows; the job's result inlines only the first RESULT_INLINE_ITEMS.
  const live = kind === 'crawl' ? await pageTaskItems(deps.sql, job.id, query.skip + size + 1) : [];
  const items = live.length ? live : resultOf(job).items;
  const progress = (job.progress ?? {}) as { pagesIndexed?: number; totalPages?: number };
  const done = job.status === 'completed';
  const pagesScraped = (job.result as { pagesScraped?: unknown } | null)?.pagesScraped;
  const doneCount = live.length && typeof pagesScraped === 'number' ? Math.max(pagesScraped, items.length) : items.length;
  const completed = done ? doneCount : (progress.pagesIndexed ?? 0);
  const total = done ? doneCount : Math.max(progress.totalPages ?? 0, completed);
  const data: FirecrawlDocument[] = items.slice(query.skip, query.skip + size).map(firecrawlDocument);
  const more = query.skip + size < items.length;
  const next = more ? `${req.protocol}://${req.get('host')}/firecrawl/${version}/${kind}/${job.id}?skip=${query.skip + size}${query.limit ? `&limit=${query.limit}` : ''}` : null;
  return {
    success: true,
    status: firecrawlStatus(job),
    total,
    completed,
    creditsUsed: completed,
    expiresAt: new Date((job.completedAt ?? job.createdAt).getTime() + EXPIRES_MS).toISOString(),
    ...(version === 'v2' || next ? { next } : {}),
    data,
    ...(job.status === 'failed' && job.error ? { error: job.error.message } : {}),
  };
}

/**
 * A crawl run as page tasks: its first `upTo` documents from its pages (as
 * they are done, while it runs too); none for a crawl that ran on one worker.
 * Bounded by the crawl's pages (MAX_PAGES_PER_JOB).
 */
async function pageTaskItems(sql: Sql, jobId: string, upTo: number): Promise<ResultItem[]> {
  const out: ResultItem[] = [];
  let after: string | undefined;
  while (out.length < upTo) {
    const want = Math.min(1000, upTo - out.length);
    const batch = await listCrawlItems(sql, { jobId, limit: want, ...(after ? { after } : {}) });
    out.push(...batch);
    if (batch.length < want) break;
    after = batch[batch.length - 1]!.cursor;
  }
  return out;
}

/** Pages that failed, in Firecrawl's errors shape; robots.txt refusals listed apart. */
export function errorsOf(job: Job) {
  const { failures } = resultOf(job);
  const robots = failures.filter((f) => f.reason === 'robots_disallowed');
  const errors = failures
    .filter((f) => f.reason !== 'robots_disallowed')
    .map((f, i) => ({ id: `${job.id}-${i}`, timestamp: (job.completedAt ?? job.updatedAt).toISOString(), url: f.url ?? '', error: f.message ?? f.reason ?? 'failed', ...(f.reason ? { code: f.reason } : {}), ...(f.status ? { statusCode: f.status } : {}) }));
  return { errors, robotsBlocked: robots.map((f) => f.url ?? '') };
}

/** DELETE: cancel a pending or running job; one already finished is answered with its status. */
export async function cancel(deps: JobDeps, res: Response, job: Job): Promise<{ success: boolean; status: string }> {
  const cancelled = await cancelJob(deps.sql, deps.boss, { jobId: job.id, apiKeyId: (res.locals.apiKey as ApiKey).id });
  if (cancelled) return { success: true, status: 'cancelled' };
  const now = await ownJob(deps, res, job.id, false);
  if (now.status === 'cancelled') return { success: true, status: 'cancelled' };
  throw new FirecrawlError(409, `the job is ${firecrawlStatus(now)} and can no longer be cancelled`, undefined, 'INVALID_STATE');
}

/** Open jobs listed per status; a key's in-flight cap (MAX_JOBS_IN_FLIGHT_PER_KEY) is usually far below. */
const MAX_ACTIVE_LISTED = 1000;

/** Whether a job is a crawl that discovers pages (not one page, not a list of URLs: those are scrapes and batches). */
function isCrawl(input: JobInput): boolean {
  if (input.singlePage === true || (input.urls?.length ?? 0) > 0) return false;
  return input.maxPages !== undefined || (input.includePatterns?.length ?? 0) + (input.excludePatterns?.length ?? 0) > 0;
}

/** A crawl's options as Firecrawl names them, read back from the job's input. */
function crawlOptionsOf(input: JobInput): Record<string, unknown> {
  const s = input.scope ?? {};
  return {
    limit: input.maxPages,
    includePaths: input.includePathRegexes ?? [],
    excludePaths: input.excludePathRegexes ?? [],
    sitemap: s.sitemap ?? 'include',
    allowSubdomains: s.hosts === 'subdomains' || s.hosts === 'any',
    allowExternalLinks: s.hosts === 'any',
    ignoreQueryParameters: s.ignoreQueryParameters === true,
    ...(s.maxDiscoveryDepth !== undefined ? { maxDiscoveryDepth: s.maxDiscoveryDepth } : {}),
    ...(s.maxPathDepth !== undefined ? { maxDepth: s.maxPathDepth - (pathDepth(input.url) ?? 0) } : {}),
    ...(s.delayMs !== undefined ? { delay: s.delayMs / 1000 } : {}),
    ...(s.maxConcurrency !== undefined ? { maxConcurrency: s.maxConcurrency } : {}),
    scrapeOptions: { formats: ['markdown'], onlyMainContent: true },
  };
}

/** GET crawl/active: the key's crawls still pending or running, oldest first, in Firecrawl's shape. */
export async function activeCrawls(deps: JobDeps, res: Response) {
  const apiKey = res.locals.apiKey as ApiKey;
  const open = new Map<string, Job>();
  // Pending first: a job claimed between the two reads is then seen as processing, not missed.
  for (const status of ['pending', 'processing'] as const) for (const j of (await listJobs(deps.sql, { apiKeyId: apiKey.id, status, limit: MAX_ACTIVE_LISTED })).jobs) open.set(j.id, j);
  const crawls = [...open.values()]
    .filter((j) => isCrawl(j.input))
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    .map((j) => ({ id: j.id, teamId: apiKey.id, url: j.input.url, options: crawlOptionsOf(j.input) }));
  return { success: true, crawls };
}
