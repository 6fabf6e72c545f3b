// What a one-worker crawl records as it goes: its pages, failures, duplicates
// and skips (the CrawlResult), whether any failure is worth a retry, the
// job's progress, and the error a crawl that made no page ends in.
import { clientMessage, logDetail } from '../../../core/outbound/clientMessage.js';
import { OutboundError } from '../../../core/outbound/index.js';
import { classifyError, PipelineError } from '../errors.js';
import type { StepContext } from '../types.js';
import { notHtml, type Refusal } from './refusals.js';
import type { CrawlDuplicate, CrawlFailure, CrawlMode, CrawlResult } from './types.js';
import { sameSite } from './urls.js';

/** Failures carried by the no_pages error: enough to explain, small enough to store. */
const MAX_REPORTED_FAILURES = 50;

export class CrawlLedger {
  readonly result: CrawlResult;
  private anyRetryable = false;
  private lastProgress = '';

  constructor(
    mode: CrawlMode,
    /** The input's url, named by the no_pages error. */
    private readonly startUrl: string,
    private readonly ctx: Pick<StepContext, 'logger' | 'progress'>,
  ) {
    this.result = {
      mode,
      pages: [],
      failures: [],
      duplicates: [],
      urlsDiscovered: 0,
      skipped: { filtered: 0, robots: 0, nonHtml: 0, offsite: 0, overLimit: 0 },
      sitemapUrls: 0,
      fetches: 0,
    };
  }

  fail(url: string, refusal: Refusal, retryable: boolean, status?: number): void {
    const failure: CrawlFailure = { url, reason: refusal.code, message: refusal.message };
    if (status !== undefined) failure.status = status;
    this.result.failures.push(failure);
    if (retryable) this.anyRetryable = true;
    this.ctx.logger.debug('crawl failure', { ...failure });
  }

  /** A fetch or extraction of the URL `key` (fetched as `fetchUrl`; `named` by the client) threw `err`. */
  failed(c: { key: string; fetchUrl: string; named: boolean }, err: unknown): void {
    const detail = logDetail(err); // e.g. the internal address a refused host resolved to: the log's, not the client's
    if (detail) this.ctx.logger.warn('page fetch refused', { url: c.key, code: (err as OutboundError).code, detail });
    // The client follows redirects itself; a failure on a hop off the site is about leaving the site.
    if (!c.named && err instanceof OutboundError && err.url !== c.fetchUrl && !sameSite(err.url, c.fetchUrl)) {
      this.fail(c.key, { code: 'offsite_redirect', message: `redirected off the site to ${err.url} (${clientMessage(err)})` }, false);
      return;
    }
    const refusal = notHtml(err);
    if (refusal) return this.fail(c.key, refusal, false);
    const { error, retryable } = classifyError(err);
    this.fail(c.key, error, retryable, typeof error['status'] === 'number' ? error['status'] : undefined);
  }

  duplicate(url: string, duplicateOf: string, via: CrawlDuplicate['via']): void {
    this.result.duplicates.push({ url, duplicateOf, via });
    this.ctx.logger.debug('duplicate page', { url, duplicateOf, via });
  }

  skip(why: keyof CrawlResult['skipped']): void {
    this.result.skipped[why]++;
  }

  /**
   * Tell the job how far along it is, when that changed: pages so far, and
   * the best guess at the total while `ahead` (pages being fetched or queued,
   * and the crawl's maxPages) is given; the final count without it.
   */
  progress(ahead?: () => { pages: number; maxPages: number }): void {
    const pagesScraped = this.result.pages.length;
    let totalPages = pagesScraped;
    if (ahead) {
      const { pages, maxPages } = ahead();
      totalPages = Math.max(pagesScraped, Math.min(maxPages, pagesScraped + pages), 1);
    }
    const key = `${pagesScraped}/${totalPages}`;
    if (key === this.lastProgress) return;
    this.lastProgress = key;
    this.ctx.progress({ currentStep: 'crawl', pagesScraped, totalPages });
  }

  /** The crawl is over: log its figures; a crawl that made no page throws (no_pages, or the one page's own error). */
  close(): void {
    this.progress();
    const { mode, pages, failures, duplicates, urlsDiscovered, fetches } = this.result;
    this.ctx.logger.info('crawl finished', { mode, pages: pages.length, failures: failures.length, duplicates: duplicates.length, urlsDiscovered, fetches });
    if (pages.length === 0) throw this.noPagesError();
  }

  private noPagesError(): PipelineError {
    const { failures } = this.result;
    // One page asked for and it failed: the page's own reason is the job's error (upstream_status, too_complex, …).
    const only = failures[0];
    if (this.result.mode === 'single' && failures.length === 1 && only) {
      const { url, reason, message, ...rest } = only;
      return new PipelineError(reason, message, this.anyRetryable, { url, ...rest });
    }
    const counts = new Map<string, number>();
    for (const f of failures) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
    const why = [...counts].map(([reason, n]) => (n > 1 ? `${reason} ×${n}` : reason)).join(', ');
    const { filtered, robots } = this.result.skipped;
    const message =
      failures.length > 0
        ? `no page could be crawled from ${this.startUrl}: ${why}`
        : `no page to crawl was found from ${this.startUrl} (${filtered} URLs excluded by the patterns, ${robots} disallowed by robots.txt)`;
    return new PipelineError('no_pages', message, this.anyRetryable, {
      url: this.startUrl,
      failures: failures.slice(0, MAX_REPORTED_FAILURES),
      urlsDiscovered: this.result.urlsDiscovered,
    });
  }
}
