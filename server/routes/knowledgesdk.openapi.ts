// KnowledgeSDK's routes (server/routes/knowledgesdk.ts) in the OpenAPI document.
import { z } from 'zod';
import { common, err, idempotencyHeader, submitErrors, syncBusy, type RouteSpec, type RouteSpecOptions } from '../routeSpec.js';
import { extractRequestSchema, scrapeRequestSchema } from '../schemas.js';
import { jobAccepted, knowledgeItem } from './jobs.openapi.js';
import { pageErrors } from './scrape.openapi.js';

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

const stillRunning = { description: 'still running: poll the Location', schema: jobAccepted, headers: { location: '/v1/jobs/{jobId}' } };

export function knowledgesdkRouteSpecs(opts: RouteSpecOptions): RouteSpec[] {
  const tag = 'knowledgesdk';
  return [
    {
      method: 'post',
      path: '/v1/business',
      tag,
      auth: true,
      summary: 'Crawl a site and profile the business (KnowledgeSDK extract.run)',
      description: 'The extract job of /v1/extract with the business profile in its result; waits up to EXTRACT_SYNC_TIMEOUT, at most 25 s (the client gives up at 30 s): 200 with the result, 422 when the job failed, else 202 with the jobId to poll.',
      headers: idempotencyHeader,
      body: extractRequestSchema(opts),
      responses: {
        '200': { description: 'the result', schema: businessResult },
        '202': stillRunning,
        '422': err('the job failed (its error code and message; jobId in details)'),
        ...submitErrors,
        ...syncBusy,
      },
    },
    {
      method: 'post',
      path: '/v1/business/async',
      tag,
      auth: true,
      summary: 'Submit a business extraction (KnowledgeSDK extract.runAsync)',
      description: 'The same job as /v1/extract/async, with the business profile in its result; poll GET /v1/jobs/{jobId}.',
      headers: idempotencyHeader,
      body: extractRequestSchema(opts),
      responses: { '202': { description: 'accepted: the job is pending', schema: jobAccepted }, '200': { description: 'an idempotent replay', schema: jobAccepted }, ...submitErrors },
    },
    {
      method: 'post',
      path: '/v1/business/stream',
      tag,
      auth: true,
      summary: 'Submit a business extraction and follow it as server-sent events (KnowledgeSDK extract.runStream)',
      description:
        'text/event-stream; each data line is JSON with a type: connected, progress {message}, page_scraped {url, index, total, status: done|failed} (as page tasks finish, else when the job ends), pages_planned {pages: [{url, purpose}]}, business_classified {business: {businessName, businessType, industry, description}}, complete {result}, or error {message}. Closing the stream does not cancel the job.',
      headers: idempotencyHeader,
      body: extractRequestSchema(opts),
      responses: { '200': { description: 'the event stream (text/event-stream)', schema: z.string() }, ...submitErrors, ...syncBusy },
    },
    {
      method: 'post',
      path: '/v1/sitemap',
      tag,
      auth: true,
      summary: 'The URLs of a site, from its sitemaps and start page (KnowledgeSDK sitemap.run)',
      body: scrapeRequestSchema(opts),
      responses: { '200': { description: 'the URLs', schema: sitemapResult }, '400': pageErrors['400'], '502': err('the site could not be fetched'), '504': err('the site did not answer in time'), ...common, ...syncBusy },
    },
    {
      method: 'post',
      path: '/v1/classify',
      tag,
      auth: true,
      summary: 'Profile the business behind a site (KnowledgeSDK classify.run)',
      description: 'Reads the home page and its about and pricing pages; no job. Without an LLM: metadata, JSON-LD, zero-shot classification with the embedding model and extractive sentences.',
      body: scrapeRequestSchema(opts),
      responses: { '200': { description: 'the profile', schema: businessProfile }, ...pageErrors, '422': err('the page is not a usable HTML page'), ...common, ...syncBusy },
    },
    {
      method: 'post',
      path: '/v1/screenshot',
      tag,
      auth: true,
      summary: 'A PNG of the page as a browser shows it (KnowledgeSDK screenshot.run)',
      body: scrapeRequestSchema(opts),
      responses: {
        '200': { description: 'the screenshot', schema: screenshotResult },
        ...pageErrors,
        ...common,
        '503': { ...err('browser_unavailable: no browser is configured or it could not start (or the database is unavailable)'), headers: { 'retry-after': 'seconds to wait' } },
        ...syncBusy,
      },
    },
  ];
}
