// The client's job as the parent of a page-task crawl: it becomes a crawl in
// the transaction that queues its start page (its queue entry is done: from
// then on the tasks carry the work), and it completes, its event and webhook
// included, in the transaction that ends its last open task.
import type { Db, Sql } from '../platform/db.js';
import { jsonb } from '../platform/jsonb.js';
import { holdAttempt } from '../jobs/attemptFence.js';
import { completeJobs } from '../jobs/completions.js';
import { enqueueFinalWebhooks, finishQueueEntry, moveOne } from '../jobs/move.js';
import type { Boss } from '../queue/index.js';
import { openCrawl, type CrawlProgress, type DiscoveredPage, type OnCrawlClosed } from './tasks.js';

/** Failures carried by a no_pages error: enough to explain, small enough to store. */
const MAX_REPORTED_FAILURES = 50;

/**
 * Turn the attempt a worker holds into a crawl: the crawl and its start page
 * are queued, the job's queue entry is finished, and the job stays
 * `processing` (the reaper and rescuer leave it to the crawl's own rules).
 * False when the attempt was over (cancelled, rescued) before this.
 */
export async function startCrawlParent(
  sql: Sql,
  p: { jobId: string; attempt: number; queueJobId: string; apiKeyId: string; maxPages: number; maxDepth: number; maxAttempts: number; maxRunning?: number | undefined; delayMs?: number | undefined; start: DiscoveredPage },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    try {
      await holdAttempt(tx, { jobId: p.jobId, attempt: p.attempt });
    } catch {
      return false;
    }
    // A crawl left by an earlier attempt of this job (a retry) starts over.
    await tx`delete from crawl_progress where job_id = ${p.jobId}`;
    await openCrawl(tx, { jobId: p.jobId, apiKeyId: p.apiKeyId, maxPages: p.maxPages, maxDepth: p.maxDepth, maxAttempts: p.maxAttempts, maxRunning: p.maxRunning, delayMs: p.delayMs, seeds: [p.start] });
    await finishQueueEntry(tx, p.queueJobId);
    return true;
  });
}

/** The job's progress as the API shows it, from the crawl's counters. */
export function crawlProgressView(c: CrawlProgress): Record<string, unknown> {
  const open = c.queued + c.running;
  return {
    currentStep: c.closedAt === null ? 'crawl' : 'done',
    pagesScraped: c.pagesDone,
    totalPages: c.closedAt === null ? Math.max(1, Math.min(c.maxPages, c.pagesDone + open)) : c.pagesDone,
    pagesIndexed: c.pagesDone,
    chunksIndexed: c.chunksIndexed,
  };
}

/**
 * The parent's result: the first `inlineItems` knowledge items inline (with
 * `itemsTruncated` when there are more: GET /v1/jobs/{id}/items has them all),
 * the counts, and the failed pages (the first 50).
 */
export async function crawlResult(db: Db, c: CrawlProgress, inlineItems: number): Promise<Record<string, unknown>> {
  const items = await db`
    select url, final_url, title, description, content, category, chunks from crawl_pages
    where job_id = ${c.jobId} and state = 'done' order by event_id limit ${inlineItems}`;
  const failed = await db`
    select url_key as url, error from crawl_pages where job_id = ${c.jobId} and state = 'failed' order by event_id limit ${MAX_REPORTED_FAILURES}`;
  const source = (r: Record<string, unknown>) => (r.final_url as string | null) ?? (r.url as string);
  return {
    knowledgeItems: items.map((r) => ({ title: r.title, description: r.description, content: r.content, category: r.category, source: source(r) })),
    itemsTruncated: c.pagesDone > items.length,
    itemsUrl: `/v1/jobs/${c.jobId}/items`,
    pagesScraped: c.pagesDone,
    urlsDiscovered: c.tasks,
    chunksIndexed: c.chunksIndexed,
    pages: items.map((r) => ({ url: source(r), title: r.title, category: r.category, chunks: r.chunks })),
    failedPages: failed.map((r) => {
      const e = (r.error ?? {}) as Record<string, unknown>;
      const { code, message, ...rest } = e;
      return { url: r.url, reason: code, message, ...rest };
    }),
  };
}

/**
 * What closing a crawl does to its parent, in the closing transaction:
 * completed with the result when any page succeeded, else failed `no_pages`;
 * the webhook is queued with it. A parent no longer processing (cancelled,
 * reaped) is left as it is.
 */
export function completeCrawlParent(
  boss: Boss,
  opts: { inlineItems: number; resultMaxBytes?: number; /** More of the result, read in the closing transaction (the worker's: business, sitemapUrls). */ extend?: (tx: Db, c: CrawlProgress) => Promise<Record<string, unknown>> },
): OnCrawlClosed {
  return async (tx, c) => {
    const [job] = await tx`select status, attempts, worker_id, queue_job_id from jobs where id = ${c.jobId} for update`;
    if (!job || job.status !== 'processing') return;
    const progress = crawlProgressView(c);
    if (c.pagesDone > 0) {
      const result = { ...(await crawlResult(tx, c, opts.inlineItems)), ...(opts.extend ? await opts.extend(tx, c) : {}) };
      const item = { jobId: c.jobId, attempt: job.attempts as number, workerId: (job.worker_id as string | null) ?? 'crawl', queueJobId: job.queue_job_id as string, result, progress };
      await completeJobs(tx as unknown as Sql, [item], opts.resultMaxBytes === undefined ? {} : { resultMaxBytes: opts.resultMaxBytes });
      return;
    }
    const failures = await tx`select url_key as url, error from crawl_pages where job_id = ${c.jobId} and state = 'failed' order by event_id limit ${MAX_REPORTED_FAILURES}`;
    const reasons = new Map<string, number>();
    for (const f of failures) {
      const code = String((f.error as { code?: string } | null)?.code ?? 'failed');
      reasons.set(code, (reasons.get(code) ?? 0) + 1);
    }
    const why = [...reasons].map(([r, n]) => (n > 1 ? `${r} ×${n}` : r)).join(', ');
    const error = {
      code: 'no_pages',
      message: failures.length > 0 ? `no page could be crawled: ${why}` : 'no page to crawl was found',
      failures: failures.map((f) => ({ url: f.url, reason: (f.error as { code?: string } | null)?.code, message: (f.error as { message?: string } | null)?.message })),
      urlsDiscovered: c.tasks,
    };
    const moved = await moveOne(tx, c.jobId, {
      from: ['processing'],
      to: 'failed',
      where: tx`and attempts = ${job.attempts as number}`,
      set: tx`error = ${jsonb(tx, error)}, completed_at = now(), heartbeat_at = null, progress = ${jsonb(tx, progress)}`,
      detail: { error: { code: error.code, message: error.message } },
    });
    if (moved) await enqueueFinalWebhooks(tx, boss, [moved]);
  };
}
