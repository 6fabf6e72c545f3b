// Whether a crawl discovers pages at all, and which URLs it finds may be
// queued, the same on both crawl paths: links and sitemap URLs within the
// crawl's scope, without an obviously non-HTML extension, within its
// patterns; and where the start site's sitemaps are.
import type { RobotsPolicy } from './robots.js';
import { readSitemaps, type SitemapFetch, type SitemapLimits, type SitemapResult } from './sitemap.js';
import type { CrawlScope } from './scope.js';
import type { CrawlInput, CrawlMode } from './types.js';
import { cleanUrl, hasNonHtmlExtension, sameSite } from './urls.js';

/**
 * single: `singlePage`, or a bare `url` (no maxPages, urls or patterns);
 * list: exactly the `urls` given; discover: from `url` over links and
 * sitemaps (maxPages and/or patterns given).
 */
export function crawlMode(input: Pick<CrawlInput, 'singlePage' | 'urls' | 'maxPages' | 'includePatterns' | 'excludePatterns'>): CrawlMode {
  if (input.singlePage === true) return 'single';
  if (input.urls !== undefined && input.urls.length > 0) return 'list';
  const patterns = (input.includePatterns?.length ?? 0) + (input.excludePatterns?.length ?? 0);
  return input.maxPages === undefined && patterns === 0 ? 'single' : 'discover';
}

/** A URL as the crawl fetches it, and its de-duplication key; null for no usable http(s) URL. */
export function keyedUrl(scope: Pick<CrawlScope, 'key'>, raw: string): { url: string; key: string } | null {
  const url = cleanUrl(raw);
  const key = url === null ? null : scope.key(url);
  return url === null || key === null ? null : { url, key };
}

/** Why a found URL is not queued (checked in this order; the patterns, which spend a matching budget, last), or null. */
export function linkSkip(scope: Pick<CrawlScope, 'inScope' | 'filter'>, url: string): 'offsite' | 'nonHtml' | 'filtered' | null {
  if (!scope.inScope(url)) return 'offsite';
  if (hasNonHtmlExtension(url)) return 'nonHtml';
  return scope.filter(url) ? null : 'filtered';
}

/**
 * The start site's sitemaps: robots.txt Sitemap: lines on the start URL's
 * site, else a guessed /sitemap.xml. A sitemap robots.txt names is read;
 * any other (an index's children, the guess) only where robots.txt allows it.
 */
export function readStartSitemaps(
  start: string,
  policy: RobotsPolicy,
  fetch: SitemapFetch,
  robotsFor: (url: string) => Promise<RobotsPolicy>,
  limits: SitemapLimits,
  signal: AbortSignal,
): Promise<SitemapResult> {
  const declared = new Set(policy.sitemaps);
  const roots = policy.sitemaps.filter((u) => sameSite(u, start));
  // /sitemap.xml is only guessed when robots.txt names none.
  if (policy.sitemaps.length === 0) roots.push(new URL('/sitemap.xml', start).href);
  return readSitemaps(roots, fetch, async (url) => sameSite(url, start) && (declared.has(url) || (await robotsFor(url)).isAllowed(url)), limits, signal);
}
