// Page tasks and crawls (CRAWL_PAGE_TASKS): a task whose worker has been
// silent for RESCUE_AFTER is queued again for another worker (failed
// `worker_lost` once its attempts are spent), and a crawl none of whose pages
// moved for STALE_AFTER, or open longer than JOB_MAX_DURATION, is closed with
// its open pages failed `stale`. A crawl closed here completes its parent job
// (or fails it, when no page succeeded) with the result a worker gives it
// (business, sitemapUrls), in the same transaction or, for a business
// profile, just after (worker/pipeline/crawl/parentCloser.ts); a closed
// crawl's parent left processing by a closer that died is completed here.
import type { Sql } from '../../core/platform/db.js';
import { reapStaleCrawls, rescueAbandonedPageTasks } from '../../core/crawlTasks/index.js';
import type { Embedder } from '../../core/embeddings/types.js';
import type { Logger } from '../../core/platform/logger.js';
import type { Boss } from '../../core/queue/index.js';
import { parentCloser, settleClosedParents } from '../pipeline/crawl/parentCloser.js';
import type { PeriodicTask } from './pass.js';

export interface CrawlMaintenanceOptions {
  rescueAfterMs: number;
  staleAfterMs: number;
  maxDurationMs: number;
  inlineItems: number;
  resultMaxBytes: number;
  intervalMs: number;
  /** The model for business profiles of the crawls closed here (none: the site's metadata only). */
  embedder?: (() => Promise<Embedder>) | undefined;
}

/** One sweep of both, in batches until nothing is left. */
export async function maintainCrawls(sql: Sql, boss: Boss, logger: Logger, opts: CrawlMaintenanceOptions): Promise<{ requeued: number; failed: number; closed: string[] }> {
  const closer = parentCloser(sql, boss, logger, { inlineItems: opts.inlineItems, resultMaxBytes: opts.resultMaxBytes, embedder: opts.embedder ?? null });
  const { onClosed } = closer;
  const out = { requeued: 0, failed: 0, closed: [] as string[] };
  for (;;) {
    const r = await rescueAbandonedPageTasks(sql, { rescueAfterMs: opts.rescueAfterMs }, onClosed);
    if (r.requeued + r.failed > 0) logger.warn('page tasks rescued from silent workers', { requeued: r.requeued, failed: r.failed });
    out.requeued += r.requeued;
    out.failed += r.failed;
    out.closed.push(...r.closed.map((c) => c.jobId));
    await closer.settle(r.closed);
    if (r.requeued + r.failed === 0) break;
  }
  const stale = await reapStaleCrawls(sql, { staleAfterMs: opts.staleAfterMs, maxDurationMs: opts.maxDurationMs }, onClosed);
  for (const c of stale) logger.warn('crawl closed as stale', { jobId: c.jobId, pages: c.pagesDone });
  out.closed.push(...stale.map((c) => c.jobId));
  await closer.settle(stale);
  // Closed a while ago (longer than a closer takes to settle), parent still processing: its closer died.
  const orphaned = await settleClosedParents(sql, closer, { afterMs: opts.rescueAfterMs });
  if (orphaned.length > 0) logger.warn('closed crawls’ parents completed for a closer that stopped', { jobIds: orphaned });
  return out;
}

export function crawlMaintenanceTask(sql: Sql, boss: Boss, logger: Logger, opts: CrawlMaintenanceOptions): PeriodicTask {
  return { name: 'crawls', intervalMs: opts.intervalMs, run: async () => void (await maintainCrawls(sql, boss, logger, opts)) };
}
