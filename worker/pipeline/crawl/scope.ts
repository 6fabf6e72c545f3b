// A crawl's scope: which discovered URLs it may follow and how they are told
// apart, read from the job's input once and used by both crawl paths (the
// one-worker crawler and page tasks). Gleaner's defaults are its own crawl:
// the start URL's site, links and sitemaps, queries kept. The Firecrawl API
// sets the rest (server/firecrawl): allowSubdomains, allowExternalLinks,
// sitemap skip|only, ignoreQueryParameters, maxDiscoveryDepth, v1's maxDepth
// (maxPathDepth), delay, maxConcurrency.
import type { JobInput } from '../../../core/jobs/index.js';
import { createPathRegexFilter } from '../../../core/pathRegex.js';
import { createUrlFilter, type UrlFilter, type UrlFilterOptions } from './patterns.js';
import { normalizeUrl, pathDepth, sameSite, siteOf } from './urls.js';

type ScopeInput = Pick<JobInput, 'url' | 'includePatterns' | 'excludePatterns' | 'includePathRegexes' | 'excludePathRegexes' | 'scope'>;

export interface CrawlScope {
  /** The crawl's patterns: include/exclude globs and path regexes (an exclude wins), and the path depth (maxPathDepth). */
  filter: UrlFilter;
  /** Whether a discovered URL's host is one the crawl may go to: the start URL's site, its subdomains, or (allowExternalLinks) any. */
  inScope(url: string): boolean;
  /** The de-duplication key of a URL (normalizeUrl; without the query under ignoreQueryParameters); null for no usable URL. */
  key(url: string): string | null;
  /** Links on pages are followed (not with sitemap: only). */
  followLinks: boolean;
  /** The start site's sitemaps are read (not with sitemap: skip). */
  readSitemaps: boolean;
  /** Whether a URL found `hops` links away from the start page or a sitemap URL (both 0) may be queued. */
  withinDepth(hops: number): boolean;
  /** The crawl's own pause between requests to one host, at least the configured one (ms). */
  delayMs: number | undefined;
  /** The crawl's own cap on pages fetched at once. */
  maxConcurrency: number | undefined;
}

/** Hosts under the start URL's site (x.com → blog.x.com, a.b.x.com; www. is the site itself), on the same port. */
function underSite(url: string, start: string): boolean {
  const site = siteOf(start);
  const host = siteOf(url);
  if (site === null || host === null) return false;
  const [siteHost, sitePort = ''] = site.split(/:(?=\d+$)/);
  const [urlHost, urlPort = ''] = host.split(/:(?=\d+$)/);
  return sitePort === urlPort && (urlHost === siteHost || urlHost!.endsWith(`.${siteHost}`));
}

export function crawlScope(input: ScopeInput, opts: UrlFilterOptions = {}): CrawlScope {
  const scope = input.scope ?? {};
  const globs = createUrlFilter(input.includePatterns, input.excludePatterns, opts);
  const regexes = createPathRegexFilter(input.includePathRegexes, input.excludePathRegexes);
  const hosts = scope.hosts ?? 'site';
  const start = input.url;
  const maxHops = scope.maxDiscoveryDepth;
  const maxPath = scope.maxPathDepth;
  const shallow = (url: string) => maxPath === undefined || (pathDepth(url) ?? Infinity) <= maxPath;
  return {
    filter: (url) => globs(url) && regexes(url) && shallow(url),
    inScope: (url) => (hosts === 'any' ? siteOf(url) !== null : hosts === 'subdomains' ? underSite(url, start) : sameSite(url, start)),
    key: (url) => {
      const key = normalizeUrl(url);
      if (key === null || scope.ignoreQueryParameters !== true) return key;
      const q = key.indexOf('?');
      return q < 0 ? key : key.slice(0, q);
    },
    followLinks: scope.sitemap !== 'only',
    readSitemaps: scope.sitemap !== 'skip',
    withinDepth: (hops) => maxHops === undefined || hops <= maxHops,
    delayMs: scope.delayMs,
    maxConcurrency: scope.maxConcurrency,
  };
}


