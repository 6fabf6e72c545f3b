// The Firecrawl-compatible API, mounted at /firecrawl: /firecrawl/v2/* (the
// SDK's default client) and /firecrawl/v1/* (its .v1 client, which most
// loaders use). Authorization: Bearer <Gleaner API key>. Bodies and errors
// are Firecrawl's ({success, ...}, {success: false, error}); underneath are
// Gleaner's guarded client, extraction and ordinary jobs.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import { sharedBrowser, type BrowserService } from '../../core/browser/index.js';
import { pathDepth } from '../../worker/pipeline/crawl/urls.js';
import { checkUrlSyntax } from '../../core/outbound/ssrf.js';
import type { CrawlScopeInput, JobInput, JobCreator } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { OutboundError } from '../../core/outbound/index.js';
import { clientMessage, logDetail } from '../../core/outbound/clientMessage.js';
import type { Extractor } from '../../core/page/scrape.js';
import { requireApiKey, requireJson } from '../middleware.js';
import type { SyncLimit } from '../syncLimit.js';
import { DocumentPool, type DocumentSelector } from './documentPool.js';
import { FirecrawlError, firecrawlErrorHandler } from './errors.js';
import { activeCrawls, cancel, errorsOf, ownJob, parseOrFail, startJob, statusPage, type JobDeps, type JobKind } from './jobs.js';
import { mapSite } from './map.js';
import { requestedFormats, scrapeDocument } from './scrape.js';
import { batchScrapeSchema, crawlSchema, mapSchema, scrapeSchema, type BatchScrapeRequest, type CrawlRequest, type MapRequest, type ScrapeOptions, type ScrapeRequest } from './schemas.js';
import type { Sql } from '../../core/platform/db.js';
import type { Boss } from '../../core/queue/index.js';
import { plainBox, type SecretBox } from '../../core/secretBox.js';
import { startedAlongside, webhookInput } from './webhook.js';

export interface FirecrawlDeps {
  sql: Sql;
  boss: Boss;
  jobs: JobCreator;
  logger: Logger;
  client: OutboundClient;
  extract: Extractor;
  syncLimit: SyncLimit;
  allowPrivateNetworks: boolean;
  maxAttempts: number;
  maxJobsInFlight: number;
  /** The largest crawl limit (server/schemas.ts maxPagesLimit: MAX_PAGES_PER_JOB with page tasks, else 20), and the default. */
  maxPagesPerJob: number;
  /** The /v1 routes' limiter itself: one budget per key whichever API it calls. */
  rateLimit: RequestHandler;
  bodyLimitBytes: number;
  /** How a page becomes a document; by default on worker threads of its own. */
  select?: DocumentSelector;
  /** The browser for screenshots and waitFor; by default the process's shared one (core/browser), started on first use. */
  browser?: () => BrowserService;
  /** Seals a webhook's headers in the job's input (SECRETS_KEY). */
  secrets?: SecretBox;
}

/** What team/credit-usage reports: Gleaner counts no credits, and a tool that checks them first should go ahead. */
export const UNMETERED_CREDITS = 1_000_000_000;

const unsupported = (field: string, why: string) => new FirecrawlError(400, `${field}: ${why}`, [{ field, message: why }], 'UNSUPPORTED_OPTION');

/**
 * A crawl's or batch's scrapeOptions: its pages are what Gleaner's job pipeline
 * stores, the main-content Markdown, so only that is accepted.
 */
function checkJobScrapeOptions(options: Partial<ScrapeOptions> | undefined, prefix: string): void {
  if (!options) return;
  const formats = requestedFormats(options.formats, `${prefix}formats`);
  for (const f of formats) if (f !== 'markdown') throw unsupported(`${prefix}formats`, `crawled pages are stored as Markdown; the ${f} format is available from scrape only`);
  if (options.onlyMainContent === false) throw unsupported(`${prefix}onlyMainContent`, 'crawled pages are stored as main content; use scrape for the whole page');
  if (options.includeTags?.length) throw unsupported(`${prefix}includeTags`, 'available from scrape only');
  if (options.excludeTags?.length) throw unsupported(`${prefix}excludeTags`, 'available from scrape only');
  if (options.headers && Object.keys(options.headers).length) throw unsupported(`${prefix}headers`, 'available from scrape only');
}

/** A Firecrawl crawl's options as the crawl's scope (worker/pipeline/crawl/scope.ts), Gleaner's defaults left out. */
function crawlScopeOf(body: CrawlRequest): CrawlScopeInput {
  // v1's maxDepth counts path segments beyond the start URL's own (Firecrawl's getAdjustedMaxDepth).
  const maxPathDepth = body.maxDepth === undefined ? undefined : body.maxDepth + (pathDepth(body.url) ?? 0);
  const sitemap = body.sitemap ?? (body.ignoreSitemap === true ? 'skip' : 'include');
  const hosts = body.allowExternalLinks === true ? 'any' : body.allowSubdomains === true ? 'subdomains' : 'site';
  return {
    ...(body.maxDiscoveryDepth !== undefined ? { maxDiscoveryDepth: body.maxDiscoveryDepth } : {}),
    ...(maxPathDepth !== undefined ? { maxPathDepth } : {}),
    ...(sitemap !== 'include' ? { sitemap } : {}),
    ...(hosts !== 'site' ? { hosts } : {}),
    ...(body.ignoreQueryParameters === true ? { ignoreQueryParameters: true } : {}),
    ...(body.delay ? { delayMs: Math.round(body.delay * 1000) } : {}),
    ...(body.maxConcurrency !== undefined ? { maxConcurrency: body.maxConcurrency } : {}),
  };
}

/** A Firecrawl crawl as a Gleaner job's input; options Gleaner's crawler cannot honour are refused by name. */
export function crawlInput(body: CrawlRequest, maxPages: number, version: 'v1' | 'v2'): JobInput {
  // Firecrawl v2 has no maxDepth (its API refuses the key); ignored, it would change what is crawled unnoticed.
  if (body.maxDepth !== undefined && version === 'v2') throw unsupported('maxDepth', 'is Firecrawl v1\'s (path segments below the start URL, accepted at /firecrawl/v1/crawl); v2 uses maxDiscoveryDepth');
  if (body.ignoreRobotsTxt === true) throw unsupported('ignoreRobotsTxt', 'Gleaner always honours robots.txt');
  if (body.robotsUserAgent) throw unsupported('robotsUserAgent', 'Gleaner reads robots.txt as its own user agent (CRAWL_USER_AGENT)');
  if (body.regexOnFullURL === true) throw unsupported('regexOnFullURL', 'includePaths and excludePaths are matched against the URL\'s path');
  if (body.prompt) throw unsupported('prompt', 'Gleaner has no LLM to turn a prompt into crawl options; set them yourself');
  checkJobScrapeOptions(body.scrapeOptions, 'scrapeOptions.');
  // Firecrawl's default: only pages under the start URL's path (crawlEntireDomain / allowBackwardLinks lift it).
  const path = new URL(body.url).pathname.replace(/\/+$/, '');
  const below = body.crawlEntireDomain !== true && body.allowBackwardLinks !== true && path !== '' && !path.includes('*') ? [`${path}/**`] : [];
  const scope = crawlScopeOf(body);
  return {
    url: body.url,
    maxPages: body.limit ?? maxPages,
    ...(Object.keys(scope).length ? { scope } : {}),
    ...(below.length ? { includePatterns: below } : {}),
    ...(body.includePaths?.length ? { includePathRegexes: body.includePaths } : {}),
    ...(body.excludePaths?.length ? { excludePathRegexes: body.excludePaths } : {}),
  };
}

/** A batch scrape as a list-mode job; with ignoreInvalidURLs, bad URLs are left out and reported. */
function batchInput(body: BatchScrapeRequest, allowPrivateNetworks: boolean): { input: JobInput; invalidURLs: string[] } {
  const { formats, onlyMainContent, includeTags, excludeTags, headers } = body;
  checkJobScrapeOptions({ formats, onlyMainContent, includeTags, excludeTags, headers }, '');
  const urls: string[] = [];
  const invalidURLs: string[] = [];
  for (const [i, url] of body.urls.entries()) {
    const checked = checkUrlSyntax(url, { allowPrivateNetworks });
    if (checked.ok) urls.push(url);
    else if (body.ignoreInvalidURLs) invalidURLs.push(url);
    else throw new FirecrawlError(400, `invalid body: urls.${i}: ${checked.message}`, [{ field: `urls.${i}`, message: checked.message }], 'BAD_REQUEST');
  }
  if (urls.length === 0) throw new FirecrawlError(400, 'invalid body: urls: no valid URL to scrape', [{ field: 'urls', message: 'no valid URL' }], 'BAD_REQUEST');
  return { input: { url: urls[0]!, urls }, invalidURLs };
}

function absoluteJobUrl(req: Request, version: string, kind: JobKind, id: string): string {
  return `${req.protocol}://${req.get('host')}/firecrawl/${version}/${kind}/${id}`;
}

export function firecrawlRouter(deps: FirecrawlDeps): Router {
  const router = Router();
  const select = deps.select ?? new DocumentPool().select;
  const browser = deps.browser ?? sharedBrowser;
  const maxCrawlPages = deps.maxPagesPerJob;
  const jobDeps: JobDeps = { sql: deps.sql, boss: deps.boss, jobs: deps.jobs, maxAttempts: deps.maxAttempts, maxJobsInFlight: deps.maxJobsInFlight };
  const box = deps.secrets ?? plainBox;
  const hookFor = (res: Response) => ({ allowPrivateNetworks: deps.allowPrivateNetworks, box, apiKeyId: (res.locals.apiKey as ApiKey).id });
  const schemas = {
    scrape: scrapeSchema({ allowPrivateNetworks: deps.allowPrivateNetworks }),
    crawl: crawlSchema({ allowPrivateNetworks: deps.allowPrivateNetworks, maxPages: maxCrawlPages }),
    batch: batchScrapeSchema(),
    map: mapSchema({ allowPrivateNetworks: deps.allowPrivateNetworks }),
  };

  router.use(
    requireApiKey(deps.sql),
    deps.rateLimit,
    requireJson,
    express.json({ limit: deps.bodyLimitBytes, strict: true }),
  );

  const body = (req: Request) => {
    if (req.body === undefined) throw new FirecrawlError(400, 'invalid body: a JSON object is required', [{ field: 'body', message: 'is required' }], 'BAD_REQUEST');
    return req.body as unknown;
  };
  const gone = (res: Response) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    return controller.signal;
  };
  /** Refused destinations are logged with the address they resolved to; the client never sees it. */
  const refused = (res: Response, err: unknown) => {
    const detail = logDetail(err);
    if (detail) deps.logger.warn('firecrawl destination refused', { requestId: res.locals.requestId, detail });
  };

  for (const v of ['v1', 'v2'] as const) {
    router.post(`/${v}/scrape`, async (req, res) => {
      const { url, ...options } = parseOrFail<ScrapeRequest>(schemas.scrape, body(req));
      const owner = (res.locals.apiKey as ApiKey).id;
      deps.syncLimit.hold(owner, res);
      try {
        const ownSelect: DocumentSelector = (html, baseUrl, selection) => select(html, baseUrl, selection, owner);
        res.json({ success: true, data: await scrapeDocument({ client: deps.client, select: ownSelect, browser }, url, options, gone(res)) });
      } catch (err) {
        refused(res, err);
        throw err;
      }
    });

    router.post(`/${v}/map`, async (req, res) => {
      const request = parseOrFail<MapRequest>(schemas.map, body(req));
      const owner = (res.locals.apiKey as ApiKey).id;
      deps.syncLimit.hold(owner, res);
      let links;
      try {
        links = await mapSite({ client: deps.client, extract: (html, baseUrl) => deps.extract(html, baseUrl, owner) }, request, gone(res));
      } catch (err) {
        refused(res, err);
        if (err instanceof OutboundError) {
          const message = clientMessage(err);
          if (err.code === 'blocked_address' || err.code === 'invalid_url' || err.code === 'unsupported_protocol') throw new FirecrawlError(400, `url: ${message}`, [{ field: 'url', message }], 'BLOCKED_URL');
          if (err.code === 'timeout' || err.code === 'aborted') throw new FirecrawlError(408, `map timed out: ${message}`, undefined, 'MAP_TIMEOUT');
          throw new FirecrawlError(502, message, { url: err.url, code: err.code, ...(err.status ? { status: err.status } : {}) }, 'UPSTREAM_ERROR');
        }
        throw err;
      }
      res.json({ success: true, links: v === 'v1' ? links.map((l) => l.url) : links });
    });

    router.post(`/${v}/crawl`, async (req, res) => {
      const request = parseOrFail<CrawlRequest>(schemas.crawl, body(req));
      const input = { ...crawlInput(request, maxCrawlPages, v), ...webhookInput(request.webhook, 'crawl', hookFor(res)) };
      const job = await startJob(jobDeps, req, res, input, { kind: 'crawl', ...request }, startedAlongside(input, deps.boss, box));
      res.json({ success: true, id: job.id, url: absoluteJobUrl(req, v, 'crawl', job.id) });
    });

    router.post(`/${v}/batch/scrape`, async (req, res) => {
      const request = parseOrFail<BatchScrapeRequest>(schemas.batch, body(req));
      const { input, invalidURLs } = batchInput(request, deps.allowPrivateNetworks);
      const jobInput = { ...input, ...webhookInput(request.webhook, 'batch_scrape', hookFor(res)) };
      const job = await startJob(jobDeps, req, res, jobInput, { kind: 'batch', ...request }, startedAlongside(jobInput, deps.boss, box));
      res.json({ success: true, id: job.id, url: absoluteJobUrl(req, v, 'batch/scrape', job.id), ...(request.ignoreInvalidURLs ? { invalidURLs } : {}) });
    });

    // Before crawl/:id, which would take "active" for a job id.
    router.get(`/${v}/crawl/active`, async (_req, res) => {
      res.json(await activeCrawls(jobDeps, res));
    });

    for (const kind of ['crawl', 'batch/scrape'] as const) {
      router.get(`/${v}/${kind}/:id`, async (req, res) => {
        const job = await ownJob(jobDeps, res, String(req.params.id), true);
        res.json(await statusPage(jobDeps, job, req, v, kind));
      });
      router.delete(`/${v}/${kind}/:id`, async (req, res) => {
        const job = await ownJob(jobDeps, res, String(req.params.id), false);
        res.json(await cancel(jobDeps, res, job));
      });
      // The v1 client asks for errors with DELETE; both verbs answer.
      const errors = async (req: Request, res: Response) => {
        const job = await ownJob(jobDeps, res, String(req.params.id), true);
        const found = errorsOf(job);
        res.json({ success: true, ...found });
      };
      router.get(`/${v}/${kind}/:id/errors`, errors);
      router.delete(`/${v}/${kind}/:id/errors`, errors);
    }

    // Gleaner meters no credits; tools ask anyway (n8n's credential test calls it), so it answers a fixed, ample figure.
    router.get(`/${v}/team/credit-usage`, (_req, res) => {
      const data = v === 'v1' ? { remaining_credits: UNMETERED_CREDITS } : { remainingCredits: UNMETERED_CREDITS, planCredits: UNMETERED_CREDITS, billingPeriodStart: null, billingPeriodEnd: null };
      res.json({ success: true, data });
    });

    // Not Gleaner's: web search and LLM extraction answer a clear error, not a 404.
    const notSupported = (what: string) => () => {
      throw new FirecrawlError(501, `${what} is not supported by Gleaner: it has no web search engine or LLM. Crawl or scrape the pages, then use Gleaner's own /v1/search over what you indexed.`, undefined, 'NOT_SUPPORTED');
    };
    router.post(`/${v}/search`, notSupported('search'));
    router.post(`/${v}/extract`, notSupported('LLM extract'));
    router.get(`/${v}/extract/:id`, notSupported('LLM extract'));
  }

  router.use((req) => {
    throw new FirecrawlError(404, `no Firecrawl route for ${req.method} ${req.baseUrl}${req.path}`, undefined, 'NOT_FOUND');
  });
  router.use(firecrawlErrorHandler(deps.logger));
  return router;
}
