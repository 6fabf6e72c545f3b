// The crawl of one job: which URLs become pages, fetched politely and
// handed to the caller one by one while later pages are still on their way.
//
// Modes (decided by the job's input):
//   - single: `singlePage: true`, or a bare `url` (no maxPages, urls or
//     patterns) → exactly that page.
//   - list: `urls[]` → exactly those URLs (normalised, de-duplicated, in the
//     given order), capped by `maxPages` only when that is given; no
//     discovery. `url` itself is not added.
//   - discover: otherwise (maxPages and/or patterns given) → breadth-first
//     from `url` over same-site links, then sitemap URLs at the depth of the
//     start page's links, up to maxPages (input, else options.maxPages).
//
// Rules that hold in every mode:
//   - Patterns decide which URLs become pages, and are checked before a URL
//     is queued, so a filtered URL never uses up maxPages. In discover mode
//     the start URL is still fetched for its links when it is filtered out,
//     but is not a page. A URL the client named (the start URL in single
//     mode, any urls[] entry) that is filtered out is a failure `filtered`,
//     so an empty result explains itself; discovered URLs are just skipped.
//   - robots.txt is honoured for every URL, named or discovered; named URLs
//     it refuses are failures (`robots_disallowed`, `robots_unavailable`),
//     discovered ones are skipped.
//   - One page per normalised URL. A redirect to a URL that is (or is being)
//     a page is a duplicate, not a page; a redirect off the site is a failure
//     `offsite_redirect`. A same-site <link rel=canonical> makes the two URLs
//     one page: the canonical URL wins when it is (or is being) fetched;
//     otherwise this page stands for it and it is never fetched. A canonical
//     pointing at the site root from another page is ignored: that is the
//     classic misconfiguration that would fold a whole site into its home
//     page. Pages whose extracted text is identical are duplicates too.
//   - Every request (robots.txt, sitemaps, pages) goes through the per-host
//     limits of hostPolicy.ts; sitemaps are read only on the start URL's
//     site (robots.txt Sitemap: lines, else /sitemap.xml).
//   - Links with an obviously non-HTML extension (.pdf, .png, …) are not
//     queued; a fetched URL that is not HTML is a failure `not_html`.
//   - One failing page never fails the crawl; only a crawl with no page at
//     all throws PipelineError `no_pages`, carrying the failures.
//   - Page fetches (failures included) are bounded by `maxFetches`, so a
//     site of broken links cannot keep a job busy.
import { createHash } from 'node:crypto';
import type { ExtractedPage } from '../../../core/extraction/index.js';
import { extractOffThread } from '../../../core/extractPool.js';
import type { JobInput } from '../../../core/jobs/index.js';
import { clientMessage, logDetail } from '../../../core/outbound/clientMessage.js';
import { OutboundError, type FetchedResponse, type OutboundClient } from '../../../core/outbound/index.js';
import { classifyError, PipelineError } from '../errors.js';
import { fetchPage, type FetchedPage } from '../fetchPage.js';
import type { StepContext } from '../types.js';
import { HostPolicy } from './hostPolicy.js';
import type { UrlFilter } from './patterns.js';
import { loadRobots, RobotsCache, type RobotsPolicy } from './robots.js';
import { DEFAULT_SITEMAP_LIMITS, readSitemaps, type SitemapLimits } from './sitemap.js';
import { crawlScope, type CrawlScope } from './scope.js';
import { cleanUrl, hasNonHtmlExtension, hostOf, sameSite } from './urls.js';

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

interface Candidate {
  key: string;
  fetchUrl: string;
  depth: number;
  /** Discovery depth (the scope's maxDiscoveryDepth): link hops from the start page or a sitemap URL, both 0. */
  hops: number;
  /** Ordering within a depth: the parent's fetch order, then the link's position. */
  parentSeq: number;
  index: number;
  /** Named by the client (start URL or urls[] entry): refusals are failures, not skips. */
  named: boolean;
  /** False for a filtered start URL, fetched only for its links. */
  asPage: boolean;
  seq: number;
}

type KeyState =
  | 'queued'
  | 'active' // being fetched
  | 'page'
  | 'alias' // stands for a page under another URL (canonical); never fetched
  | 'done' // fetched, no page (failure, duplicate, discovery only)
  | 'skipped'; // never fetched (filter, robots, extension, site, limit)

const DEFAULT_MAX_PAGES = 10;
const DEFAULT_LOOKAHEAD = 4;
const DEFAULT_MAX_CRAWL_DELAY_MS = 10_000;
const DEFAULT_MAX_QUEUE = 1000;
/** Failures carried by the no_pages error: enough to explain, small enough to store. */
const MAX_REPORTED_FAILURES = 50;
/** The start page is the first task (seq 1): sitemap URLs rank right after its own links. */
const SITEMAP_PARENT_SEQ = 1.5;

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((r) => (this.resolve = r));
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return a.depth - b.depth || a.parentSeq - b.parentSeq || a.index - b.index;
}

function isRoot(url: string): boolean {
  return new URL(url).pathname === '/';
}

function modeOf(input: CrawlInput): CrawlMode {
  if (input.singlePage === true) return 'single';
  if (input.urls !== undefined && input.urls.length > 0) return 'list';
  const patterns = (input.includePatterns?.length ?? 0) + (input.excludePatterns?.length ?? 0);
  return input.maxPages === undefined && patterns === 0 ? 'single' : 'discover';
}

function textHash(text: string): string {
  return createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('base64url');
}

class CrawlEngine {
  readonly mode: CrawlMode;
  private readonly maxPages: number;
  private readonly maxFetches: number;
  private readonly maxQueue: number;
  private readonly lookahead: number;
  private readonly filter: UrlFilter;
  private readonly scope: CrawlScope;
  private readonly controller = new AbortController();
  private readonly signal = this.controller.signal;
  private readonly hosts: HostPolicy;
  private readonly robots: RobotsCache;
  private readonly fetch: ReturnType<typeof fetchPage>;
  private readonly taskCtx: StepContext;
  private readonly sitemapLimits: SitemapLimits;

  private readonly states = new Map<string, KeyState>();
  /** For 'alias' keys: the URL of the page that stands for them. */
  private readonly aliasOf = new Map<string, string>();
  private readonly discovered = new Set<string>();
  private readonly texts = new Map<string, string>();
  private readonly queue: Candidate[] = [];
  private readonly ready: CrawledPage[] = [];
  private readonly tasks = new Set<Promise<void>>();
  private readonly startLinksQueued = new Deferred();

  private seq = 0;
  private active = 0;
  /** Active tasks that would become a page (count toward maxPages). */
  private activeCountable = 0;
  private fetches = 0;
  private pendingDiscovery = 0;
  private finished = false;
  private fatal: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private lastProgress = '';
  private anyRetryable = false;

  readonly result: CrawlResult;

  constructor(
    private readonly input: CrawlInput,
    options: CrawlOptions,
    private readonly deps: CrawlDeps,
    private readonly ctx: StepContext,
  ) {
    this.mode = modeOf(input);
    this.maxPages = Math.max(
      1,
      this.mode === 'single' ? 1 : this.mode === 'list' ? Math.min(input.maxPages ?? Infinity, input.urls?.length ?? 1) : (input.maxPages ?? options.maxPages ?? DEFAULT_MAX_PAGES),
    );
    this.maxFetches = options.maxFetches ?? this.maxPages * 3 + 5;
    this.maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.scope = crawlScope(input, {
      onBudgetSpent: () => ctx.logger.warn('include/exclude patterns spent their matching budget; further discovered URLs are skipped', { jobId: ctx.jobId }),
    });
    // The crawl's own maxConcurrency and delay narrow the configured limits, never widen them.
    this.lookahead = Math.max(1, Math.min(options.lookahead ?? DEFAULT_LOOKAHEAD, this.scope.maxConcurrency ?? Infinity));
    this.filter = this.scope.filter;
    this.hosts = new HostPolicy({
      concurrency: Math.max(1, Math.min(options.hostConcurrency, this.scope.maxConcurrency ?? Infinity)),
      delayMs: Math.max(0, options.hostDelayMs, this.scope.delayMs ?? 0),
    });
    const robotsOpts = { userAgent: options.robotsUserAgent, maxCrawlDelayMs: options.maxCrawlDelayMs ?? DEFAULT_MAX_CRAWL_DELAY_MS };
    this.robots = new RobotsCache(async (origin) => {
      // robots.txt is read before any page of its origin and does not start the politeness clock:
      // a one-page job is not slowed by the delay, and every later request is spaced as configured.
      const policy = await loadRobots(origin, (url) => this.deps.client.fetch(url, { signal: this.signal }), robotsOpts, this.signal);
      if (policy.crawlDelayMs !== undefined) this.hosts.setMinDelay(hostOf(origin), policy.crawlDelayMs);
      if (policy.status !== 'parsed') this.ctx.logger.debug('robots.txt', { origin, status: policy.status, problem: policy.problem });
      const detail = policy.unreachable && logDetail(policy.unreachable); // e.g. the internal address the host resolved to: the log's, not the client's
      if (detail) this.ctx.logger.warn('robots.txt fetch refused', { origin, code: policy.unreachable!.code, detail });
      return policy;
    });
    this.fetch = fetchPage(deps.client);
    this.taskCtx = { ...ctx, signal: this.signal };
    this.sitemapLimits = { ...DEFAULT_SITEMAP_LIMITS, ...options.sitemapLimits };
    this.result = {
      mode: this.mode,
      pages: [],
      failures: [],
      duplicates: [],
      urlsDiscovered: 0,
      skipped: { filtered: 0, robots: 0, nonHtml: 0, offsite: 0, overLimit: 0 },
      sitemapUrls: 0,
      fetches: 0,
    };
  }

  // ---------------------------------------------------------------------------
  // Consumer side

  async *pages(): AsyncGenerator<CrawledPage, void, undefined> {
    const outer = this.ctx.signal;
    const onAbort = () => this.fail(outer.reason);
    if (outer.aborted) throw outer.reason;
    outer.addEventListener('abort', onAbort, { once: true });
    try {
      this.seed();
      this.pump();
      for (;;) {
        if (this.fatal) throw this.fatal.error;
        const next = this.ready.shift();
        if (next !== undefined) {
          this.pump(); // a buffer slot just freed: keep fetching while the consumer works
          yield next;
          continue;
        }
        if (this.finished) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      outer.removeEventListener('abort', onAbort);
      await this.stop();
    }
    this.reportProgress(true);
    const pages = this.result.pages.length;
    this.ctx.logger.info('crawl finished', {
      mode: this.mode,
      pages,
      failures: this.result.failures.length,
      duplicates: this.result.duplicates.length,
      urlsDiscovered: this.result.urlsDiscovered,
      fetches: this.result.fetches,
    });
    if (pages === 0) throw this.noPagesError();
  }

  private noPagesError(): PipelineError {
    const { failures } = this.result;
    // One page asked for and it failed: the page's own reason is the job's error (upstream_status, too_complex, …).
    const only = failures[0];
    if (this.mode === 'single' && failures.length === 1 && only) {
      const { url, reason, message, ...rest } = only;
      return new PipelineError(reason, message, this.anyRetryable, { url, ...rest });
    }
    const counts = new Map<string, number>();
    for (const f of failures) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
    const why = [...counts].map(([reason, n]) => (n > 1 ? `${reason} ×${n}` : reason)).join(', ');
    const { filtered, robots } = this.result.skipped;
    const message =
      failures.length > 0
        ? `no page could be crawled from ${this.input.url}: ${why}`
        : `no page to crawl was found from ${this.input.url} (${filtered} URLs excluded by the patterns, ${robots} disallowed by robots.txt)`;
    return new PipelineError('no_pages', message, this.anyRetryable, {
      url: this.input.url,
      failures: failures.slice(0, MAX_REPORTED_FAILURES),
      urlsDiscovered: this.result.urlsDiscovered,
    });
  }

  /** Abort whatever is still running and wait for it to settle. */
  private async stop(): Promise<void> {
    this.finished = true;
    if (!this.signal.aborted) this.controller.abort(new Error('crawl finished'));
    this.startLinksQueued.resolve(); // sitemap reading may wait for a start page that never ran
    this.hosts.dispose();
    await Promise.allSettled([...this.tasks]);
  }

  private fail(error: unknown): void {
    this.fatal ??= { error };
    if (!this.signal.aborted) this.controller.abort(error);
    this.wake?.();
  }

  // ---------------------------------------------------------------------------
  // Frontier

  private seed(): void {
    const { input } = this;
    if (this.mode === 'list') {
      for (const [i, raw] of (input.urls ?? []).entries()) this.seedNamed(raw, i);
      this.startLinksQueued.resolve();
      return;
    }
    if (this.mode === 'single') {
      this.seedNamed(input.url, 0);
      this.startLinksQueued.resolve();
      return;
    }
    // Discover: the start URL is fetched even when filtered out, for its links.
    const fetchUrl = cleanUrl(input.url);
    const key = fetchUrl === null ? null : this.scope.key(fetchUrl);
    if (fetchUrl === null || key === null) {
      this.addFailure(input.url, 'invalid_url', 'not a valid http(s) URL', false);
      this.startLinksQueued.resolve();
    } else {
      this.discover(key);
      this.push({ key, fetchUrl, depth: 0, hops: 0, parentSeq: 0, index: 0, named: true, asPage: this.filter(fetchUrl), seq: 0 });
    }
    if (this.scope.readSitemaps) this.startSitemapDiscovery();
  }

  private seedNamed(raw: string, index: number): void {
    const fetchUrl = cleanUrl(raw);
    const key = fetchUrl === null ? null : this.scope.key(fetchUrl);
    if (fetchUrl === null || key === null) {
      this.addFailure(raw, 'invalid_url', 'not a valid http(s) URL', false);
      return;
    }
    if (this.states.has(key)) return; // listed twice
    this.discover(key);
    if (!this.filter(fetchUrl)) {
      this.states.set(key, 'skipped');
      this.addFailure(key, 'filtered', 'excluded by the crawl patterns', false);
      return;
    }
    this.push({ key, fetchUrl, depth: 0, hops: 0, parentSeq: 0, index, named: true, asPage: true, seq: 0 });
  }

  private push(c: Candidate): void {
    this.states.set(c.key, 'queued');
    // Binary insert keeps the queue in breadth-first order even when pages finish out of order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareCandidates(this.queue[mid]!, c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, c);
  }

  private discover(key: string): void {
    if (!this.discovered.has(key)) {
      this.discovered.add(key);
      this.result.urlsDiscovered = this.discovered.size;
    }
  }

  /** Queue discovered links (or sitemap URLs) that may become pages. */
  private enqueueLinks(urls: readonly string[], depth: number, parentSeq: number, hops: number): void {
    if (!this.scope.withinDepth(hops)) return;
    urls.forEach((raw, index) => {
      const fetchUrl = cleanUrl(raw);
      const key = fetchUrl === null ? null : this.scope.key(fetchUrl);
      if (fetchUrl === null || key === null || this.states.has(key)) return;
      const skip = (why: keyof CrawlResult['skipped']) => {
        this.states.set(key, 'skipped');
        this.result.skipped[why]++;
      };
      if (!this.scope.inScope(fetchUrl)) return skip('offsite');
      if (hasNonHtmlExtension(fetchUrl)) return skip('nonHtml');
      this.discover(key);
      if (!this.filter(fetchUrl)) return skip('filtered');
      if (this.queue.length >= this.maxQueue) return skip('overLimit');
      this.push({ key, fetchUrl, depth, hops, parentSeq, index, named: false, asPage: true, seq: 0 });
    });
  }

  private startSitemapDiscovery(): void {
    const start = cleanUrl(this.input.url);
    if (start === null) return;
    this.pendingDiscovery++;
    const task = (async () => {
      const policy = await this.robots.forUrl(start);
      if (policy.status === 'unavailable') return;
      const declared = new Set(policy.sitemaps);
      const roots = policy.sitemaps.filter((u) => sameSite(u, start));
      // /sitemap.xml is only guessed when robots.txt names none.
      if (policy.sitemaps.length === 0) roots.push(new URL('/sitemap.xml', start).href);
      const found = await readSitemaps(
        roots,
        (url) => this.politeGet(url),
        async (url) => sameSite(url, start) && (declared.has(url) || (await this.robots.forUrl(url)).isAllowed(url)),
        this.sitemapLimits,
        this.signal,
      );
      for (const p of found.problems) this.ctx.logger.debug('sitemap skipped', p);
      this.result.sitemapUrls = found.urls.length;
      // Sitemap URLs rank after the start page's own links: navigation tells what the site considers important.
      await this.startLinksQueued.promise;
      if (this.signal.aborted) return;
      this.enqueueLinks(found.urls, 1, SITEMAP_PARENT_SEQ, 0);
    })()
      .catch((err: unknown) => {
        if (!this.signal.aborted) this.ctx.logger.warn('sitemap discovery failed', { error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => {
        this.pendingDiscovery--;
        this.tasks.delete(task);
        this.pump();
      });
    this.tasks.add(task);
  }

  // ---------------------------------------------------------------------------
  // Scheduling

  /** Start as many fetches as the limits allow; finish when nothing is left. */
  private pump(): void {
    if (this.finished || this.fatal) return;
    while (this.ready.length + this.active < this.lookahead && this.fetches + this.active < this.maxFetches) {
      const head = this.queue[0];
      if (head === undefined) break;
      if (this.states.get(head.key) !== 'queued') {
        this.queue.shift(); // claimed meanwhile by a redirect or a canonical link
        continue;
      }
      if (head.asPage && this.result.pages.length + this.activeCountable >= this.maxPages) break;
      this.queue.shift();
      this.startTask(head);
    }
    this.reportProgress(false);
    const full = this.result.pages.length >= this.maxPages;
    const budgetSpent = this.fetches >= this.maxFetches;
    const nothingQueued = !this.queue.some((c) => this.states.get(c.key) === 'queued');
    if (this.active === 0 && (full || budgetSpent || (nothingQueued && this.pendingDiscovery === 0))) {
      this.finished = true;
      // Sitemap reading may still be running when the page limit is reached.
      if (!this.signal.aborted) this.controller.abort(new Error('crawl finished'));
      this.wake?.();
    }
  }

  private startTask(c: Candidate): void {
    c.seq = ++this.seq;
    this.states.set(c.key, 'active');
    this.active++;
    if (c.asPage) this.activeCountable++;
    const slot = { countable: c.asPage };
    const task = this.process(c, slot)
      .catch((err: unknown) => {
        if (this.signal.aborted) return;
        // Not the page's fault: keep the details in the log, and go on with the crawl.
        this.ctx.logger.error('crawl task failed', { url: c.fetchUrl, error: err instanceof Error ? err.stack : String(err) });
        this.states.set(c.key, 'done');
        this.recordError(c, err);
      })
      .finally(() => {
        this.active--;
        if (slot.countable) this.activeCountable--;
        if (c.depth === 0 && this.mode === 'discover') this.startLinksQueued.resolve();
        this.tasks.delete(task);
        this.pump();
        this.wake?.();
      });
    this.tasks.add(task);
  }

  // ---------------------------------------------------------------------------
  // One URL

  /** GET through the host's politeness limits (robots.txt, sitemaps). */
  private politeGet(url: string): Promise<FetchedResponse> {
    return this.hosts.run(hostOf(url), this.signal, () => this.deps.client.fetch(url, { signal: this.signal }));
  }

  private async process(c: Candidate, slot: { countable: boolean }): Promise<void> {
    const policy = await this.robots.forUrl(c.fetchUrl);
    if (!this.allowedByRobots(c, c.key, c.fetchUrl, policy)) return;

    // Counted when the request is about to go out, so robots refusals cost nothing.
    if (this.fetches >= this.maxFetches) {
      this.states.set(c.key, 'skipped');
      this.result.skipped.overLimit++;
      return;
    }
    this.fetches++;
    this.result.fetches = this.fetches;

    let page: FetchedPage;
    try {
      page = await this.hosts.run(hostOf(c.fetchUrl), this.signal, () => this.fetch(c.fetchUrl, this.taskCtx));
    } catch (err) {
      if (this.signal.aborted) throw err;
      this.states.set(c.key, 'done');
      this.recordError(c, err);
      return;
    }

    // Where the page really is, after redirects.
    const finalKey = this.scope.key(page.url) ?? c.key;
    let asPage = c.asPage;
    if (finalKey !== c.key) {
      // A URL the client named may redirect anywhere the address guard allows (http → https://www, a moved page);
      // a discovered link that leaves the site is not followed.
      if (!c.named && !this.scope.inScope(page.url)) {
        this.states.set(c.key, 'done');
        this.addFailure(c.key, 'offsite_redirect', `redirected to ${page.url}, which is on another site`, false);
        return;
      }
      this.discover(finalKey);
      const state = this.states.get(finalKey);
      if (state === 'page' || state === 'active' || state === 'alias') {
        this.states.set(c.key, 'done');
        this.addDuplicate(c.key, state === 'alias' ? this.aliasOf.get(finalKey)! : finalKey, 'redirect');
        return;
      }
      this.states.set(finalKey, 'active'); // a queued entry for it is dropped by pump()
      if (!this.allowedByRobots(c, finalKey, page.url, await this.robots.forUrl(page.url))) {
        this.states.set(c.key, 'done');
        return;
      }
      if (!this.filter(page.url)) {
        if (asPage && c.named) this.addFailure(c.key, 'filtered', `redirected to ${finalKey}, which the crawl patterns exclude`, false);
        else if (asPage) this.result.skipped.filtered++;
        asPage = false;
      }
    }

    let content: ExtractedPage;
    try {
      // On a pool thread with time and heap limits: a hostile page fails itself (too_complex), never stalls this worker's heartbeats and claims.
      content = await extractOffThread(page.html, page.url);
    } catch (err) {
      this.states.set(c.key, 'done');
      this.states.set(finalKey, 'done');
      this.recordError(c, err);
      return;
    }

    if (this.mode === 'discover') {
      if (this.scope.followLinks) this.enqueueLinks(content.links, c.depth + 1, c.seq, c.hops + 1);
      if (c.depth === 0) this.startLinksQueued.resolve();
    }

    const noPage = () => {
      this.states.set(c.key, 'done');
      this.states.set(finalKey, 'done');
    };
    if (!asPage) return noPage();
    if (!content.text.trim()) {
      noPage();
      this.addFailure(finalKey, 'empty_content', `no text content found at ${page.url}`, false);
      return;
    }

    // Another page's canonical link may have claimed this URL while it was being fetched.
    for (const key of [c.key, finalKey]) {
      if (this.states.get(key) === 'alias') {
        noPage();
        this.addDuplicate(finalKey, this.aliasOf.get(key)!, 'canonical');
        return;
      }
    }

    const canonical = content.canonicalUrl === null ? null : this.scope.key(content.canonicalUrl);
    if (canonical !== null && canonical !== finalKey && sameSite(canonical, page.url) && !(isRoot(canonical) && !isRoot(finalKey))) {
      this.discover(canonical);
      const state = this.states.get(canonical);
      // Already a page, or about to be one: the canonical URL wins.
      if (state === 'page' || state === 'alias' || state === 'active') {
        noPage();
        this.addDuplicate(finalKey, state === 'alias' ? this.aliasOf.get(canonical)! : canonical, 'canonical');
        return;
      }
      // Not fetched yet: this page stands for it, and it is not fetched at all.
      this.states.set(canonical, 'alias');
      this.aliasOf.set(canonical, finalKey);
    }

    const hash = textHash(content.text);
    const sameText = this.texts.get(hash);
    if (sameText !== undefined) {
      noPage();
      this.addDuplicate(finalKey, sameText, 'content');
      return;
    }
    this.texts.set(hash, finalKey);

    this.states.set(c.key, 'page');
    this.states.set(finalKey, 'page');
    const crawled: CrawledPage = { url: finalKey, page, content, depth: c.depth };
    this.result.pages.push(crawled);
    // The slot turns into a page: it keeps counting toward maxPages through pages.length.
    slot.countable = false;
    this.activeCountable--;
    this.ready.push(crawled);
    this.ctx.logger.debug('crawled page', { url: finalKey, depth: c.depth, bytes: page.bytes });
    this.reportProgress(false);
    this.wake?.();
  }

  private allowedByRobots(c: Candidate, key: string, url: string, policy: RobotsPolicy): boolean {
    if (policy.status === 'unavailable') {
      this.states.set(key, 'done');
      if (policy.unreachable) {
        const { error, retryable } = classifyError(policy.unreachable);
        this.addFailure(key, error.code, error.message, retryable);
      } else {
        this.addFailure(key, 'robots_unavailable', `not crawled: ${policy.problem ?? 'robots.txt is unavailable'}`, true);
      }
      return false;
    }
    if (policy.isAllowed(url)) return true;
    this.states.set(key, 'skipped');
    if (c.named) this.addFailure(key, 'robots_disallowed', `robots.txt disallows ${url}`, false);
    else this.result.skipped.robots++;
    return false;
  }

  // ---------------------------------------------------------------------------
  // Bookkeeping

  private recordError(c: Candidate, err: unknown): void {
    const detail = logDetail(err); // e.g. the internal address a refused host resolved to: the log's, not the client's
    if (detail) this.ctx.logger.warn('page fetch refused', { url: c.key, code: (err as OutboundError).code, detail });
    // The client follows redirects itself; a failure on a hop off the site is about leaving the site.
    if (!c.named && err instanceof OutboundError && err.url !== c.fetchUrl && !sameSite(err.url, c.fetchUrl)) {
      this.addFailure(c.key, 'offsite_redirect', `redirected off the site to ${err.url} (${clientMessage(err)})`, false);
      return;
    }
    if (err instanceof OutboundError && err.code === 'unsupported_content_type') {
      this.addFailure(c.key, 'not_html', err.message, false);
      return;
    }
    const { error, retryable } = classifyError(err);
    this.addFailure(c.key, error.code, error.message, retryable, typeof error['status'] === 'number' ? error['status'] : undefined);
  }

  private addFailure(url: string, reason: string, message: string, retryable: boolean, status?: number): void {
    const failure: CrawlFailure = { url, reason, message };
    if (status !== undefined) failure.status = status;
    this.result.failures.push(failure);
    if (retryable) this.anyRetryable = true;
    this.ctx.logger.debug('crawl failure', { ...failure });
  }

  private addDuplicate(url: string, duplicateOf: string, via: CrawlDuplicate['via']): void {
    this.result.duplicates.push({ url, duplicateOf, via });
    this.ctx.logger.debug('duplicate page', { url, duplicateOf, via });
  }

  /** Tell the job how far along it is, when that changed: pages so far, and the best guess at the total. */
  private reportProgress(final: boolean): void {
    const pagesScraped = this.result.pages.length;
    let totalPages = pagesScraped;
    if (!final) {
      let queued = 0;
      for (const c of this.queue) if (c.asPage && this.states.get(c.key) === 'queued') queued++;
      totalPages = Math.max(pagesScraped, Math.min(this.maxPages, pagesScraped + this.activeCountable + queued), 1);
    }
    const key = `${pagesScraped}/${totalPages}`;
    if (key === this.lastProgress) return;
    this.lastProgress = key;
    this.ctx.progress({ currentStep: 'crawl', pagesScraped, totalPages });
  }
}

/**
 * Crawl per the job's input. Iterate `pages` (or the crawl itself) to get
 * pages as they are scraped: at most `lookahead` are fetched or waiting
 * ahead of the consumer. Iteration throws PipelineError `no_pages` when no
 * page succeeded, and the abort reason when `ctx.signal` aborts; breaking
 * out of the loop stops the crawl. `summary` settles when iteration ends,
 * with the result or the same error (nothing starts until iteration does).
 */
export function crawlSite(input: CrawlInput, options: CrawlOptions, deps: CrawlDeps, ctx: StepContext): Crawl {
  let started = false;
  let settle!: { resolve(r: CrawlResult): void; reject(e: unknown): void };
  const summary = new Promise<CrawlResult>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that only iterates must not get an unhandled rejection from here.
  summary.catch(() => {});
  const pages: AsyncIterable<CrawledPage> = {
    async *[Symbol.asyncIterator]() {
      if (started) throw new Error('a crawl can be iterated only once');
      started = true;
      const engine = new CrawlEngine(input, options, deps, ctx);
      try {
        yield* engine.pages();
        settle.resolve(engine.result);
      } catch (err) {
        settle.reject(err);
        throw err;
      } finally {
        // Stopped early by the consumer: the summary is what was done so far.
        settle.resolve(engine.result);
      }
    },
  };
  return { pages, summary, [Symbol.asyncIterator]: () => pages[Symbol.asyncIterator]() };
}

/** Crawl to the end, handing each page to `onPage` (awaited, so it paces the crawl); resolves with the summary. */
export async function runCrawl(
  input: CrawlInput,
  options: CrawlOptions,
  deps: CrawlDeps,
  ctx: StepContext,
  onPage: (page: CrawledPage) => void | Promise<void> = () => {},
): Promise<CrawlResult> {
  const crawl = crawlSite(input, options, deps, ctx);
  for await (const page of crawl.pages) await onPage(page);
  return crawl.summary;
}
