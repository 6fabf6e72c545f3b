// Request schemas of the Firecrawl-compatible API. Unknown fields are ignored
// (the SDKs add origin, integration, zeroDataRetention...), unlike Gleaner's
// own routes; options Gleaner cannot honour are refused by name.
import { z } from 'zod';
import { MAX_URL_LENGTH, publicUrl } from '../schemas.js';
import { MAX_SELECTORS, selectorProblem } from '../../core/extraction/selection.js';
import { pathRegexProblem } from '../../core/pathRegex.js';


/** URLs one batch scrape may name (urls[] on /v1/extract). */
export const MAX_BATCH_URLS = 20;

export const FORMATS = ['markdown', 'html', 'rawHtml', 'links', 'screenshot', 'screenshot@fullPage'] as const;
export type Format = 'markdown' | 'html' | 'rawHtml' | 'links' | 'screenshot' | 'screenshot@fullPage';


/** A format as v1 (strings) and v2 (strings or {type, ...}) send it. */
const format = z
  .union([z.string({ error: 'must be a format name' }).max(50), z.looseObject({ type: z.string({ error: 'must be a format name' }).max(50), fullPage: z.boolean().optional() })])
  .transform((f) => (typeof f === 'string' ? f : f.type === 'screenshot' && f.fullPage === true ? 'screenshot@fullPage' : f.type));

const selector = z.string({ error: 'must be a CSS selector' }).superRefine((value, ctx) => {
  const problem = selectorProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const selectors = z.array(selector).max(MAX_SELECTORS, `at most ${MAX_SELECTORS} selectors`);

/** Header names the client may not set on the page request: the transport's own. */
const RESERVED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'accept-encoding', 'te', 'upgrade', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'trailer']);

const pageHeaders = z
  .record(z.string().max(100), z.string({ error: 'must be a string' }).max(4096, 'must be at most 4096 characters'))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 30) ctx.addIssue({ code: 'custom', message: 'at most 30 headers' });
    for (const name of names) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
      else if (RESERVED_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by Gleaner and cannot be overridden' });
      if (/[\r\n\0]/.test(headers[name] ?? '')) ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain line breaks' });
    }
  });

const millis = (max: number) => z.number({ error: 'must be a number of milliseconds' }).int('must be a whole number').min(0, 'must not be negative').max(max, `must be at most ${max}`);

/** The scrape options shared by scrape, crawl's scrapeOptions and batch scrape. */
export const scrapeOptionsShape = {
  formats: z.array(format).max(10, 'at most 10 formats').optional(),
  onlyMainContent: z.boolean({ error: 'must be true or false' }).optional(),
  includeTags: selectors.optional(),
  excludeTags: selectors.optional(),
  headers: pageHeaders.optional(),
  waitFor: millis(60_000).optional(),
  timeout: millis(300_000).min(1, 'must be positive').optional(),
  mobile: z.boolean({ error: 'must be true or false' }).optional(),
};

export function scrapeSchema(opts: { allowPrivateNetworks: boolean }) {
  return z.object({ url: publicUrl(opts.allowPrivateNetworks), ...scrapeOptionsShape });
}
export type ScrapeRequest = z.output<ReturnType<typeof scrapeSchema>>;
export type ScrapeOptions = Omit<ScrapeRequest, 'url'>;

/** A Firecrawl path pattern: a regular expression compiled by RE2 (linear time), never by RegExp. */
const pathRegex = z
  .string({ error: 'must be a regular expression' })
  .superRefine((value, ctx) => {
    const problem = pathRegexProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const webhook = z.union([
  z.string(),
  z.looseObject({ url: z.string(), headers: z.record(z.string(), z.string()).optional(), metadata: z.record(z.string(), z.unknown()).optional(), events: z.array(z.string()).optional() }),
]);

export function crawlSchema(opts: { allowPrivateNetworks: boolean; maxPages: number }) {
  return z.object({
    url: publicUrl(opts.allowPrivateNetworks),
    limit: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(opts.maxPages, `must be at most ${opts.maxPages} (Gleaner's pages per job)`).optional(),
    includePaths: z.array(pathRegex).max(20, 'at most 20 patterns').optional(),
    excludePaths: z.array(pathRegex).max(20, 'at most 20 patterns').optional(),
    maxDiscoveryDepth: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must not be negative').optional(),
    maxDepth: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must not be negative').optional(),
    sitemap: z.enum(['include', 'skip', 'only'], { error: 'must be include, skip or only' }).optional(),
    ignoreSitemap: z.boolean({ error: 'must be true or false' }).optional(),
    ignoreQueryParameters: z.boolean({ error: 'must be true or false' }).optional(),
    allowSubdomains: z.boolean({ error: 'must be true or false' }).optional(),
    allowExternalLinks: z.boolean({ error: 'must be true or false' }).optional(),
    crawlEntireDomain: z.boolean({ error: 'must be true or false' }).optional(),
    allowBackwardLinks: z.boolean({ error: 'must be true or false' }).optional(),
    // Read only to be refused by name when set (server/firecrawl/index.ts): ignored, they would change what is crawled unnoticed.
    ignoreRobotsTxt: z.boolean({ error: 'must be true or false' }).optional(),
    regexOnFullURL: z.boolean({ error: 'must be true or false' }).optional(),
    robotsUserAgent: z.string({ error: 'must be a string' }).max(500).nullable().optional(),
    prompt: z.string({ error: 'must be a string' }).max(10_000).nullable().optional(),
    delay: z.number({ error: 'must be a number of seconds' }).min(0, 'must not be negative').max(60, 'must be at most 60').optional(),
    maxConcurrency: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').optional(),
    scrapeOptions: z.object(scrapeOptionsShape).optional(),
    webhook: webhook.optional(),
  });
}
export type CrawlRequest = z.output<ReturnType<typeof crawlSchema>>;

export function batchScrapeSchema() {
  return z.object({
    // Checked one by one in the route, so ignoreInvalidURLs can leave bad ones out.
    urls: z.array(z.string({ error: 'must be a string URL' }).max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)).min(1, 'must list at least one URL').max(MAX_BATCH_URLS, `at most ${MAX_BATCH_URLS} URLs (Gleaner's pages per job)`),
    ...scrapeOptionsShape,
    maxConcurrency: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').optional(),
    ignoreInvalidURLs: z.boolean({ error: 'must be true or false' }).optional(),
    webhook: webhook.optional(),
  });
}
export type BatchScrapeRequest = z.output<ReturnType<typeof batchScrapeSchema>>;

export function mapSchema(opts: { allowPrivateNetworks: boolean }) {
  return z.object({
    url: publicUrl(opts.allowPrivateNetworks),
    search: z.string({ error: 'must be a string' }).max(500, 'must be at most 500 characters').optional(),
    sitemap: z.enum(['include', 'skip', 'only'], { error: 'must be include, skip or only' }).optional(),
    ignoreSitemap: z.boolean({ error: 'must be true or false' }).optional(),
    sitemapOnly: z.boolean({ error: 'must be true or false' }).optional(),
    includeSubdomains: z.boolean({ error: 'must be true or false' }).optional(),
    ignoreQueryParameters: z.boolean({ error: 'must be true or false' }).optional(),
    limit: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(5000, 'must be at most 5000').optional(),
    timeout: millis(300_000).min(1, 'must be positive').optional(),
  });
}
export type MapRequest = z.output<ReturnType<typeof mapSchema>>;

/** ?skip=&limit= of a status page. */
export const statusQuerySchema = z.object({
  skip: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must not be negative').max(100_000).default(0),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').optional(),
});
