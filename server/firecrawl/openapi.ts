// The Firecrawl-compatible routes (/firecrawl/v1 and /firecrawl/v2) in
// Gleaner's OpenAPI document: request bodies are the schemas the routes
// validate with (./schemas.ts); responses are Firecrawl's shapes.
import { z } from 'zod';
import type { RouteSpec } from '../routeSpec.js';
import { MAX_PAGES_IN_ONE_WORKER } from '../schemas.js';
import { batchScrapeSchema, crawlSchema, mapSchema, scrapeSchema, statusQuerySchema } from './schemas.js';

const fcError = z
  .object({
    success: z.literal(false),
    error: z.string().meta({ description: 'what went wrong, naming the field for a bad request' }),
    code: z.string().optional().meta({ description: 'BAD_REQUEST, UNSUPPORTED_OPTION, NOT_FOUND, BLOCKED_URL, NOT_SUPPORTED, …' }),
    details: z.unknown().optional().meta({ description: 'for a bad request: [{field, message}]' }),
  })
  .meta({ id: 'FirecrawlError' });

const fcDocument = z
  .object({
    markdown: z.string().optional(),
    html: z.string().optional(),
    rawHtml: z.string().optional(),
    links: z.array(z.string()).optional(),
    screenshot: z.string().optional().meta({ description: 'a data: URL of the PNG' }),
    metadata: z
      .object({ title: z.string().optional(), description: z.string().optional(), language: z.string().optional(), sourceURL: z.string(), url: z.string(), statusCode: z.int(), contentType: z.string().optional(), error: z.string().optional() })
      .catchall(z.unknown()),
  })
  .meta({ id: 'FirecrawlDocument' });

const started = z.object({ success: z.literal(true), id: z.string(), url: z.string().meta({ description: 'the absolute status URL' }) }).meta({ id: 'FirecrawlJobStarted' });
const status = z
  .object({
    success: z.literal(true),
    status: z.enum(['scraping', 'completed', 'failed', 'cancelled']),
    total: z.int(),
    completed: z.int(),
    creditsUsed: z.int(),
    expiresAt: z.string(),
    next: z.string().nullable().optional().meta({ description: 'the absolute URL of the next page of data; v2: null on the last page, v1: absent' }),
    data: z.array(fcDocument),
    error: z.string().optional(),
  })
  .meta({ id: 'FirecrawlJobStatus' });
const cancelled = z.object({ success: z.literal(true), status: z.literal('cancelled') }).meta({ id: 'FirecrawlCancelled' });
const errors = z
  .object({ success: z.literal(true), errors: z.array(z.object({ id: z.string(), timestamp: z.string(), url: z.string(), error: z.string(), code: z.string().optional() })), robotsBlocked: z.array(z.string()) })
  .meta({ id: 'FirecrawlJobErrors' });
const active = z
  .object({ success: z.literal(true), crawls: z.array(z.object({ id: z.string(), teamId: z.string().meta({ description: 'the API key\'s id' }), url: z.string(), options: z.record(z.string(), z.unknown()) })) })
  .meta({ id: 'FirecrawlActiveCrawls' });

const fail = (description: string) => ({ description, schema: fcError });
const common = { '401': fail('missing, unknown or revoked API key'), '429': fail('rate limit, or too many jobs in flight for the key') };
const badRequest = { '400': fail('validation error, or an option Gleaner does not support (named in error)') };

/** Every /firecrawl route, for v1 and v2 (their shapes differ only where noted). */
export function firecrawlRouteSpecs(opts: { allowPrivateNetworks: boolean; maxPages?: number }): RouteSpec[] {
  const maxPages = opts.maxPages ?? MAX_PAGES_IN_ONE_WORKER;
  const tag = 'firecrawl';
  const specs: RouteSpec[] = [];
  for (const v of ['v1', 'v2'] as const) {
    const p = `/firecrawl/${v}`;
    specs.push(
      { method: 'post', path: `${p}/scrape`, tag, auth: true, summary: `Firecrawl ${v} scrape: one page as a document in the requested formats`, body: scrapeSchema(opts), responses: { '200': { description: '{success, data}', schema: z.object({ success: z.literal(true), data: fcDocument }) }, ...badRequest, ...common } },
      {
        method: 'post',
        path: `${p}/map`,
        tag,
        auth: true,
        summary: `Firecrawl ${v} map: a site's URLs from its sitemaps and links`,
        body: mapSchema(opts),
        responses: { '200': { description: v === 'v1' ? '{success, links: [url]}' : '{success, links: [{url, title?, description?}]}', schema: z.object({ success: z.literal(true), links: z.array(v === 'v1' ? z.string() : z.object({ url: z.string(), title: z.string().optional(), description: z.string().optional() })) }) }, ...badRequest, ...common },
      },
      { method: 'post', path: `${p}/crawl`, tag, auth: true, summary: `Firecrawl ${v} crawl: start a crawl (an ordinary Gleaner job)`, body: crawlSchema({ allowPrivateNetworks: opts.allowPrivateNetworks, maxPages }), responses: { '200': { description: 'started', schema: started }, ...badRequest, '409': fail('x-idempotency-key reused with another body'), ...common } },
      { method: 'get', path: `${p}/crawl/active`, tag, auth: true, summary: `Firecrawl ${v}: the key's crawls still pending or running`, responses: { '200': { description: 'oldest first', schema: active }, ...common } },
      { method: 'post', path: `${p}/batch/scrape`, tag, auth: true, summary: `Firecrawl ${v} batch scrape: start a job over urls[]`, body: batchScrapeSchema(), responses: { '200': { description: 'started (with invalidURLs when ignoreInvalidURLs)', schema: started }, ...badRequest, ...common } },
    );
    for (const kind of ['crawl', 'batch/scrape'] as const) {
      const notFound = { '404': fail('no such job for this key') };
      specs.push(
        { method: 'get', path: `${p}/${kind}/:id`, tag, auth: true, summary: `Firecrawl ${v}: a ${kind === 'crawl' ? 'crawl' : 'batch scrape'}'s status and a page of its documents`, query: statusQuerySchema, responses: { '200': { description: 'status', schema: status }, ...notFound, ...common } },
        { method: 'delete', path: `${p}/${kind}/:id`, tag, auth: true, summary: `Firecrawl ${v}: cancel a ${kind === 'crawl' ? 'crawl' : 'batch scrape'}`, responses: { '200': { description: 'cancelled', schema: cancelled }, ...notFound, '409': fail('the job has already ended'), ...common } },
        { method: 'get', path: `${p}/${kind}/:id/errors`, tag, auth: true, summary: `Firecrawl ${v}: pages that failed, and those robots.txt refused`, responses: { '200': { description: 'errors', schema: errors }, ...notFound, ...common } },
        { method: 'delete', path: `${p}/${kind}/:id/errors`, tag, auth: true, summary: `Firecrawl ${v}: the same errors (the v1 client asks with DELETE)`, responses: { '200': { description: 'errors', schema: errors }, ...notFound, ...common } },
      );
    }
    const none = { '501': fail('not supported by Gleaner (no web search engine or LLM)'), ...common };
    const credits = v === 'v1' ? z.object({ remaining_credits: z.number() }) : z.object({ remainingCredits: z.number(), planCredits: z.number(), billingPeriodStart: z.null(), billingPeriodEnd: z.null() });
    specs.push(
      { method: 'get', path: `${p}/team/credit-usage`, tag, auth: true, summary: `Firecrawl ${v} credit usage: Gleaner meters no credits and answers a fixed, ample figure (n8n's credential test calls it)`, responses: { '200': { description: 'credits', schema: z.object({ success: z.literal(true), data: credits }) }, ...common } },
      { method: 'post', path: `${p}/search`, tag, auth: true, summary: `Firecrawl ${v} search: not supported (use /v1/search over what you indexed)`, responses: none },
      { method: 'post', path: `${p}/extract`, tag, auth: true, summary: `Firecrawl ${v} LLM extract: not supported`, responses: none },
      { method: 'get', path: `${p}/extract/:id`, tag, auth: true, summary: `Firecrawl ${v} LLM extract status: not supported`, responses: none },
    );
  }
  return specs;
}
