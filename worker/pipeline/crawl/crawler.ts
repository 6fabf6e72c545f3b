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
//     limits of hostPolicy.ts (this crawl's own), then, in a worker, holds a
//     slot of the host limits every worker and job shares (deps.hosts,
//     core/crawlTasks/hosts.ts); sitemaps are read only on the start URL's
//     site (robots.txt Sitemap: lines, else /sitemap.xml).
//   - Links with an obviously non-HTML extension (.pdf, .png, …) are not
//     queued; a fetched URL that is not HTML is a failure `not_html`.
//   - One failing page never fails the crawl; only a crawl with no page at
//     all throws PipelineError `no_pages`, carrying the failures.
//   - Page fetches (failures included) are bounded by `maxFetches`, so a
//     site of broken links cannot keep a job busy.
//
// Its parts: frontier.ts (the URLs met and the queue), discovery.ts (which
// found URLs may be queued), samePage.ts (when two URLs are one page),
// refusals.ts (why a URL is not a page), crawlLedger.ts (the result, progress
// and the no_pages error). Page tasks (pageTasks.ts) share the rules.
import type { SlotKind } from '../../../core/crawlTasks/hosts.js';
import { busyHostPauseMs } from '../../../core/crawlTasks/retryAfter.js';
import type { ExtractedPage } from '../../../core/extraction/index.js';
import { extractOffThread } from '../../../core/extractPool.js';
import { logDetail } from '../../../core/outbound/clientMessage.js';
import type { FetchedResponse } from '../../../core/outbound/index.js';
import { classifyError } from '../errors.js';
import { fetchPage, type FetchedPage } from '../fetchPage.js';
import type { StepContext } from '../types.js';
import { CrawlLedger } from './crawlLedger.js';
import { crawlMode, readStartSitemaps } from './discovery.js';
import { Frontier, type Candidate } from './frontier.js';
import { HostPolicy } from './hostPolicy.js';
import { emptyContent, offsiteRedirect, robotsDisallowed, robotsUnavailable } from './refusals.js';
import { loadStoredRobots, RobotsCache, type RobotsPolicy } from './robots.js';
import { textHash } from '../../../core/page/textHash.js';
import { canonicalKey } from './samePage.js';
import { DEFAULT_SITEMAP_LIMITS, type SitemapLimits } from './sitemap.js';
import { crawlScope, type CrawlScope } from './scope.js';
import type { Crawl, CrawlDeps, CrawledPage, CrawlInput, CrawlMode, CrawlOptions, CrawlResult } from './types.js';
import { cleanUrl, hostOf } from './urls.js';

export type { Crawl, CrawlDeps, CrawlDuplicate, CrawledPage, CrawlFailure, CrawlInput, CrawlMode, CrawlOptions, CrawlResult } from './types.js';

const DEFAULT_MAX_PAGES = 10;
const DEFAULT_LOOKAHEAD = 4;
const DEFAULT_MAX_CRAWL_DELAY_MS = 10_000;
const DEFAULT_MAX_QUEUE = 1000;
/** The start page is the first task (seq 1): sitemap URLs rank right after its own links. */
const SITEMAP_PARENT_SEQ = 1.5;

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((r) => (this.resolve = r));
}

class CrawlEngine {
  readonly mode: CrawlMode;
  private readonly maxPages: number;
  private readonly maxFetches: number;
  private readonly lookahead: number;
  private readonly scope: CrawlScope;
  private readonly controller = new AbortController();
  private readonly signal = this.controller.signal;
  private readonly hosts: HostPolicy;
  private readonly robots: RobotsCache;
  private readonly fetch: ReturnType<typeof fetchPage>;
  private readonly taskCtx: StepContext;
  private readonly sitemapLimits: SitemapLimits;
  readonly ledger: CrawlLedger;
  readonly result: CrawlResult;
  private readonly frontier: Frontier;

  /** Text hash → the page with that text. */
  private readonly texts = new Map<string, string>();
  private readonly ready: CrawledPage[] = [];
  private readonly tasks = new Set<Promise<void>>();
  private readonly startLinksQueued = new Deferred();

  private seq = 0;
  private active = 0;
  /** Active tasks that would become a page (count toward maxPages). */
  private activeCountable = 0;
  private pendingDiscovery = 0;
  private finished = false;
  private fatal: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly input: CrawlInput,
    options: CrawlOptions,
    private readonly deps: CrawlDeps,
    private readonly ctx: StepContext,
  ) {
    this.mode = crawlMode(input);
    this.maxPages = Math.max(
      1,
      this.mode === 'single' ? 1 : this.mode === 'list' ? Math.min(input.maxPages ?? Infinity, input.urls?.length ?? 1) : (input.maxPages ?? options.maxPages ?? DEFAULT_MAX_PAGES),
    );
    this.maxFetches = options.maxFetches ?? this.maxPages * 3 + 5;
    this.scope = crawlScope(input, {
      onBudgetSpent: () => ctx.logger.warn('include/exclude patterns spent their matching budget; further discovered URLs are skipped', { jobId: ctx.jobId }),
    });
    // The crawl's own maxConcurrency and delay narrow the configured limits, never widen them.
    this.lookahead = Math.max(1, Math.min(options.lookahead ?? DEFAULT_LOOKAHEAD, this.scope.maxConcurrency ?? Infinity));
    this.hosts = new HostPolicy({
      concurrency: Math.max(1, Math.min(options.hostConcurrency, this.scope.maxConcurrency ?? Infinity)),
      delayMs: Math.max(0, options.hostDelayMs, this.scope.delayMs ?? 0),
    });
    const robotsOpts = { userAgent: options.robotsUserAgent, maxCrawlDelayMs: options.maxCrawlDelayMs ?? DEFAULT_MAX_CRAWL_DELAY_MS };
    this.robots = new RobotsCache(async (origin) => {
      // robots.txt is read before any page of its origin (once a day for every job and worker, with the shared
      // limits) and does not start the politeness clock:
      // a one-page job is not slowed by the delay, and every later request is spaced as configured.
      // It still holds a shared host slot (unpaced): the host's concurrency counts every connection.
      const host = hostOf(origin);
      const policy = await loadStoredRobots(origin, (url) => this.shared(hostOf(url), () => this.deps.client.fetch(url, { signal: this.signal }), { paced: false }), robotsOpts, this.signal, this.deps.hosts, (err) =>
        this.ctx.logger.warn('robots.txt cache unavailable', { origin, error: (err as Error).message }),
      );
      if (policy.crawlDelayMs !== undefined) this.hosts.setMinDelay(host, policy.crawlDelayMs);
      // The site's Crawl-delay paces every worker's requests to it (an unreadable robots.txt says nothing about it).
      if (policy.status !== 'unavailable') await this.deps.hosts?.setCrawlDelay(host, policy.crawlDelayMs).catch((err: unknown) => this.ctx.logger.warn('host crawl delay not stored', { host, error: (err as Error).message }));
      if (policy.status !== 'parsed') this.ctx.logger.debug('robots.txt', { origin, status: policy.status, problem: policy.problem });
      const detail = policy.unreachable && logDetail(policy.unreachable); // e.g. the internal address the host resolved to: the log's, not the client's
      if (detail) this.ctx.logger.warn('robots.txt fetch refused', { origin, code: policy.unreachable!.code, detail });
      return policy;
    });
    this.fetch = fetchPage(deps.client);
    this.taskCtx = { ...ctx, signal: this.signal };
    this.sitemapLimits = { ...DEFAULT_SITEMAP_LIMITS, ...options.sitemapLimits };
    this.ledger = new CrawlLedger(this.mode, input.url, ctx);
    this.result = this.ledger.result;
    this.frontier = new Frontier(this.scope, this.ledger, options.maxQueue ?? DEFAULT_MAX_QUEUE);
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
    this.ledger.close();
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
  // Discovery

  private seed(): void {
    const { input } = this;
    if (this.mode === 'list') {
      for (const [i, raw] of (input.urls ?? []).entries()) this.frontier.addNamed(raw, i);
      this.startLinksQueued.resolve();
      return;
    }
    if (this.mode === 'single') {
      this.frontier.addNamed(input.url, 0);
      this.startLinksQueued.resolve();
      return;
    }
    // Discover: the start URL is fetched even when filtered out, for its links.
    if (!this.frontier.addStart(input.url)) this.startLinksQueued.resolve();
    if (this.scope.readSitemaps) this.startSitemapDiscovery();
  }

  private startSitemapDiscovery(): void {
    const start = cleanUrl(this.input.url);
    if (start === null) return;
    this.pendingDiscovery++;
    const task = (async () => {
      const policy = await this.robots.forUrl(start);
      if (policy.status === 'unavailable') return;
      const found = await readStartSitemaps(start, policy, (url) => this.politeGet(url), (url) => this.robots.forUrl(url), this.sitemapLimits, this.signal);
      for (const p of found.problems) this.ctx.logger.debug('sitemap skipped', p);
      this.result.sitemapUrls = found.urls.length;
      // Sitemap URLs rank after the start page's own links: navigation tells what the site considers important.
      await this.startLinksQueued.promise;
      if (this.signal.aborted) return;
      this.frontier.addLinks(found.urls, 1, SITEMAP_PARENT_SEQ, 0);
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
    while (this.ready.length + this.active < this.lookahead && this.result.fetches + this.active < this.maxFetches) {
      const head = this.frontier.next();
      if (head === undefined) break;
      if (head.asPage && this.result.pages.length + this.activeCountable >= this.maxPages) break;
      this.frontier.take();
      this.startTask(head);
    }
    this.reportProgress();
    const full = this.result.pages.length >= this.maxPages;
    const budgetSpent = this.result.fetches >= this.maxFetches;
    if (this.active === 0 && (full || budgetSpent || (!this.frontier.hasQueued() && this.pendingDiscovery === 0))) {
      this.finished = true;
      // Sitemap reading may still be running when the page limit is reached.
      if (!this.signal.aborted) this.controller.abort(new Error('crawl finished'));
      this.wake?.();
    }
  }

  private reportProgress(): void {
    this.ledger.progress(() => ({ pages: this.activeCountable + this.frontier.queuedPages(), maxPages: this.maxPages }));
  }

  private startTask(c: Candidate): void {
    c.seq = ++this.seq;
    this.frontier.set(c.key, 'active');
    this.active++;
    if (c.asPage) this.activeCountable++;
    const slot = { countable: c.asPage };
    const task = this.process(c, slot)
      .catch((err: unknown) => {
        if (this.signal.aborted) return;
        // Not the page's fault: keep the details in the log, and go on with the crawl.
        this.ctx.logger.error('crawl task failed', { url: c.fetchUrl, error: err instanceof Error ? err.stack : String(err) });
        this.frontier.set(c.key, 'done');
        this.ledger.failed(c, err);
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
    const host = hostOf(url);
    return this.hosts.run(host, this.signal, () => this.shared(host, () => this.deps.client.fetch(url, { signal: this.signal })));
  }

  /**
   * `fn` holding a slot of the host limits shared by every worker and job (a
   * worker's crawl), else as is. A one-page job's requests are urgent: a big
   * crawl of the same host lets it have the next free slot.
   */
  private shared<T>(host: string, fn: () => Promise<T>, kind: SlotKind = {}): Promise<T> {
    return this.deps.hosts ? this.deps.hosts.run(host, this.signal, fn, { ...kind, urgent: this.mode === 'single' }) : fn();
  }

  private async process(c: Candidate, slot: { countable: boolean }): Promise<void> {
    const { frontier, ledger } = this;
    const policy = await this.robots.forUrl(c.fetchUrl);
    if (!this.allowedByRobots(c, c.key, c.fetchUrl, policy)) return;

    // Counted when the request is about to go out, so robots refusals cost nothing.
    if (this.result.fetches >= this.maxFetches) {
      frontier.set(c.key, 'skipped');
      ledger.skip('overLimit');
      return;
    }
    this.result.fetches++;

    let page: FetchedPage;
    try {
      const host = hostOf(c.fetchUrl);
      page = await this.hosts.run(host, this.signal, () => this.shared(host, () => this.fetch(c.fetchUrl, this.taskCtx)));
    } catch (err) {
      if (this.signal.aborted) throw err;
      // A 429/503: every worker leaves the host alone for its Retry-After (bounded), as page tasks do.
      const pause = busyHostPauseMs(err);
      if (pause !== null) await this.deps.hosts?.slow(hostOf(c.fetchUrl), pause).catch(() => {});
      frontier.set(c.key, 'done');
      ledger.failed(c, err);
      return;
    }

    // Where the page really is, after redirects.
    const finalKey = this.scope.key(page.url) ?? c.key;
    let asPage = c.asPage;
    if (finalKey !== c.key) {
      // A URL the client named may redirect anywhere the address guard allows (http → https://www, a moved page);
      // a discovered link that leaves the site is not followed.
      if (!c.named && !this.scope.inScope(page.url)) {
        frontier.set(c.key, 'done');
        ledger.fail(c.key, offsiteRedirect(page.url), false);
        return;
      }
      frontier.discover(finalKey);
      const owner = frontier.claimedBy(finalKey);
      if (owner !== undefined) {
        frontier.set(c.key, 'done');
        ledger.duplicate(c.key, owner, 'redirect');
        return;
      }
      frontier.set(finalKey, 'active'); // a queued entry for it is dropped by pump()
      if (!this.allowedByRobots(c, finalKey, page.url, await this.robots.forUrl(page.url))) {
        frontier.set(c.key, 'done');
        return;
      }
      if (!this.scope.filter(page.url)) {
        if (asPage && c.named) ledger.fail(c.key, { code: 'filtered', message: `redirected to ${finalKey}, which the crawl patterns exclude` }, false);
        else if (asPage) ledger.skip('filtered');
        asPage = false;
      }
    }

    let content: ExtractedPage;
    try {
      // On a pool thread with time and heap limits: a hostile page fails itself (too_complex), never stalls this worker's heartbeats and claims.
      content = await extractOffThread(page.html, page.url, this.ctx.apiKeyId);
    } catch (err) {
      frontier.set(c.key, 'done');
      frontier.set(finalKey, 'done');
      ledger.failed(c, err);
      return;
    }

    if (this.mode === 'discover') {
      if (this.scope.followLinks) frontier.addLinks(content.links, c.depth + 1, c.seq, c.hops + 1);
      if (c.depth === 0) this.startLinksQueued.resolve();
    }

    const noPage = () => {
      frontier.set(c.key, 'done');
      frontier.set(finalKey, 'done');
    };
    if (!asPage) return noPage();
    if (!content.text.trim()) {
      noPage();
      ledger.fail(finalKey, emptyContent(page.url), false);
      return;
    }

    // Another page's canonical link may have claimed this URL while it was being fetched.
    for (const key of [c.key, finalKey]) {
      const owner = frontier.aliasTarget(key);
      if (owner !== undefined) {
        noPage();
        ledger.duplicate(finalKey, owner, 'canonical');
        return;
      }
    }

    const canonical = canonicalKey(this.scope, content.canonicalUrl, finalKey, page.url);
    if (canonical !== null) {
      frontier.discover(canonical);
      // Already a page, or about to be one: the canonical URL wins.
      const owner = frontier.claimedBy(canonical);
      if (owner !== undefined) {
        noPage();
        ledger.duplicate(finalKey, owner, 'canonical');
        return;
      }
      // Not fetched yet: this page stands for it, and it is not fetched at all.
      frontier.alias(canonical, finalKey);
    }

    const hash = textHash(content.text);
    const sameText = this.texts.get(hash);
    if (sameText !== undefined) {
      noPage();
      ledger.duplicate(finalKey, sameText, 'content');
      return;
    }
    this.texts.set(hash, finalKey);

    frontier.set(c.key, 'page');
    frontier.set(finalKey, 'page');
    const crawled: CrawledPage = { url: finalKey, page, content, depth: c.depth };
    this.result.pages.push(crawled);
    // The slot turns into a page: it keeps counting toward maxPages through pages.length.
    slot.countable = false;
    this.activeCountable--;
    this.ready.push(crawled);
    this.ctx.logger.debug('crawled page', { url: finalKey, depth: c.depth, bytes: page.bytes });
    this.reportProgress();
    this.wake?.();
  }

  private allowedByRobots(c: Candidate, key: string, url: string, policy: RobotsPolicy): boolean {
    if (policy.status === 'unavailable') {
      this.frontier.set(key, 'done');
      if (policy.unreachable) {
        const { error, retryable } = classifyError(policy.unreachable);
        this.ledger.fail(key, error, retryable);
      } else {
        this.ledger.fail(key, robotsUnavailable(policy), true);
      }
      return false;
    }
    if (policy.isAllowed(url)) return true;
    this.frontier.set(key, 'skipped');
    if (c.named) this.ledger.fail(key, robotsDisallowed(url), false);
    else this.ledger.skip('robots');
    return false;
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
