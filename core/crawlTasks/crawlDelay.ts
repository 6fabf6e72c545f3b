// A crawl's own delay between its page requests (Firecrawl's `delay`), over
// every worker: a page task reserves the crawl's next start on its row
// (crawl_progress.next_fetch_at, migration 031) and waits for it. The host
// limits (hosts.ts) still apply after it.
import type { Db } from '../platform/db.js';
import { sleep } from './hosts.js';

/**
 * Reserve this page's request start: the later of now and the crawl's next
 * start, which moves on by the crawl's delay. Returns the milliseconds to wait
 * (0 for a crawl without a delay or a closed one).
 */
export async function reserveCrawlFetch(db: Db, jobId: string): Promise<number> {
  const [row] = await db`
    with prev as (select job_id, greatest(coalesce(next_fetch_at, clock_timestamp()), clock_timestamp()) as start_at from crawl_progress where job_id = ${jobId} and delay_ms is not null for update)
    update crawl_progress c set next_fetch_at = prev.start_at + c.delay_ms * interval '1 millisecond'
    from prev where c.job_id = prev.job_id
    returning ceil(extract(epoch from (prev.start_at - clock_timestamp())) * 1000)::int as wait_ms`;
  return Math.max(0, (row?.wait_ms as number | undefined) ?? 0);
}

/** reserveCrawlFetch, then the wait (aborted with `signal`). */
export async function waitForCrawlFetch(db: Db, jobId: string, signal: AbortSignal): Promise<void> {
  const waitMs = await reserveCrawlFetch(db, jobId);
  if (waitMs > 0) await sleep(waitMs, signal);
}
