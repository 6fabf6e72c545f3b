// A worker's share of crawls run as page tasks (CRAWL_PAGE_TASKS): it claims
// page tasks of any crawl (keys take turns, core/crawlTasks), and for each
// one checks robots.txt (cached per origin for every job), fetches the page
// through the host limits shared by all workers, extracts it, queues the
// same-site links it has (and, for a start page, its sitemaps' URLs), indexes
// it, and records the outcome; the move that ends a crawl's last open task
// completes the parent job. Page slots are separate from job slots, so a big
// crawl never holds the slot a one-page job of another key is waiting for.
import { categorize, meanVector } from '../../../core/page/categories.js';
import type { BrowserService } from '../../../core/browser/index.js';
import type { Config } from '../../../core/platform/config.js';
import {
  busyHostPauseMs,
  claimPageTasks,
  finishPageTask,
  startCrawlParent,
  heartbeatPageTasks,
  setHostCrawlDelay,
  SharedHostLimiter,
  slowHost,
  waitForCrawlFetch,
  type DiscoveredPage,
  type PageOutcome,
  type PageTask,
} from '../../../core/crawlTasks/index.js';
import type { Db, Sql } from '../../../core/platform/db.js';
import { extractOffThread } from '../../../core/extractPool.js';
import type { JobInput } from '../../../core/jobs/index.js';
import type { Knowledge } from '../../../core/modelAndIndex.js';
import type { Logger } from '../../../core/platform/logger.js';
import type { OutboundClient } from '../../../core/outbound/index.js';
import { wakeWorkers, type Boss } from '../../../core/queue/index.js';
import type { IndexedChunk } from '../../../core/search/types.js';
import { ClaimLoop } from '../../claimLoop.js';
import type { RunnerOptions } from '../../runner.js';
import { chunkMarkdown } from '../chunk.js';
import { classifyError } from '../errors.js';
import { fetchPage } from '../fetchPage.js';
import { chunkId, embeddingText, firstSentence, pageEvidence } from '../knowledge.js';
import { profilePage } from '../../../core/business/profile.js';
import { crawlMode, keyedUrl, linkSkip, readStartSitemaps } from './discovery.js';
import { claimPage, holderOf, releasePage, storePageFacts, textIdentity, urlIdentity, type Identity, type PageFacts } from './pageFacts.js';
import { parentCloser, type ParentCloser } from './parentCloser.js';
import type { UrlFilter } from './patterns.js';
import { emptyContent, notHtml, offsiteRedirect, robotsDisallowed, robotsUnavailable, type Refusal } from './refusals.js';
import { crawlScope, type CrawlScope } from './scope.js';
import { loadStoredRobots, type RobotsPolicy } from './robots.js';
import { canonicalKey } from './samePage.js';
import { DEFAULT_SITEMAP_LIMITS } from './sitemap.js';
import { hostOf, originOf } from './urls.js';

/** NOTIFY channel: page tasks were queued. */
export const PAGES_CHANNEL = 'gleaner_pages';
/** A policy read from the database is reused in this process for this long. */
const ROBOTS_LOCAL_MS = 60_000;
const MAX_CRAWL_DELAY_MS = 10_000;
/** A claim that found due pages behind a busy crawl row asks again after this long. */
const BUSY_CLAIM_RETRY_MS = 15;

export interface PageTaskOptions {
  workerId: string;
  concurrency: number;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  /** Tries per page (JOB_MAX_ATTEMPTS). */
  maxAttempts: number;
  retryBaseDelayMs: number;
  robotsUserAgent: string;
  hostConcurrency: number;
  hostDelayMs: number;
  /** A host slot not given back within this long (a worker died mid-request) is free again. */
  hostLeaseMs: number;
  chunking: { maxTokens: number; overlapTokens: number };
  inlineItems: number;
  resultMaxBytes: number;
  /** Page tasks one key may have running over all workers (CRAWL_RUNNING_PAGES_PER_KEY). */
  runningPerKey: number;
  heartbeatSql?: Sql;
  /** Renders pages per the job's `render` mode (unset: static fetches only, as without a browser). */
  browser?: BrowserService | undefined;
}

interface Parent {
  input: JobInput;
  apiKeyId: string;
  filter: UrlFilter;
  scope: CrawlScope;
}

interface Running {
  task: PageTask;
  controller: AbortController;
}

class Skip {
  constructor(
    readonly state: 'failed' | 'skipped',
    readonly code: string,
    readonly message: string,
    /** Links of a page that is not a page itself (a filtered start page) still count. */
    readonly discovered: DiscoveredPage[] = [],
  ) {}

  static refused(state: Skip['state'], refusal: Refusal): Skip {
    return new Skip(state, refusal.code, refusal.message);
  }
}

/** A page that failed after its start page's sitemaps were read: their URLs are queued with the failure. */
class PageFailed {
  constructor(
    readonly cause: unknown,
    readonly discovered: DiscoveredPage[],
  ) {}
}

/** Whether a job's input is a crawl that discovers pages (not one page, not a list of URLs). */
export function discoversPages(input: JobInput): boolean {
  return crawlMode(input) === 'discover';
}

export class PageTaskRunner {
  private readonly loop: ClaimLoop<object, PageTask & { id: string }>;
  private readonly running = new Map<string, Running>();
  private readonly parents = new Map<string, Parent>();
  private readonly robots = new Map<string, { at: number; policy: Promise<RobotsPolicy> }>();
  private readonly limiter: SharedHostLimiter;
  private readonly fetch: ReturnType<typeof fetchPage>;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Completes a crawl's parent, its result as the one-worker pipeline's (business, sitemapUrls): in the move that closes it, or just after for a profile. */
  private readonly closer: ParentCloser;
  private cursor = '';

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly client: OutboundClient,
    private readonly knowledge: Knowledge,
    private readonly options: PageTaskOptions,
  ) {
    this.limiter = new SharedHostLimiter(sql, options.workerId, { concurrency: options.hostConcurrency, delayMs: options.hostDelayMs, leaseMs: options.hostLeaseMs });
    this.fetch = fetchPage(client);
    this.closer = parentCloser(sql, boss, logger, { inlineItems: options.inlineItems, resultMaxBytes: options.resultMaxBytes, embedder: () => knowledge.embedder() });
    this.loop = new ClaimLoop(
      sql,
      boss,
      logger,
      {
        queue: 'crawl-pages',
        channel: PAGES_CHANNEL,
        concurrency: options.concurrency,
        pollIntervalMs: options.pollIntervalMs,
        claim: async (limit) => {
          const { tasks, cursor, busy } = await claimPageTasks(sql, { workerId: options.workerId, limit, after: this.cursor, runningPerKey: options.runningPerKey });
          this.cursor = cursor;
          // Pages were due but a move held their crawl: it commits within milliseconds, so ask again soon instead of after the poll interval.
          if (tasks.length === 0 && busy > 0) await new Promise((r) => setTimeout(r, BUSY_CLAIM_RETRY_MS));
          return { entries: tasks, seen: tasks.length + busy };
        },
      },
      (task) => this.run(task),
    );
  }

  async start(): Promise<void> {
    await this.loop.start();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs);
  }

  /** Stop claiming, let running pages finish, then hand the rest back (they are claimed again at once). */
  async stop(graceMs: number): Promise<void> {
    await this.loop.stop();
    await Promise.race([this.loop.drain(), new Promise((r) => setTimeout(r, graceMs))]);
    for (const r of this.running.values()) r.controller.abort(new Error('worker shutting down'));
    await this.loop.drain();
    clearInterval(this.heartbeat);
  }

  /** Heartbeat every running task; a task no longer held (cancelled, rescued) is stopped. */
  private async beat(): Promise<void> {
    const tasks = [...this.running.values()].map((r) => ({ id: r.task.id, attempt: r.task.attempt }));
    if (tasks.length === 0) return;
    try {
      const held = await heartbeatPageTasks(this.options.heartbeatSql ?? this.sql, { workerId: this.options.workerId, tasks });
      // Only the tasks this heartbeat sent: one claimed while it was in flight is not in `held`, and is still this worker's.
      for (const t of tasks) {
        const r = this.running.get(t.id);
        if (r && r.task.attempt === t.attempt && !held.has(t.id) && !r.controller.signal.aborted) r.controller.abort(new Error('the page task is over (cancelled or rescued)'));
      }
    } catch (err) {
      this.logger.warn('page task heartbeat failed', { error: (err as Error).message });
    }
  }

  private async run(task: PageTask): Promise<void> {
    const controller = new AbortController();
    this.running.set(task.id, { task, controller });
    const logger = this.logger.child({ jobId: task.jobId, taskId: task.id });
    try {
      const parent = await this.parent(task.jobId);
      let result: { outcome: PageOutcome; discovered: DiscoveredPage[] };
      try {
        result = await this.page(task, parent, controller.signal, logger);
      } catch (err) {
        if (controller.signal.aborted) {
          // Shutting down: hand the page back for another worker; lost: whoever moved it owns it.
          await finishPageTask(this.sql, { taskId: task.id, attempt: task.attempt, outcome: { state: 'retry', error: { code: 'interrupted', message: 'the worker stopped' }, delayMs: 0 } }).catch(() => {});
          return;
        }
        const cause = err instanceof PageFailed ? err.cause : err;
        const { error, retryable } = cause instanceof Skip ? { error: { code: cause.code, message: cause.message }, retryable: false } : classifyError(cause);
        const state = cause instanceof Skip ? cause.state : 'failed';
        result = {
          outcome: retryable ? { state: 'retry', error, delayMs: Math.max(this.options.retryBaseDelayMs * 2 ** (task.attempt - 1), busyHostPauseMs(cause) ?? 0) } : { state, error },
          discovered: err instanceof Skip || err instanceof PageFailed ? err.discovered : [],
        };
      }
      const done = await finishPageTask(
        this.sql,
        { taskId: task.id, attempt: task.attempt, outcome: result.outcome, discovered: result.discovered },
        this.closer.onClosed,
      );
      // A page that did not become one lets go of the identities it claimed (its text, its canonical URL).
      if (done.held && (done.state === 'failed' || done.state === 'skipped')) await releasePage(this.sql, task.jobId, task.urlKey);
      if (done.created > 0 || done.state === 'queued') wakeWorkers(this.sql, PAGES_CHANNEL);
      if (done.closed) {
        this.parents.delete(task.jobId);
        // A parent that wants a business profile completes now, its profile built outside the closing transaction.
        await this.closer.settle([done.progress!]);
        logger.info('crawl finished', { pages: done.progress?.pagesDone, failed: done.progress?.pagesFailed, chunks: done.progress?.chunksIndexed });
      }
    } catch (err) {
      logger.error('page task failed to record', { error: (err as Error).message });
    } finally {
      this.running.delete(task.id);
    }
  }

  private async parent(jobId: string): Promise<Parent> {
    const known = this.parents.get(jobId);
    if (known) return known;
    const [row] = await this.sql`select input, api_key_id from jobs where id = ${jobId}`;
    if (!row) throw new Error(`job ${jobId} is gone`);
    const input = row.input as JobInput;
    const scope = crawlScope(input);
    const parent: Parent = { input, apiKeyId: row.api_key_id as string, filter: scope.filter, scope };
    if (this.parents.size > 1000) this.parents.clear();
    this.parents.set(jobId, parent);
    return parent;
  }

  /** robots.txt of the URL's origin: this process's copy, else the database's (24 h), else fetched and stored. */
  private robotsFor(url: string, signal: AbortSignal): Promise<RobotsPolicy> {
    const origin = originOf(url);
    const known = this.robots.get(origin);
    if (known && Date.now() - known.at < ROBOTS_LOCAL_MS) return known.policy;
    const opts = { userAgent: this.options.robotsUserAgent, maxCrawlDelayMs: MAX_CRAWL_DELAY_MS };
    const policy = (async () => {
      const loaded = await loadStoredRobots(origin, (u) => this.limiter.run(hostOf(u), signal, () => this.client.fetch(u, { signal })), opts, signal, this.limiter, (err) =>
        this.logger.warn('robots.txt cache unavailable', { origin, error: (err as Error).message }),
      );
      // An unreadable file says nothing about the site's Crawl-delay: the one stored stays.
      if (loaded.status !== 'unavailable') await setHostCrawlDelay(this.sql, hostOf(origin), loaded.crawlDelayMs);
      return loaded;
    })();
    policy.catch(() => this.robots.delete(origin));
    this.robots.set(origin, { at: Date.now(), policy });
    return policy;
  }

  /**
   * One page. The start page's sitemaps are read alongside it, and their
   * URLs are queued whatever becomes of the page (as in the one-worker
   * crawl, where sitemap discovery does not wait on the start page).
   */
  private async page(task: PageTask, parent: Parent, signal: AbortSignal, logger: Logger): Promise<{ outcome: PageOutcome; discovered: DiscoveredPage[] }> {
    if (task.depth !== 0 || !parent.scope.readSitemaps) return this.readPage(task, parent, signal, logger);
    const policy = await this.robotsFor(task.url, signal);
    if (policy.status === 'unavailable') return this.readPage(task, parent, signal, logger);
    const sitemaps = this.sitemapUrls(parent.input.url, policy, signal);
    sitemaps.catch(() => {}); // awaited below, unless the page's own read is aborted first
    // Under the crawl's own concurrency cap (maxConcurrency) the sitemap reads are requests of this task: done before the page's.
    if (parent.scope.maxConcurrency !== undefined) await sitemaps.catch(() => {});
    const fromSitemaps = async () => {
      const urls = await sitemaps;
      await storePageFacts(this.sql, task.jobId, task.urlKey, { sitemapUrls: urls.length });
      // One below the start page for maxDepth, yet 0 link hops (Firecrawl's discovery depth).
      return this.discoverable(parent, urls, 1, 0);
    };
    let read: { outcome: PageOutcome; discovered: DiscoveredPage[] };
    try {
      read = await this.readPage(task, parent, signal, logger);
    } catch (err) {
      if (signal.aborted) throw err;
      const more = await fromSitemaps();
      if (err instanceof Skip) throw new Skip(err.state, err.code, err.message, [...err.discovered, ...more]);
      throw more.length > 0 ? new PageFailed(err, more) : err;
    }
    return { outcome: read.outcome, discovered: [...read.discovered, ...(await fromSitemaps())] };
  }

  /** The URLs a crawl may queue (in scope, not obviously non-HTML, within its patterns and discovery depth), keyed. */
  private discoverable(parent: Parent, urls: readonly string[], depth: number, hops: number): DiscoveredPage[] {
    const found: DiscoveredPage[] = [];
    if (!parent.scope.withinDepth(hops)) return found;
    for (const raw of urls) {
      const link = keyedUrl(parent.scope, raw);
      if (link === null || linkSkip(parent.scope, link.url) !== null) continue;
      found.push({ ...link, depth, hops });
    }
    return found;
  }

  /** One page: fetched, read for links, indexed. Throws Skip (or a fetch error) for a page that is not one. */
  private async readPage(task: PageTask, parent: Parent, signal: AbortSignal, logger: Logger): Promise<{ outcome: PageOutcome; discovered: DiscoveredPage[] }> {
    const named = task.depth === 0;
    // Another page stands for this URL (its canonical URL): not fetched, as the one-worker crawl never fetches an alias.
    const holder = await holderOf(this.sql, task.jobId, task.urlKey);
    if (holder !== null) throw new Skip('skipped', 'duplicate', `${task.urlKey} is the same page as ${holder} (canonical)`);
    const policy = await this.robotsFor(task.url, signal);
    if (policy.status === 'unavailable') throw new Skip('failed', policy.unreachable?.code ?? 'robots_unavailable', robotsUnavailable(policy).message);
    if (!policy.isAllowed(task.url)) throw Skip.refused(named ? 'failed' : 'skipped', robotsDisallowed(task.url));

    const host = hostOf(task.url);
    const rendering = { mode: parent.input.render ?? 'auto', waitForMs: parent.input.waitFor, browser: this.options.browser };
    const ctx = { jobId: task.jobId, apiKeyId: parent.apiKeyId, logger, signal, progress: () => {}, rendering };
    let page;
    try {
      if (parent.scope.delayMs) await waitForCrawlFetch(this.sql, task.jobId, signal);
      page = await this.limiter.run(host, signal, () => this.fetch(task.url, ctx));
    } catch (err) {
      // Every worker leaves the host alone for its Retry-After (bounded), this page's retry included.
      const pause = busyHostPauseMs(err);
      if (pause !== null) await slowHost(this.sql, host, pause);
      const refusal = notHtml(err);
      if (refusal) throw Skip.refused('failed', refusal);
      throw err;
    }
    const finalKey = parent.scope.key(page.url) ?? task.urlKey;
    if (finalKey !== task.urlKey) {
      if (!named && !parent.scope.inScope(page.url)) throw Skip.refused('failed', offsiteRedirect(page.url));
      const [other] = await this.sql`select 1 from crawl_pages where job_id = ${task.jobId} and url_key = ${finalKey}`;
      if (other) throw new Skip('skipped', 'duplicate', `redirected to ${finalKey}, a page of this crawl`);
    }
    // On a pool thread with time and heap limits: a hostile page fails itself (too_complex), never stalls this worker's heartbeats and claims.
    const content = await extractOffThread(page.html, page.url, parent.apiKeyId);

    const discovered = parent.scope.followLinks ? this.discoverable(parent, content.links, task.depth + 1, task.hops + 1) : [];
    const facts: PageFacts = {};

    if (!parent.filter(page.url)) throw new Skip('skipped', 'filtered', `${finalKey} is excluded by the crawl patterns`, discovered);
    if (!content.text.trim()) return { outcome: { state: 'failed', error: emptyContent(page.url) }, discovered };

    // One page per URL after redirects, canonical URL and text (the one-worker crawl's rules, crawler.ts), whichever worker fetches it.
    const identities: Identity[] = [{ identity: urlIdentity(task.urlKey), via: 'url' }];
    if (finalKey !== task.urlKey) identities.push({ identity: urlIdentity(finalKey), via: 'url' });
    const canonical = canonicalKey(parent.scope, content.canonicalUrl, finalKey, page.url);
    if (canonical !== null) {
      // The canonical URL wins when the crawl has it (to fetch, being fetched, or done); otherwise this page stands for it.
      const [own] = await this.sql`select 1 from crawl_pages where job_id = ${task.jobId} and url_key = ${canonical} and state in ('queued', 'running', 'done')`;
      if (own) throw new Skip('skipped', 'duplicate', `${finalKey} is the same page as ${canonical} (canonical)`, discovered);
      identities.push({ identity: urlIdentity(canonical), via: 'canonical' });
    }
    identities.push({ identity: textIdentity(content.text), via: 'content' });
    const same = await claimPage(this.sql, task.jobId, task.urlKey, identities);
    if (same) throw new Skip('skipped', 'duplicate', `${finalKey} is the same page as ${same.duplicateOf} (${same.via})`, discovered);

    const [embedder, index] = await Promise.all([this.knowledge.embedder(), this.knowledge.index()]);
    const chunks = await chunkMarkdown(content.markdown, { ...this.options.chunking, countTokens: (texts) => embedder.countTokens(texts, { signal }) });
    if (chunks.length === 0) return { outcome: { state: 'skipped', error: { code: 'no_text', message: `nothing to index at ${page.url}` } }, discovered };
    const title = content.title ?? finalKey;
    const vectors = await embedder.embed(
      chunks.map((c) => embeddingText(title, c)),
      { signal },
    );
    const { category } = await categorize(embedder, meanVector(vectors), pageEvidence({ url: finalKey, page, content }));
    const indexed: IndexedChunk[] = chunks.map((c, i) => ({
      id: chunkId(parent.apiKeyId, finalKey, c.position),
      jobId: task.jobId,
      url: finalKey,
      title,
      headingPath: c.headingPath,
      content: c.content,
      category,
      position: c.position,
      embedding: vectors[i]!,
    }));
    // Fenced by the task's attempt: a worker that lost the page (rescued, cancelled) indexes nothing.
    await index.replacePage(parent.apiKeyId, finalKey, indexed, (tx?: Db) => this.holdTask(task, tx));
    facts.site = { name: content.siteName ?? null, description: content.description ?? null, language: content.language ?? null };
    if (parent.input.profile === true) facts.profile = profilePage(finalKey, content, page.html);
    await storePageFacts(this.sql, task.jobId, task.urlKey, facts);
    return {
      outcome: {
        state: 'done',
        chunks: indexed.length,
        finalUrl: finalKey,
        item: { title, description: content.description ?? firstSentence(content.text), content: content.markdown, category },
      },
      discovered,
    };
  }

  private async holdTask(task: PageTask, tx?: Db): Promise<void> {
    const [row] = await (tx ?? this.sql)`select 1 from crawl_pages where id = ${task.id} and attempts = ${task.attempt} and state = 'running' for share`;
    if (!row) throw new Error(`page task ${task.id} attempt ${task.attempt} is over: its write is refused`);
  }

  /** The start page's site's sitemap URLs (robots.txt Sitemap: lines, else /sitemap.xml). */
  private async sitemapUrls(start: string, policy: RobotsPolicy, signal: AbortSignal): Promise<string[]> {
    try {
      const found = await readStartSitemaps(
        start,
        policy,
        (url) => this.limiter.run(hostOf(url), signal, () => this.client.fetch(url, { signal })),
        (url) => this.robotsFor(url, signal),
        DEFAULT_SITEMAP_LIMITS,
        signal,
      );
      return found.urls;
    } catch (err) {
      if (signal.aborted) throw err;
      return [];
    }
  }
}

/** Pages of a crawl that gives no maxPages (as the in-process crawl), and how far links are followed from the start page. */
const DEFAULT_CRAWL_PAGES = 10;
const DEFAULT_CRAWL_DEPTH = 20;

/**
 * A worker's page-task machinery (CRAWL_PAGE_TASKS): the runner of page
 * tasks, and the job runner's hand-off that turns a claimed crawl into the
 * parent of page tasks (other jobs return null and run the pipeline).
 */
export function pageTaskCrawls(
  deps: { sql: Sql; boss: Boss; logger: Logger; client: OutboundClient; knowledge: Knowledge; browser?: BrowserService | undefined },
  config: Config,
  opts: { workerId: string; heartbeatSql?: Sql; heartbeatIntervalMs?: number },
): { runner: PageTaskRunner; handOff: NonNullable<RunnerOptions['handOff']> } {
  const { sql, boss } = deps;
  const runner = new PageTaskRunner(sql, boss, deps.logger, deps.client, deps.knowledge, {
    workerId: opts.workerId,
    concurrency: config.worker.concurrency,
    pollIntervalMs: config.worker.pollIntervalMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? config.worker.heartbeatIntervalMs,
    maxAttempts: config.worker.maxAttempts,
    retryBaseDelayMs: config.worker.retryBaseDelayMs,
    robotsUserAgent: config.crawl.robotsUserAgent,
    hostConcurrency: config.crawl.hostConcurrency,
    hostDelayMs: config.crawl.hostDelayMs,
    hostLeaseMs: config.fetch.totalTimeoutMs + 30_000,
    chunking: config.chunking,
    inlineItems: config.crawl.inlineItems,
    resultMaxBytes: config.worker.resultMaxBytes,
    runningPerKey: config.crawl.runningPagesPerKey,
    browser: deps.browser,
    ...(opts.heartbeatSql ? { heartbeatSql: opts.heartbeatSql } : {}),
  });
  const handOff = async (job: Parameters<NonNullable<RunnerOptions['handOff']>>[0], held: { attempt: number; queueJobId: string }) => {
    const start = keyedUrl(crawlScope(job.input), job.input.url);
    if (!discoversPages(job.input) || start === null) return null;
    const maxPages = Math.min(job.input.maxPages ?? DEFAULT_CRAWL_PAGES, config.crawl.maxPagesPerJob);
    const { maxConcurrency, delayMs } = job.input.scope ?? {};
    const started = await startCrawlParent(sql, {
      jobId: job.id,
      attempt: held.attempt,
      queueJobId: held.queueJobId,
      apiKeyId: job.apiKeyId,
      maxPages,
      maxDepth: DEFAULT_CRAWL_DEPTH,
      maxAttempts: config.worker.maxAttempts,
      // Firecrawl's maxConcurrency: the crawl's pages running at once over all workers (the claim holds it); more than maxPages never run.
      // A delay without one runs the crawl's pages one at a time, as Firecrawl does, so no slot waits out a queue of delays.
      maxRunning: maxConcurrency === undefined ? (delayMs ? 1 : undefined) : Math.min(maxConcurrency, maxPages),
      // Firecrawl's delay: the crawl's page requests start at least this far apart over all workers (crawlDelay.ts).
      delayMs,
      start: { ...start, depth: 0 },
    });
    if (started) wakeWorkers(sql, PAGES_CHANNEL);
    return started;
  };
  return { runner, handOff };
}
