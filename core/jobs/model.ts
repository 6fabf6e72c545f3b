// Job types, statuses and the legal moves between them.
import type postgres from 'postgres';

export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Legal moves. pending is reached again by a retry (automatic or manual) or when a worker releases a job. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['processing', 'cancelled'],
  processing: ['completed', 'failed', 'pending', 'cancelled'],
  completed: [],
  failed: ['pending'],
  cancelled: ['pending'],
};

export interface JobInput {
  url: string;
  /** auto (default): static fetch, the browser for pages that need it; always: the browser; never: static only. */
  render?: 'auto' | 'always' | 'never';
  /** Extra time for a rendered page's scripts, in ms (capped by BROWSER_MAX_WAIT_FOR). */
  waitFor?: number;
  urls?: string[];
  maxPages?: number;
  singlePage?: boolean;
  includePatterns?: string[];
  excludePatterns?: string[];
  /** Firecrawl's includePaths / excludePaths: RE2 regular expressions searched in the URL's path (core/pathRegex.ts). */
  includePathRegexes?: string[];
  excludePathRegexes?: string[];
  /** Where a crawl may go beyond the start URL's site and how (Firecrawl's crawl options; worker/pipeline/crawl/scope.ts). */
  scope?: CrawlScopeInput;
  /** KnowledgeSDK's /v1/business routes: the result's `business` carries the full business profile. */
  profile?: boolean;
  /** Firecrawl's `webhook` (server/firecrawl/webhook.ts): its events are sent through the webhook queue (core/webhooks/events.ts). */
  webhook?: {
    url: string;
    type: 'crawl' | 'batch_scrape';
    /** The client's headers as JSON, sealed under SECRETS_KEY (bound to the job's key) when set. */
    headers?: string;
    metadata?: Record<string, unknown>;
    events?: string[];
  };
}

export interface CrawlScopeInput {
  /** Link hops from the start page followed; the start page and sitemap URLs are 0. */
  maxDiscoveryDepth?: number;
  /** Path segments a crawled URL may have (Firecrawl v1's maxDepth plus the start URL's own; worker/pipeline/crawl/urls.ts pathDepth). */
  maxPathDepth?: number;
  /** include (default): sitemaps and links; skip: links only; only: sitemap URLs, links not followed. */
  sitemap?: 'include' | 'skip' | 'only';
  /** site (default): the start URL's site; subdomains: and its subdomains; any: external hosts too. */
  hosts?: 'site' | 'subdomains' | 'any';
  /** One page per URL without its query. */
  ignoreQueryParameters?: boolean;
  /** Pause between requests to one host, at least the configured one. */
  delayMs?: number;
  /** Pages fetched at once. */
  maxConcurrency?: number;
}

export interface JobError {
  code: string;
  message: string;
  [extra: string]: unknown;
}

export interface Job {
  id: string;
  apiKeyId: string;
  kind: string;
  status: JobStatus;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  attempts: number;
  maxAttempts: number;
  queueJobId: string | null;
  progress: Record<string, unknown> | null;
  result: unknown;
  error: JobError | null;
  workerId: string | null;
  heartbeatAt: Date | null;
  runAfter: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  updatedAt: Date;
}

export interface JobEvent {
  id: string;
  jobId: string;
  fromStatus: JobStatus | null;
  toStatus: JobStatus;
  at: Date;
  attempt: number;
  workerId: string | null;
  detail: Record<string, unknown> | null;
}

export const toJob = (r: postgres.Row): Job => ({
  id: r.id,
  apiKeyId: r.api_key_id,
  kind: r.kind,
  status: r.status,
  input: r.input,
  callbackUrl: r.callback_url,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  queueJobId: r.queue_job_id,
  progress: r.progress,
  result: r.result,
  error: r.error,
  workerId: r.worker_id,
  heartbeatAt: r.heartbeat_at,
  runAfter: r.run_after,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  updatedAt: r.updated_at,
});

export const toEvent = (r: postgres.Row): JobEvent => ({
  id: String(r.id),
  jobId: r.job_id,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  at: r.at,
  attempt: r.attempt,
  workerId: r.worker_id,
  detail: r.detail,
});

export class TooManyJobsInFlightError extends Error {
  constructor(readonly limit: number) {
    super(`this API key already has ${limit} jobs pending or processing; wait for some to finish`);
  }
}

export class IdempotencyConflictError extends Error {
  constructor(readonly jobId: string) {
    super('this Idempotency-Key was already used with a different request body');
  }
}
