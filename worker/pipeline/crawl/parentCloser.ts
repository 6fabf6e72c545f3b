// Completing a page-task crawl's parent job with its whole result (items,
// counts, `business`, `sitemapUrls`: the one-worker pipeline's shape) on every
// path that closes a crawl: the worker whose page ends it, and maintenance
// (the rescue of its last pages, the STALE_AFTER and JOB_MAX_DURATION
// backstops).
//
// The business profile of a /v1/business crawl embeds several pages: too slow
// for the transaction that closes the crawl, which holds the crawl's row that
// every claim and page of the crawl waits on. So that transaction completes
// the parent only when nothing slow is needed; a parent that wants a profile
// is left `processing` with its crawl closed, and `settle` completes it after
// the commit: the profile is built outside any transaction, then written in
// the one transaction that completes the job with its event and webhook. A
// closer that dies in between leaves the parent to maintenance
// (settleClosedParents).
import { completeCrawlParent, toProgress, type CrawlProgress, type OnCrawlClosed } from '../../../core/crawlTasks/index.js';
import type { Embedder } from '../../../core/embeddings/types.js';
import type { JobInput } from '../../../core/jobs/index.js';
import type { Sql } from '../../../core/platform/db.js';
import type { Logger } from '../../../core/platform/logger.js';
import type { Boss } from '../../../core/queue/index.js';
import type { BusinessProfile } from '../../../core/business/profile.js';
import { profileOfPages } from '../businessProfile.js';
import { crawlFactsResult, readCrawlFacts } from './pageFacts.js';

export interface ParentCloserOptions {
  inlineItems: number;
  resultMaxBytes: number;
  /** The model for business profiles; null: a profile job's `business` is the site's metadata only. */
  embedder: (() => Promise<Embedder>) | null;
}

export interface ParentCloser {
  /** For the transaction that closes a crawl (finishPageTask, rescue, reap). */
  onClosed: OnCrawlClosed;
  /** After that transaction's commit: complete the parents it left processing for their profile. */
  settle(closed: readonly CrawlProgress[]): Promise<void>;
}

export function parentCloser(sql: Sql, boss: Boss, logger: Logger, opts: ParentCloserOptions): ParentCloser {
  const complete = (profile: BusinessProfile | null) =>
    completeCrawlParent(boss, {
      inlineItems: opts.inlineItems,
      resultMaxBytes: opts.resultMaxBytes,
      extend: async (tx, c) => crawlFactsResult(await readCrawlFacts(tx, c.jobId), profile),
    });
  const inline = complete(null);
  return {
    onClosed: async (tx, c) => {
      const [job] = await tx`select input from jobs where id = ${c.jobId}`;
      // Left for settle(): nothing slow runs while the crawl's row is held. A crawl without a page done fails here.
      if ((job?.input as JobInput | undefined)?.profile === true && c.pagesDone > 0) return;
      await inline(tx, c);
    },
    async settle(closed) {
      // One parent that cannot be completed must not hold up the others (maintenance settles the oldest first).
      let failure: unknown = null;
      for (const c of closed) {
        try {
          // A job claimed again since (a client's retry) is not this crawl's parent any more.
          const [job] = await sql`select status, input from jobs where id = ${c.jobId} and started_at <= ${c.closedAt ?? new Date()}`;
          if (!job || job.status !== 'processing') continue;
          let profile: BusinessProfile | null = null;
          if ((job.input as JobInput).profile === true && opts.embedder) {
            try {
              const { sources } = await readCrawlFacts(sql, c.jobId);
              profile = sources.length > 0 ? await profileOfPages(sources, await opts.embedder()) : null;
            } catch (err) {
              // The job still completes with its pages and the site's metadata.
              logger.warn('business profile of a crawl failed', { jobId: c.jobId, error: (err as Error).message });
            }
          }
          await sql.begin((tx) => complete(profile)(tx, c));
        } catch (err) {
          logger.error('completing a closed crawl\'s parent failed; maintenance tries again', { jobId: c.jobId, error: (err as Error).message });
          failure ??= err;
        }
      }
      if (failure) throw failure;
    },
  };
}

/**
 * Parents still processing whose crawl closed more than `afterMs` ago: their
 * closer died before settling them (maintenance runs this every pass).
 */
export async function settleClosedParents(sql: Sql, closer: ParentCloser, p: { afterMs: number; limit?: number }): Promise<string[]> {
  const rows = await sql`
    select c.* from crawl_progress c join jobs j on j.id = c.job_id
    where c.closed_at is not null and c.closed_at < now() - ${p.afterMs} * interval '1 millisecond' and j.status = 'processing'
      and c.closed_at >= j.started_at
    order by c.closed_at limit ${p.limit ?? 20}`;
  const closed = rows.map(toProgress);
  await closer.settle(closed);
  return closed.map((c) => c.jobId);
}
