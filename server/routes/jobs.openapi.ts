// The job routes (server/routes/jobs.ts) in the OpenAPI document, and the job
// view they answer with: jobView() is typed from these schemas, and a job's
// input is the request schema it was accepted by (server/schemas.ts).
import { z } from 'zod';
import { JOB_STATUSES } from '../../core/jobs/index.js';
import { CATEGORIES } from '../../core/page/categories.js';
import { common, err, isoDate, nextCursor, notFound, nullableDate, type RouteSpec, type RouteSpecOptions } from '../routeSpec.js';
import { extractRequestSchema, listJobsQuerySchema } from '../schemas.js';

export const jobStatus = z.enum(JOB_STATUSES);

const jobError = z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()).meta({ id: 'JobError' });

export const knowledgeItem = z
  .object({
    title: z.string(),
    description: z.string(),
    content: z.string().meta({ description: 'the page’s main content as Markdown' }),
    category: z.enum(CATEGORIES),
    source: z.string().meta({ description: 'the page URL (normalised)' }),
  })
  .meta({ id: 'KnowledgeItem' });

const extractResult = z
  .object({
    knowledgeItems: z.array(knowledgeItem),
    business: z
      .object({ name: z.string().nullable(), description: z.string().nullable(), domain: z.string(), language: z.string().nullable() })
      .catchall(z.unknown())
      .optional()
      .meta({ description: 'from the first page’s own metadata, when it has a site name or description; a /v1/business job always has it, with the BusinessProfile fields added' }),
    pagesScraped: z.int(),
    urlsDiscovered: z.int(),
    sitemapUrls: z.int().meta({ description: 'page URLs read from sitemaps' }),
    chunksIndexed: z.int(),
    pages: z.array(z.object({ url: z.string(), title: z.string(), category: z.enum(CATEGORIES), chunks: z.int() })),
    failedPages: z.array(z.object({ url: z.string(), reason: z.string(), message: z.string() }).catchall(z.unknown())).meta({ description: 'pages that could not be used, with the reason' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'ExtractResult' });

/** A job as GET /v1/jobs/{jobId} shows it (`job`), and in lists and after cancel or retry (`summary`, no result). */
export function jobViewSchemas(opts: RouteSpecOptions) {
  const fields = {
    jobId: z.string(),
    status: jobStatus,
    url: z.string(),
    input: extractRequestSchema(opts)
      .omit({ callbackUrl: true })
      .meta({ id: 'JobInput', description: 'the request’s fields as accepted (callbackUrl aside); jobs of the Firecrawl and business routes carry more' }),
    callbackUrl: z.string().nullable(),
    createdAt: isoDate,
    startedAt: nullableDate,
    completedAt: isoDate.optional().meta({ description: 'present once the job has ended' }),
    updatedAt: isoDate,
    attempts: z.int(),
    maxAttempts: z.int(),
    progress: z.record(z.string(), z.unknown()).nullable().meta({ description: '{currentStep, pagesScraped, totalPages} while running' }),
    error: z.string().optional().meta({ description: 'present when the job failed or was cancelled: the error message' }),
    errorDetail: jobError.optional().meta({ description: 'present with error: {code, message, …}, machine-readable' }),
  };
  return {
    summary: z.object(fields).meta({ id: 'JobSummary' }),
    job: z.object({ ...fields, result: extractResult.optional().meta({ description: 'present when completed' }) }).meta({ id: 'Job' }),
  };
}

/** What jobView() returns. */
export type JobView = z.output<ReturnType<typeof jobViewSchemas>['job']>;

/** The answer to a submitted job (202, or 200 for an idempotent replay). */
export const jobAccepted = z.object({ jobId: z.string(), status: jobStatus, createdAt: isoDate }).meta({ id: 'JobAccepted' });
export type JobAcceptedView = z.output<typeof jobAccepted>;

const jobEvents = z
  .object({
    jobId: z.string(),
    events: z.array(
      z.object({
        from: jobStatus.nullable(),
        to: jobStatus,
        at: isoDate,
        attempt: z.int(),
        workerId: z.string().nullable(),
        detail: z.record(z.string(), z.unknown()).nullable(),
      }),
    ),
  })
  .meta({ id: 'JobEvents' });
export type JobEventsView = z.output<typeof jobEvents>;

export function jobsRouteSpecs(opts: RouteSpecOptions): RouteSpec[] {
  const { job, summary } = jobViewSchemas(opts);
  const jobList = z.object({ jobs: z.array(summary), nextCursor }).meta({ id: 'JobList' });
  return [
    {
      method: 'get',
      path: '/v1/jobs',
      tag: 'jobs',
      auth: true,
      summary: 'List this key’s jobs, newest first',
      query: listJobsQuerySchema,
      responses: { '200': { description: 'a page of jobs (results left out)', schema: jobList }, '400': err('invalid query or cursor'), ...common },
    },
    {
      method: 'get',
      path: '/v1/jobs/:jobId',
      tag: 'jobs',
      auth: true,
      summary: 'A job, with its result when completed',
      responses: { '200': { description: 'the job', schema: job }, '400': err('not a job id'), ...notFound, ...common },
    },
    {
      method: 'get',
      path: '/v1/jobs/:jobId/events',
      tag: 'jobs',
      auth: true,
      summary: 'Every state change of a job',
      responses: { '200': { description: 'the events, oldest first', schema: jobEvents }, ...notFound, ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/cancel',
      tag: 'jobs',
      auth: true,
      summary: 'Cancel a pending or processing job',
      description: 'A running worker stops at its next heartbeat.',
      responses: { '200': { description: 'the cancelled job', schema: summary }, ...notFound, '409': err('the job is already finished'), ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/retry',
      tag: 'jobs',
      auth: true,
      summary: 'Retry a failed or cancelled job',
      description: 'Back to pending with a fresh budget of attempts.',
      responses: { '202': { description: 'the job, pending again', schema: summary }, ...notFound, '409': err('the job is not failed or cancelled'), ...common },
    },
  ];
}
