// Page tasks and crawls (CRAWL_PAGE_TASKS): a task whose worker has been
// silent for RESCUE_AFTER is queued again for another worker (failed
// `worker_lost` once its attempts are spent), and a crawl none of whose pages
// moved for STALE_AFTER, or open longer than JOB_MAX_DURATION, is closed with
// its open pages failed `stale`. A crawl closed here completes its parent job
// (or fails it, when no page succeeded) in the same transaction.
import type { Sql } from '../../core/platform/db.js';
import { completeCrawlParent, reapStaleCrawls, rescueAbandonedPageTasks } from '../../core/crawlTasks/index.js';
import type { Logger } from '../../core/platform/logger.js';
import type { Boss } from '../../core/queue/index.js';
import type { PeriodicTask } from './pass.js';

export interface CrawlMaintenanceOptions {
  rescueAfterMs: number;
  staleAfterMs: number;
  maxDurationMs: number;
  inlineItems: number;
  resultMaxBytes: number;
  intervalMs: number;
}

/** One sweep of both, in batches until nothing is left. */
export async function maintainCrawls(sql: Sql, boss: Boss, logger: Logger, opts: CrawlMaintenanceOptions): Promise<{ requeued: number; failed: number; closed: string[] }> {
  const onClosed = completeCrawlParent(boss, { inlineItems: opts.inlineItems, resultMaxBytes: opts.resultMaxBytes });
  const out = { requeued: 0, failed: 0, closed: [] as string[] };
  for (;;) {
    const r = await rescueAbandonedPageTasks(sql, { rescueAfterMs: opts.rescueAfterMs }, onClosed);
    if (r.requeued + r.failed > 0) logger.warn('page tasks rescued from silent workers', { requeued: r.requeued, failed: r.failed });
    out.requeued += r.requeued;
    out.failed += r.failed;
    out.closed.push(...r.closed.map((c) => c.jobId));
    if (r.requeued + r.failed === 0) break;
  }
  const stale = await reapStaleCrawls(sql, { staleAfterMs: opts.staleAfterMs, maxDurationMs: opts.maxDurationMs }, onClosed);
  for (const c of stale) logger.warn('crawl closed as stale', { jobId: c.jobId, pages: c.pagesDone });
  out.closed.push(...stale.map((c) => c.jobId));
  return out;
}

export function crawlMaintenanceTask(sql: Sql, boss: Boss, logger: Logger, opts: CrawlMaintenanceOptions): PeriodicTask {
  return { name: 'crawls', intervalMs: opts.intervalMs, run: async () => void (await maintainCrawls(sql, boss, logger, opts)) };
}
