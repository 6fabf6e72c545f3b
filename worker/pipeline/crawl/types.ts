// The one-worker crawl's input, options and result (crawler.ts runs it).
import type { HostSlots } from '../../../core/crawlTasks/hosts.js';
import type { ExtractedPage } from '../../../core/extraction/index.js';
import type { JobInput } from '../../../core/jobs/index.js';
import type { OutboundClient } from '../../../core/outbound/index.js';
import type { FetchedPage } from '../fetchPage.js';
import type { SitemapLimits } from './sitemap.js';

/** The crawl fields of a job's input. */
export type CrawlInput = Pick<JobInput, 'url' | 'urls' | 'maxPages' | 'singlePage' | 'includePatterns' | 'excludePatterns' | 'includePathRegexes' | 'excludePathRegexes' | 'scope'>;

export interface CrawlOptions {
  /** Pages in discover mode when the input gives no maxPages (default 10). */
  maxPages?: number | undefined;
  robotsUserAgent: string;
  /** Requests in flight to one host. */
  hostConcurrency: number;
  /** Pause between two request starts to one host (robots.txt Crawl-delay may raise it). */
  hostDelayMs: number;
  /** Pages being fetched plus pages waiting for the consumer (default 4). */
  lookahead?: number;
  /** Cap on a robots.txt Crawl-delay (default 10 s). */
  maxCrawlDelayMs?: number;
  /** Page fetches in all, failures included (default 3 × maxPages + 5). */
  maxFetches?: number;
  /** URLs waiting to be fetched; later ones are dropped (default 1000). */
  maxQueue?: number;
  sitemapLimits?: Partial<SitemapLimits>;
}

export interface CrawlDeps {
  client: OutboundClient;
  /** The host limits shared by every worker and job (a worker's crawl); unset: this crawl's own limits only. */
  hosts?: HostSlots | undefined;
}

export type CrawlMode = 'single' | 'list' | 'discover';

export interface CrawledPage {
  /** Normalised URL of the page (after redirects). */
  url: string;
  page: FetchedPage;
  content: ExtractedPage;
  /** Link distance from the start URL (0 for named URLs; sitemap URLs count as 1). */
  depth: number;
}

export interface CrawlFailure {
  url: string;
  /** Short code: upstream_status, timeout, not_html, robots_disallowed, offsite_redirect, … */
  reason: string;
  message: string;
  status?: number;
}

export interface CrawlDuplicate {
  /** The URL that was not made a page (normalised). */
  url: string;
  /** The page (or canonical URL) it is the same as. */
  duplicateOf: string;
  via: 'redirect' | 'canonical' | 'content';
}

export interface CrawlResult {
  mode: CrawlMode;
  pages: CrawledPage[];
  failures: CrawlFailure[];
  duplicates: CrawlDuplicate[];
  /** Distinct same-site candidate URLs seen (start, links, sitemaps, redirects, canonicals), normalised, before filters and robots. */
  urlsDiscovered: number;
  /** Distinct discovered URLs not fetched, by why. */
  skipped: { filtered: number; robots: number; nonHtml: number; offsite: number; overLimit: number };
  /** Page URLs read from sitemaps. */
  sitemapUrls: number;
  /** Page fetches made (robots.txt and sitemaps not included). */
  fetches: number;
}

export interface Crawl extends AsyncIterable<CrawledPage> {
  /** The pages, as they are scraped (the same iteration as the crawl itself; once only). */
  pages: AsyncIterable<CrawledPage>;
  /** Settles when iteration ends: the result, or the error iteration threw. */
  summary: Promise<CrawlResult>;
}
