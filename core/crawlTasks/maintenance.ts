// Page tasks whose worker went silent, and crawls that stopped moving. "Stale"
// means no progress: a task without a heartbeat for RESCUE_AFTER is handed to
// another worker (or failed once its attempts are spent); a crawl none of
// whose tasks moved for STALE_AFTER is closed, however long it has run.
import type { Sql } from '../platform/db.js';
import { jsonb } from '../platform/jsonb.js';
import { releaseHostSlotsOf } from './hosts.js';
import { closeIfFinished, type CrawlProgress, type OnCrawlClosed } from './tasks.js';

export interface RescueResult {
  /** Tasks queued again for another worker. */
  requeued: number;
  /** Tasks failed: their attempts were spent. */
  failed: number;
  /** Crawls this pass closed (their last open task failed here). */
  closed: CrawlProgress[];
}

/**
 * Running tasks whose worker has not heartbeated for `rescueAfterMs`: queued
 * again while attempts remain (the claim that follows counts a new attempt,
 * so the silent worker's late writes are refused), else failed
 * `worker_lost`. Tasks and crawls held by someone else are left for the next
 * pass (SKIP LOCKED), so the rescuer never waits on a live move.
 */
export async function rescueAbandonedPageTasks(sql: Sql, p: { rescueAfterMs: number; limit?: number }, onClosed?: OnCrawlClosed): Promise<RescueResult> {
  return sql.begin(async (tx) => {
    const lost = await tx`
      select id, job_id, attempts, worker_id from crawl_pages
      where state = 'running' and heartbeat_at < now() - ${p.rescueAfterMs} * interval '1 millisecond'
      order by heartbeat_at limit ${p.limit ?? 500}
      for update skip locked`;
    if (lost.length === 0) return { requeued: 0, failed: 0, closed: [] };
    const jobs = await tx`
      select job_id, max_attempts from crawl_progress where job_id = any(${[...new Set(lost.map((l) => l.job_id as string))]}::text[])
      order by job_id for update skip locked`;
    const maxAttempts = new Map(jobs.map((j) => [j.job_id as string, j.max_attempts as number]));
    const mine = lost.filter((l) => maxAttempts.has(l.job_id as string));
    const again = mine.filter((l) => (l.attempts as number) < maxAttempts.get(l.job_id as string)!).map((l) => String(l.id));
    const spent = mine.filter((l) => (l.attempts as number) >= maxAttempts.get(l.job_id as string)!).map((l) => String(l.id));
    if (again.length > 0) {
      await tx`
        with moved as (
          -- run_after stays: the page keeps its place in line, ahead of pages discovered after it.
          update crawl_pages set state = 'queued', worker_id = null, heartbeat_at = null
          where id = any(${again}::bigint[]) returning job_id
        )
        update crawl_progress g set running = g.running - m.n, queued = g.queued + m.n, progressed_at = now()
        from (select job_id, count(*)::int as n from moved group by job_id) m where g.job_id = m.job_id`;
    }
    if (spent.length > 0) {
      await tx`
        with moved as (
          update crawl_pages set state = 'failed', worker_id = null, heartbeat_at = null, finished_at = now(),
            event_id = nextval('crawl_page_events'),
            error = ${jsonb(tx, { code: 'worker_lost', message: 'the worker fetching this page stopped answering, on every attempt' })}
          where id = any(${spent}::bigint[]) returning job_id
        )
        update crawl_progress g set running = g.running - m.n, pages_failed = g.pages_failed + m.n, progressed_at = now()
        from (select job_id, count(*)::int as n from moved group by job_id) m where g.job_id = m.job_id`;
    }
    // A silent worker is gone: the host slots it held are free now, not when their leases run out.
    const silent = [...new Set(mine.map((l) => l.worker_id as string | null).filter((w): w is string => w !== null))];
    await releaseHostSlotsOf(tx, silent);
    const closed: CrawlProgress[] = [];
    for (const jobId of maxAttempts.keys()) {
      const c = await closeIfFinished(tx, jobId, onClosed);
      if (c.closed) closed.push(c.progress);
    }
    return { requeued: again.length, failed: spent.length, closed };
  });
}

/**
 * Open crawls none of whose tasks moved for `staleAfterMs`, or that have run
 * longer than `maxDurationMs` (the backstop): their open tasks fail `stale`
 * and the crawl is closed, `onClosed` in the same transaction per crawl.
 */
export async function reapStaleCrawls(
  sql: Sql,
  p: { staleAfterMs: number; maxDurationMs: number; limit?: number },
  onClosed?: OnCrawlClosed,
): Promise<CrawlProgress[]> {
  const due = await sql`
    select job_id from crawl_progress
    where closed_at is null
      and (progressed_at < now() - ${p.staleAfterMs} * interval '1 millisecond' or created_at < now() - ${p.maxDurationMs} * interval '1 millisecond')
    order by progressed_at limit ${p.limit ?? 100}`;
  const closed: CrawlProgress[] = [];
  for (const { job_id: jobId } of due) {
    const done = await sql.begin(async (tx) => {
      await tx`select id from crawl_pages where job_id = ${jobId as string} and state in ('queued', 'running') order by id for update`;
      const [prog] = await tx`
        select created_at < now() - ${p.maxDurationMs} * interval '1 millisecond' as overran from crawl_progress
        where job_id = ${jobId as string} and closed_at is null
          and (progressed_at < now() - ${p.staleAfterMs} * interval '1 millisecond' or created_at < now() - ${p.maxDurationMs} * interval '1 millisecond')
        for update`;
      if (!prog) return null; // moved meanwhile
      const error = prog.overran
        ? { code: 'stale', message: `the crawl ran longer than ${Math.round(p.maxDurationMs / 60_000)} min` }
        : { code: 'stale', message: `no page of the crawl moved for ${Math.round(p.staleAfterMs / 1000)} s` };
      await tx`
        with moved as (
          update crawl_pages set state = 'failed', worker_id = null, heartbeat_at = null, finished_at = now(),
            event_id = nextval('crawl_page_events'), error = ${jsonb(tx, error)}
          where job_id = ${jobId as string} and state in ('queued', 'running') returning 1
        )
        update crawl_progress set pages_failed = pages_failed + (select count(*) from moved), queued = 0, running = 0
        where job_id = ${jobId as string}`;
      const c = await closeIfFinished(tx, jobId as string, onClosed);
      return c.closed ? c.progress : null;
    });
    if (done) closed.push(done);
  }
  return closed;
}
