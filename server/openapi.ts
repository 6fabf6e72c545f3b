// GET /v1/openapi.json (OpenAPI 3.1) and GET /docs (a short human page), both
// public. Request schemas are the very zod schemas the routes validate with
// (server/schemas.ts), turned into JSON Schema by zod 4's z.toJSONSchema;
// response shapes are described here with zod too.
import { Router } from 'express';
import { z } from 'zod';
import { JOB_STATUSES } from '../core/jobs/index.js';
import { html, raw } from './dashboard/html.js';
import { CATEGORIES } from '../core/page/categories.js';
import { extractRequestSchema, idempotencyKeySchema, jobIdSchema, listJobsQuerySchema, scrapeRequestSchema, searchRequestSchema } from './schemas.js';
import { crawlItemsQuerySchema, crawlPagesQuerySchema } from './routes/crawlPages.js';
import { redeliverRequestSchema, subscriptionRequestSchema } from './routes/webhookSchemas.js';
import { firecrawlRouteSpecs } from './firecrawl/openapi.js';

// ---------------------------------------------------------------------------
// Response shapes (what the routes' handlers send)

const isoDate = z.string().meta({ format: 'date-time' });
const nullableDate = isoDate.nullable();
const jobStatus = z.enum(JOB_STATUSES);

const errorResponse = z
  .object({
    statusCode: z.int().meta({ description: 'the HTTP status, repeated' }),
    error: z.string().meta({ description: 'the HTTP status text, e.g. "Bad Request"' }),
    message: z.string(),
    code: z.string().meta({ description: 'stable, machine-readable: validation_error, unauthorized, not_found, invalid_state, idempotency_conflict, rate_limited, …' }),
    details: z.unknown().meta({ description: 'for validation errors: [{field, message}], one per problem; null when there are none' }),
  })
  .meta({ id: 'Error' });

const jobInput = z
  .object({
    url: z.string(),
    urls: z.array(z.string()).optional(),
    maxPages: z.number().int().optional(),
    singlePage: z.boolean().optional(),
    render: z.enum(['auto', 'always', 'never']).optional(),
    waitFor: z.int().optional(),
    includePatterns: z.array(z.string()).optional(),
    excludePatterns: z.array(z.string()).optional(),
  })
  .meta({ id: 'JobInput' });

const jobError = z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()).meta({ id: 'JobError' });

const jobFields = {
  jobId: z.string(),
  status: jobStatus,
  url: z.string(),
  input: jobInput,
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

const jobSummary = z.object(jobFields).meta({ id: 'JobSummary' });

const knowledgeItem = z
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

const scrapedPage = z
  .object({
    url: z.string(),
    finalUrl: z.string(),
    statusCode: z.int(),
    contentType: z.string().nullable(),
    title: z.string().nullable(),
    description: z.string().nullable(),
    language: z.string().nullable(),
    canonicalUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    markdown: z.string(),
    text: z.string(),
    headings: z.array(z.object({ level: z.int(), text: z.string() })),
    links: z.array(z.string()),
    rendered: z.boolean().meta({ description: 'read from the browser after scripts ran' }),
    warnings: z.array(z.string()).optional().meta({ description: 'e.g. the page needed a browser and none was available' }),
    screenshot: z
      .object({ base64: z.string(), contentType: z.literal('image/png'), fullPage: z.boolean(), width: z.int(), height: z.int() })
      .optional()
      .meta({ description: 'when the request asked for one' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'ScrapedPage' });

const searchResults = z
  .object({
    query: z.string(),
    hits: z
      .array(z.object({ id: z.string().meta({ description: 'the chunk id' }), title: z.string(), content: z.string(), category: z.string(), source: z.string(), score: z.number() }))
      .meta({ description: 'KnowledgeSDK’s shape: the same results with the whole chunk as content' }),
    total: z.int().meta({ description: 'number of hits' }),
    results: z.array(
      z.object({
        score: z.number().meta({ description: 'higher is better; comparable within one answer' }),
        title: z.string(),
        snippet: z.string().meta({ description: "the chunk’s text around the query’s words, HTML-escaped, matches wrapped in <mark>" }),
        source: z.string(),
        category: z.string(),
        headingPath: z.array(z.string()),
        jobId: z.string(),
        chunkId: z.string(),
      }),
    ),
  })
  .meta({ id: 'SearchResults' });

const job = z.object({ ...jobFields, result: extractResult.optional().meta({ description: 'present when completed' }) }).meta({ id: 'Job' });

const businessProfile = z
  .object({
    businessName: z.string(),
    businessType: z.string().meta({ description: 'one of the README’s business types' }),
    industrySector: z.string().meta({ description: 'a GICS sector' }),
    targetAudience: z.string(),
    description: z.string(),
    valueProposition: z.string(),
    painPoints: z.array(z.string()),
    uniqueSellingPoints: z.array(z.string()),
    keyInsights: z.array(z.string()),
    confidenceScore: z.number().min(0).max(1).meta({ description: 'from the classifiers’ margins' }),
  })
  .meta({ id: 'BusinessProfile' });

const businessResult = z
  .object({ business: businessProfile.catchall(z.unknown()), knowledgeItems: z.array(knowledgeItem), pagesScraped: z.int(), sitemapUrls: z.int(), jobId: z.string(), status: z.literal('completed') })
  .catchall(z.unknown())
  .meta({ id: 'BusinessResult', description: 'KnowledgeSDK’s ExtractResult, with the rest of the job’s result and its id' });

const sitemapResult = z.object({ url: z.string(), urls: z.array(z.string()), count: z.int() }).meta({ id: 'SitemapResult' });
const screenshotResult = z.object({ url: z.string(), screenshot: z.string().meta({ description: 'base64 PNG' }) }).meta({ id: 'ScreenshotResult' });

const jobAccepted = z.object({ jobId: z.string(), status: jobStatus, createdAt: isoDate }).meta({ id: 'JobAccepted' });

const jobList = z.object({ jobs: z.array(jobSummary), nextCursor: z.string().nullable().meta({ description: 'pass as ?cursor= for the next page; null on the last' }) }).meta({ id: 'JobList' });

const nextCursor = z.string().nullable().meta({ description: 'pass as ?cursor= for the next page; null on the last' });
const crawlItems = z
  .object({
    items: z.array(z.object({ title: z.string(), description: z.string(), content: z.string(), category: z.enum(CATEGORIES), source: z.string() })),
    nextCursor,
  })
  .meta({ id: 'CrawlItems' });
const crawlPages = z
  .object({
    pages: z.array(
      z.object({
        url: z.string(),
        finalUrl: z.string().nullable(),
        depth: z.int(),
        status: z.enum(['queued', 'running', 'done', 'failed', 'skipped', 'cancelled']),
        error: z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()).nullable(),
        chunks: z.int().nullable(),
        attempts: z.int(),
      }),
    ),
    nextCursor,
  })
  .meta({ id: 'CrawlPages' });

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

const deliveries = z
  .object({
    jobId: z.string(),
    deliveries: z.array(
      z.object({
        webhookId: z.string(),
        event: z.string(),
        attempt: z.int(),
        url: z.string(),
        statusCode: z.int().nullable(),
        durationMs: z.int().nullable(),
        error: z.string().nullable(),
        outcome: z.enum(['delivered', 'retrying', 'failed']),
        nextAttemptAt: nullableDate,
        at: isoDate,
      }),
    ),
  })
  .meta({ id: 'WebhookDeliveries' });

const redelivered = z.object({ jobId: z.string(), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'Redelivery' });
const webhookSecret = z.object({ secret: z.string().meta({ description: 'whsec_… (Standard Webhooks)' }) }).meta({ id: 'WebhookSecret' });
const rotatedSecret = z.object({ secret: z.string(), previousSecretExpiresAt: nullableDate }).meta({ id: 'RotatedWebhookSecret' });
const subscriptionFields = {
  id: z.string().meta({ description: 'wh_…' }),
  url: z.string(),
  events: z.array(z.string()),
  displayName: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  createdAt: isoDate,
  updatedAt: isoDate,
};
const subscription = z.object(subscriptionFields).meta({ id: 'WebhookSubscription' });
const createdSubscription = z
  .object({ ...subscriptionFields, token: z.string().meta({ description: 'sent with every event as x-knowledgesdk-webhook-token' }) })
  .meta({ id: 'CreatedWebhookSubscription' });
const subscriptionDeleted = z.object({ id: z.string(), deleted: z.literal(true) }).meta({ id: 'WebhookSubscriptionDeleted' });
const subscriptionTest = z.object({ id: z.string(), event: z.literal('TESTING_CONNECTION'), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'WebhookTestQueued' });
const subscriptionDeliveries = z.object({ id: z.string(), deliveries: deliveries.shape.deliveries }).meta({ id: 'WebhookSubscriptionDeliveries' });
const messageRedelivered = z.object({ id: z.string(), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'WebhookMessageRedelivery' });
const health = z.object({ status: z.string(), reason: z.string().optional() }).meta({ id: 'Health' });

// ---------------------------------------------------------------------------
// The routes

type Method = 'get' | 'post' | 'delete';

interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: Method;
  /** Express form: /v1/jobs/:jobId */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Needs an API key (x-api-key or Authorization: Bearer). */
  auth: boolean;
  query?: z.ZodObject;
  headers?: Record<string, { schema: z.ZodType; description: string }>;
  body?: z.ZodType;
  responses: Record<string, ResponseSpec>;
}

const err = (description: string): ResponseSpec => ({ description, schema: errorResponse });
const common = {
  '401': err('missing, unknown or revoked API key'),
  '429': { ...err('rate limit, or too many jobs in flight for the key'), headers: { 'retry-after': 'seconds to wait' } },
  '503': { ...err('the database is unavailable'), headers: { 'retry-after': 'seconds to wait' } },
};
const submitErrors = {
  '400': err('validation error (every field and its problem in details) or malformed JSON'),
  '409': err('the Idempotency-Key was used with a different body'),
  '413': err('body over API_BODY_LIMIT_BYTES'),
  '415': err('body is not JSON'),
  ...common,
};
const syncBusy = { '429': { ...err('rate limit, too many jobs in flight for the key, or too many synchronous requests (scrape, sync extract) in progress for the key or the service (SYNC_CONCURRENCY_PER_KEY, SYNC_CONCURRENCY)'), headers: { 'retry-after': 'seconds to wait' } } };
const notFound = { '404': err('no such job for this key (another key’s job is a 404 too)') };

export function routeSpecs(opts: { allowPrivateNetworks: boolean; maxPages?: number }): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/v1/extract/async',
      tag: 'jobs',
      auth: true,
      summary: 'Submit a page for extraction',
      description: 'Records the job as pending and enqueues it in one transaction. With an Idempotency-Key, the same key and body return the same job (200, idempotent-replayed: true); a different body with the same key is a 409.',
      headers: { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } },
      body: extractRequestSchema(opts),
      responses: {
        '202': { description: 'accepted: the job is pending', schema: jobAccepted },
        '200': { description: 'an idempotent replay: the job created earlier with this key and body', schema: jobAccepted, headers: { 'idempotent-replayed': 'true' } },
        ...submitErrors,
      },
    },
    {
      method: 'post',
      path: '/v1/extract',
      tag: 'jobs',
      auth: true,
      summary: 'Submit and wait for the result',
      description: 'The same job as /v1/extract/async, but the answer waits up to EXTRACT_SYNC_TIMEOUT: 200 with the finished job (completed or failed), else 202 with the jobId and a Location to poll.',
      headers: { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } },
      body: extractRequestSchema(opts),
      responses: {
        '200': { description: 'the finished job', schema: job },
        '202': { description: 'still running: poll the Location', schema: jobAccepted, headers: { location: '/v1/jobs/{jobId}' } },
        ...submitErrors,
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/scrape',
      tag: 'knowledge',
      auth: true,
      summary: 'One page’s Markdown, metadata and links, now',
      description: 'Synchronous: no job and no indexing; the same fetcher, address guard and extraction as a job.',
      body: scrapeRequestSchema(opts),
      responses: {
        '200': { description: 'the page', schema: scrapedPage },
        '400': err('validation error, or the URL resolves to a refused address'),
        '422': err('the page answered with something that is not a usable HTML page (code in details)'),
        '502': err('the page could not be fetched (code and status in details)'),
        '504': err('the page did not answer in time'),
        ...common,
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/business',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'Crawl a site and profile the business (KnowledgeSDK extract.run)',
      description: 'The extract job of /v1/extract with the business profile in its result; waits up to EXTRACT_SYNC_TIMEOUT, at most 25 s (the client gives up at 30 s): 200 with the result, 422 when the job failed, else 202 with the jobId to poll.',
      headers: { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } },
      body: extractRequestSchema(opts),
      responses: {
        '200': { description: 'the result', schema: businessResult },
        '202': { description: 'still running: poll the Location', schema: jobAccepted, headers: { location: '/v1/jobs/{jobId}' } },
        '422': err('the job failed (its error code and message; jobId in details)'),
        ...submitErrors,
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/business/async',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'Submit a business extraction (KnowledgeSDK extract.runAsync)',
      description: 'The same job as /v1/extract/async, with the business profile in its result; poll GET /v1/jobs/{jobId}.',
      headers: { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } },
      body: extractRequestSchema(opts),
      responses: { '202': { description: 'accepted: the job is pending', schema: jobAccepted }, '200': { description: 'an idempotent replay', schema: jobAccepted }, ...submitErrors },
    },
    {
      method: 'post',
      path: '/v1/business/stream',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'Submit a business extraction and follow it as server-sent events (KnowledgeSDK extract.runStream)',
      description:
        'text/event-stream; each data line is JSON with a type: connected, progress {message}, page_scraped {url, index, total, status: done|failed} (as page tasks finish, else when the job ends), pages_planned {pages: [{url, purpose}]}, business_classified {business: {businessName, businessType, industry, description}}, complete {result}, or error {message}. Closing the stream does not cancel the job.',
      headers: { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } },
      body: extractRequestSchema(opts),
      responses: { '200': { description: 'the event stream (text/event-stream)', schema: z.string() }, ...submitErrors, ...syncBusy },
    },
    {
      method: 'post',
      path: '/v1/sitemap',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'The URLs of a site, from its sitemaps and start page (KnowledgeSDK sitemap.run)',
      body: scrapeRequestSchema(opts),
      responses: { '200': { description: 'the URLs', schema: sitemapResult }, '400': err('validation error, or the URL resolves to a refused address'), '502': err('the site could not be fetched'), '504': err('the site did not answer in time'), ...common, ...syncBusy },
    },
    {
      method: 'post',
      path: '/v1/classify',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'Profile the business behind a site (KnowledgeSDK classify.run)',
      description: 'Reads the home page and its about and pricing pages; no job. Without an LLM: metadata, JSON-LD, zero-shot classification with the embedding model and extractive sentences.',
      body: scrapeRequestSchema(opts),
      responses: {
        '200': { description: 'the profile', schema: businessProfile },
        '400': err('validation error, or the URL resolves to a refused address'),
        '422': err('the page is not a usable HTML page'),
        '502': err('the page could not be fetched'),
        '504': err('the page did not answer in time'),
        ...common,
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/screenshot',
      tag: 'knowledgesdk',
      auth: true,
      summary: 'A PNG of the page as a browser shows it (KnowledgeSDK screenshot.run)',
      body: scrapeRequestSchema(opts),
      responses: {
        '200': { description: 'the screenshot', schema: screenshotResult },
        '400': err('validation error, or the URL resolves to a refused address'),
        '502': err('the page could not be fetched'),
        '504': err('the page did not answer in time'),
        ...common,
        '503': { ...err('browser_unavailable: no browser is configured or it could not start (or the database is unavailable)'), headers: { 'retry-after': 'seconds to wait' } },
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/search',
      tag: 'knowledge',
      auth: true,
      summary: 'Search this key’s indexed pages',
      description: 'Hybrid ranking: full-text candidates re-ranked by embedding similarity, or vector-only when no word of the query occurs. Only the caller’s own chunks are searched.',
      body: searchRequestSchema,
      responses: { '200': { description: 'ranked results', schema: searchResults }, '400': err('validation error'), ...common },
    },
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
      method: 'get',
      path: '/v1/jobs/:jobId/items',
      tag: 'jobs',
      auth: true,
      summary: 'A crawl’s knowledge items, in the order they were indexed (crawls run as page tasks; none for other jobs)',
      query: crawlItemsQuerySchema,
      responses: { '200': { description: 'a page of items', schema: crawlItems }, '400': err('invalid query, cursor or job id'), ...notFound, ...common },
    },
    {
      method: 'get',
      path: '/v1/jobs/:jobId/pages',
      tag: 'jobs',
      auth: true,
      summary: 'A crawl’s pages with their state and error, in discovery order (crawls run as page tasks; none for other jobs)',
      query: crawlPagesQuerySchema,
      responses: { '200': { description: 'a page of pages', schema: crawlPages }, '400': err('invalid query, cursor or job id'), ...notFound, ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/cancel',
      tag: 'jobs',
      auth: true,
      summary: 'Cancel a pending or processing job',
      description: 'A running worker stops at its next heartbeat.',
      responses: { '200': { description: 'the cancelled job', schema: jobSummary }, ...notFound, '409': err('the job is already finished'), ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/retry',
      tag: 'jobs',
      auth: true,
      summary: 'Retry a failed or cancelled job',
      description: 'Back to pending with a fresh budget of attempts.',
      responses: { '202': { description: 'the job, pending again', schema: jobSummary }, ...notFound, '409': err('the job is not failed or cancelled'), ...common },
    },
    {
      method: 'get',
      path: '/v1/jobs/:jobId/deliveries',
      tag: 'webhooks',
      auth: true,
      summary: 'Every webhook delivery attempt for a job',
      responses: { '200': { description: 'the attempts, oldest first', schema: deliveries }, ...notFound, ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/redeliver',
      tag: 'webhooks',
      auth: true,
      summary: 'Queue the final event’s webhook again (same webhook-id)',
      description: 'Without a body: the callbackUrl’s delivery of the final event. With {webhookId}: that message of the job (its Firecrawl webhook’s events, its subscriptions’ events; ids from the deliveries).',
      body: redeliverRequestSchema,
      responses: { '202': { description: 'queued', schema: redelivered }, '400': err('webhookId is not a message id'), ...notFound, '409': err('no callbackUrl, the job has no final event to deliver (invalid_state), or a delivery of that event is still queued or being sent (delivery_in_progress)'), ...common },
    },
    {
      method: 'get',
      path: '/v1/webhooks/secret',
      tag: 'webhooks',
      auth: true,
      summary: 'This key’s webhook signing secret (created on first use)',
      responses: { '200': { description: 'the secret', schema: webhookSecret }, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/secret/rotate',
      tag: 'webhooks',
      auth: true,
      summary: 'Issue a new signing secret',
      description: 'The previous secret keeps signing alongside the new one for WEBHOOK_SECRET_GRACE.',
      responses: { '200': { description: 'the new secret', schema: rotatedSecret }, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks',
      tag: 'webhooks',
      auth: true,
      summary: 'Subscribe a URL to this key’s events (KnowledgeSDK’s webhooks.create)',
      description: 'Events: EXTRACTION_COMPLETED, EXTRACTION_FAILED, PAGE_SCRAPED (a finished job’s pages), TESTING_CONNECTION. Each event is POSTed as {event, payload, timestamp, version: 1} with x-knowledgesdk-webhook-token (the token returned here), x-knowledgesdk-dedup-key and the Standard Webhooks signature, through the same queue, retries and delivery log as job callbacks.',
      body: subscriptionRequestSchema(opts),
      responses: { '201': { description: 'the subscription, with its token', schema: createdSubscription }, '400': err('validation error (every field and its problem in details)'), '409': err('the key already has 20 webhooks'), ...common },
    },
    {
      method: 'get',
      path: '/v1/webhooks',
      tag: 'webhooks',
      auth: true,
      summary: 'This key’s webhook subscriptions (webhooks.list)',
      responses: { '200': { description: 'the subscriptions, oldest first', schema: z.array(subscription) }, ...common },
    },
    {
      method: 'delete',
      path: '/v1/webhooks/:webhookId',
      tag: 'webhooks',
      auth: true,
      summary: 'Delete a subscription (webhooks.delete)',
      description: 'Its messages and their delivery records go with it; attempts still queued are dropped.',
      responses: { '200': { description: 'deleted', schema: subscriptionDeleted }, '404': err('no such webhook for this key'), ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:webhookId/test',
      tag: 'webhooks',
      auth: true,
      summary: 'Queue a TESTING_CONNECTION event to the subscription (webhooks.test)',
      responses: { '202': { description: 'queued', schema: subscriptionTest }, '404': err('no such webhook for this key'), ...common },
    },
    {
      method: 'get',
      path: '/v1/webhooks/:webhookId/deliveries',
      tag: 'webhooks',
      auth: true,
      summary: 'The latest 100 delivery attempts of the subscription’s events',
      responses: { '200': { description: 'the attempts, oldest first', schema: subscriptionDeliveries }, '404': err('no such webhook for this key'), ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:webhookId/redeliver',
      tag: 'webhooks',
      auth: true,
      summary: 'Queue one of the subscription’s messages again (same webhook-id and body)',
      body: redeliverRequestSchema.required(),
      responses: { '202': { description: 'queued', schema: messageRedelivered }, '400': err('webhookId missing or not a message id'), '404': err('no such webhook or message for this key'), '409': err('a delivery of that message is still queued or being sent (delivery_in_progress)'), ...common },
    },
    {
      method: 'get',
      path: '/v1/openapi.json',
      tag: 'service',
      auth: false,
      summary: 'This description (OpenAPI 3.1)',
      responses: { '200': { description: 'the OpenAPI document', contentType: 'application/json' } },
    },
    {
      method: 'get',
      path: '/healthz',
      tag: 'service',
      auth: false,
      summary: 'The process is up',
      responses: { '200': { description: 'up', schema: health } },
    },
    {
      method: 'get',
      path: '/readyz',
      tag: 'service',
      auth: false,
      summary: 'The database is reachable and migrations are applied',
      responses: { '200': { description: 'ready', schema: health }, '503': { description: 'not ready', schema: health } },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'service',
      auth: false,
      summary: 'Prometheus metrics (bearer METRICS_TOKEN when set)',
      responses: { '200': { description: 'text exposition format', contentType: 'text/plain' }, '401': { description: 'METRICS_TOKEN is set and was not presented' } },
    },
    ...firecrawlRouteSpecs(opts),
  ];
}

// ---------------------------------------------------------------------------
// Building the document

type JsonSchema = Record<string, unknown>;

/** express `/v1/jobs/:jobId` → OpenAPI `/v1/jobs/{jobId}` */
export const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

const pathParamSchemas: Record<string, { schema: z.ZodType; description: string }> = {
  jobId: { schema: jobIdSchema, description: 'a job id from POST /v1/extract/async (job_…)' },
};

/**
 * Refer to components instead of local $defs and drop the ±2^53 bounds zod
 * gives every integer; for responses, also drop additionalProperties: false
 * (new fields may be added to responses without a new version).
 */
function tidy(value: unknown, io: 'input' | 'output', key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => tidy(v, io));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const isMap = key === 'properties' || key === '$defs';
  for (const [k, v] of Object.entries(value)) {
    if (isMap) out[k] = tidy(v, io);
    else if (k === '$ref' && typeof v === 'string') out[k] = v.replace(/^#\/\$defs\//, '#/components/schemas/');
    else if ((k === 'minimum' || k === 'maximum') && Math.abs(Number(v)) === Number.MAX_SAFE_INTEGER) continue;
    else if (io === 'output' && k === 'additionalProperties' && v === false) continue;
    else out[k] = tidy(v, io, k);
  }
  return out;
}

export function buildOpenApi(opts: { allowPrivateNetworks: boolean; maxPages?: number; version?: string }): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};

  // Named shapes (.meta({id})) become components/schemas and are referenced.
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const out = tidy(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }), io) as JsonSchema;
    const defs = out.$defs as Record<string, JsonSchema> | undefined;
    if (defs) for (const [id, def] of Object.entries(defs)) components[id] ??= def;
    delete out.$defs;
    delete out.$schema;
    return out;
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routeSpecs(opts)) {
    const parameters: unknown[] = [];
    for (const name of [...r.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)) {
      const p = pathParamSchemas[name];
      parameters.push({ name, in: 'path', required: true, description: p?.description, schema: p ? convert(p.schema, 'input') : { type: 'string' } });
    }
    if (r.query) {
      const q = convert(r.query, 'input');
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties as Record<string, JsonSchema>) ?? {})) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    for (const [name, h] of Object.entries(r.headers ?? {})) {
      parameters.push({ name, in: 'header', required: false, description: h.description, schema: convert(h.schema, 'input') });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.headers ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(spec.schema ? { content: { [spec.contentType ?? 'application/json']: { schema: convert(spec.schema, 'output') } } } : spec.contentType ? { content: { [spec.contentType]: {} } } : {}),
      };
    }
    const operation: Record<string, unknown> = {
      operationId: `${r.method}${toOpenApiPath(r.path).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(r.body, 'input') } } } } : {}),
      responses,
      security: r.auth ? [{ apiKeyHeader: [] }, { bearer: [] }] : [],
    };
    (paths[toOpenApiPath(r.path)] ??= {})[r.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Gleaner API',
      version: opts.version ?? '0.1.0',
      description: 'Turns web pages into searchable knowledge as background jobs. Submit a URL, poll the job (or receive a signed webhook), read the extracted Markdown and text.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'jobs', description: 'Submit, read, cancel and retry extraction jobs' },
      { name: 'webhooks', description: 'Signed callbacks (Standard Webhooks) and their delivery log' },
      { name: 'knowledgesdk', description: 'KnowledgeSDK’s routes, in the shapes its official Node client reads' },
      { name: 'firecrawl', description: 'Firecrawl’s API (v1 and v2) under /firecrawl, in the shapes @mendable/firecrawl-js reads; errors are {success: false, error}' },
      { name: 'service', description: 'Health, metrics and this description' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'an API key (knowledgesdk_live_…, or the same key as sk_ks_…)' },
        bearer: { type: 'http', scheme: 'bearer', description: 'the same API key as Authorization: Bearer <key>' },
      },
    },
  };
}

// ---------------------------------------------------------------------------
// Routes

function docsPage(specs: RouteSpec[]) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gleaner API</title>
<style>${raw(`body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1b1f24}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
thead th{font-size:.85rem;color:#57606a}.m{font-weight:700;font-family:ui-monospace,Menlo,monospace}.wrap{overflow-x:auto}a{color:#0b5cad}`)}</style>
</head><body>
<header><h1>Gleaner API</h1></header>
<main>
<p>The machine-readable description is <a href="/v1/openapi.json"><code>/v1/openapi.json</code></a> (OpenAPI 3.1, generated from the schemas the server validates requests with). Load it into any OpenAPI tool to browse it or generate a client.</p>
<p>Routes marked “key” need an API key, in <code>x-api-key</code> or as <code>Authorization: Bearer &lt;key&gt;</code>. Errors are JSON: <code>{"statusCode", "error", "message", "code", "details"}</code>.</p>
<h2>Routes</h2>
<div class="wrap"><table>
<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What it does</th><th scope="col">Auth</th></tr></thead>
<tbody>${specs.map((r) => html`<tr><td class="m">${r.method.toUpperCase()}</td><th scope="row"><code>${r.path}</code></th><td>${r.summary}</td><td>${r.auth ? 'key' : 'none'}</td></tr>`)}</tbody>
</table></div>
</main></body></html>`;
}

export function openapiRouter(opts: { allowPrivateNetworks: boolean; maxPages?: number }): Router {
  const router = Router();
  let document: string | undefined;
  const specs = routeSpecs(opts);
  const page = docsPage(specs).text;

  router.get('/v1/openapi.json', (_req, res) => {
    document ??= JSON.stringify(buildOpenApi(opts), null, 2);
    res.setHeader('cache-control', 'public, max-age=300');
    res.setHeader('access-control-allow-origin', '*');
    res.type('application/json').send(document);
  });

  router.get('/docs', (_req, res) => {
    res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'public, max-age=300');
    res.type('html').send(page);
  });
  return router;
}
