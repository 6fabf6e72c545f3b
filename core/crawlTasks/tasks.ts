// Page tasks: a crawl fanned out into rows any worker can claim.
//
// The parent job's crawl_progress row is the crawl's one lock and its
// counters: every move of a task updates them in the same transaction, so
// progress is read from one row (no count(*) per poll) and a crawl's moves
// are serialised on it (task row first, then the progress row, everywhere,
// so two moves never wait on each other in a cycle). A task moves
//   queued → running (claim) → done | failed | skipped, or back to queued (retry, rescue);
//   queued | running → cancelled (cancel), queued → skipped (the crawl reached maxPages).
// Every move of a running task is guarded by the attempt its worker claimed,
// so a worker that lost its task (rescued, cancelled) changes nothing.
import type { Db, Sql } from '../platform/db.js';
import { jsonb, wellFormedText } from '../platform/jsonb.js';

export type PageTaskState = 'queued' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';
export const PAGE_TASK_STATES: readonly PageTaskState[] = ['queued', 'running', 'done', 'failed', 'skipped', 'cancelled'];

export interface PageError {
  code: string;
  message: string;
  [k: string]: unknown;
}

/** A URL found by discovery: `key` is its normalised form (worker/pipeline/crawl/urls.ts normalizeUrl), one task per key. */
export interface DiscoveredPage {
  url: string;
  key: string;
  depth: number;
  /** Link hops from the start page, where sitemap URLs are 0 too (Firecrawl's maxDiscoveryDepth); 0 when not given. */
  hops?: number;
}

export interface CrawlProgress {
  jobId: string;
  maxPages: number;
  maxDepth: number;
  maxTasks: number;
  tasks: number;
  queued: number;
  running: number;
  pagesDone: number;
  pagesFailed: number;
  pagesSkipped: number;
  pagesCancelled: number;
  chunksIndexed: number;
  progressedAt: Date;
  closedAt: Date | null;
}

export interface PageTask {
  id: string;
  jobId: string;
  apiKeyId: string;
  url: string;
  urlKey: string;
  depth: number;
  hops: number;
  attempt: number;
}

/** What a caller does in the transaction that closes a crawl (its last open task ended): complete the parent, its event and webhook. */
export type OnCrawlClosed = (tx: Db, progress: CrawlProgress) => Promise<void>;

export function toProgress(r: Record<string, unknown>): CrawlProgress {
  return {
    jobId: r.job_id as string,
    maxPages: r.max_pages as number,
    maxDepth: r.max_depth as number,
    maxTasks: r.max_tasks as number,
    tasks: r.tasks as number,
    queued: r.queued as number,
    running: r.running as number,
    pagesDone: r.pages_done as number,
    pagesFailed: r.pages_failed as number,
    pagesSkipped: r.pages_skipped as number,
    pagesCancelled: r.pages_cancelled as number,
    chunksIndexed: r.chunks_indexed as number,
    progressedAt: r.progressed_at as Date,
    closedAt: (r.closed_at as Date | null) ?? null,
  };
}

/** A crawl_pages row as the task its worker runs (core/queue/claimPageTasks.ts). */
export function toPageTask(r: Record<string, unknown>): PageTask {
  return {
    id: String(r.id),
    jobId: r.job_id as string,
    apiKeyId: r.api_key_id as string,
    url: r.url as string,
    urlKey: r.url_key as string,
    depth: r.depth as number,
    hops: (r.hops as number | undefined) ?? 0,
    attempt: r.attempts as number,
  };
}

/** In a transaction: `fn` runs in the caller's, else in a new one. */
function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return 'begin' in db ? (db as Sql).begin((tx) => fn(tx)) as Promise<T> : fn(db);
}

/** Task fetches in all, failures included, for a crawl of `maxPages` (as the in-process crawl's fetch budget). */
export function taskBudget(maxPages: number): number {
  return maxPages * 3 + 5;
}

/**
 * Open a crawl for a parent job and queue its first pages (the start page;
 * named URLs). Call it in the transaction that makes the job a crawl.
 * `maxRunning` caps the crawl's tasks running at once (Firecrawl's maxConcurrency);
 * `delayMs` spaces its page requests (Firecrawl's delay, crawlDelay.ts).
 */
export async function openCrawl(
  db: Db,
  p: { jobId: string; apiKeyId: string; maxPages: number; maxDepth: number; maxAttempts: number; maxTasks?: number; maxRunning?: number | undefined; delayMs?: number | undefined; seeds: DiscoveredPage[] },
): Promise<{ created: number }> {
  return inTransaction(db, async (tx) => {
    await tx`
      insert into crawl_progress (job_id, api_key_id, max_pages, max_depth, max_tasks, max_attempts, max_running, delay_ms)
      values (${p.jobId}, ${p.apiKeyId}, ${p.maxPages}, ${p.maxDepth}, ${p.maxTasks ?? taskBudget(p.maxPages)}, ${p.maxAttempts}, ${p.maxRunning ?? null}, ${p.delayMs ? Math.round(p.delayMs) : null})`;
    return discoverPages(tx, { jobId: p.jobId, pages: p.seeds });
  });
}

/**
 * Queue pages found by discovery (links, sitemaps), once per normalised URL
 * per crawl: two workers discovering the same link at once create one task
 * (the crawl's progress row serialises them; the unique key is the backstop).
 * Pages deeper than maxDepth, or beyond the crawl's task budget, are dropped
 * (in the order given), and a closed crawl takes nothing. A page given twice,
 * or queued already, keeps its fewest link hops (maxDiscoveryDepth).
 */
export async function discoverPages(db: Db, p: { jobId: string; pages: readonly DiscoveredPage[] }): Promise<{ created: number }> {
  if (p.pages.length === 0) return { created: 0 };
  return inTransaction(db, async (tx) => {
    // Locked first: the statement below then sees every task committed by the previous holder.
    const [prog] = await tx`
      select api_key_id, max_depth, max_tasks - tasks as room from crawl_progress
      where job_id = ${p.jobId} and closed_at is null for update`;
    if (!prog || (prog.room as number) <= 0) return { created: 0 };
    const [row] = await tx`
      with given as (
        select distinct on (key) url, key, depth, hops, ord
        from unnest(${p.pages.map((x) => x.url)}::text[], ${p.pages.map((x) => x.key)}::text[], ${p.pages.map((x) => x.depth)}::int[], ${p.pages.map((x) => x.hops ?? 0)}::int[])
          with ordinality as g (url, key, depth, hops, ord)
        where depth <= ${prog.max_depth as number}
        order by key, hops, ord
      ), fewer_hops as (
        -- A page found again by a shorter route (a sitemap URL the start page also links to) counts
        -- its fewest link hops while still queued, so maxDiscoveryDepth does not depend on which worker found it first.
        update crawl_pages t set hops = g.hops from given g
        where t.job_id = ${p.jobId} and t.url_key = g.key and t.state = 'queued' and g.hops < t.hops
      ), fresh as (
        select * from given g
        where not exists (select 1 from crawl_pages t where t.job_id = ${p.jobId} and t.url_key = g.key)
        order by ord
        limit ${prog.room as number}
      ), created as (
        insert into crawl_pages (job_id, api_key_id, url_key, url, depth, hops, state)
        select ${p.jobId}, ${prog.api_key_id as string}, key, url, depth, hops, 'queued' from fresh order by ord
        on conflict (job_id, url_key) do nothing
        returning 1
      ), counted as (
        update crawl_progress set tasks = tasks + (select count(*) from created), queued = queued + (select count(*) from created)
        where job_id = ${p.jobId} and exists (select 1 from created)
      )
      select count(*)::int as n from created`;
    return { created: row!.n as number };
  });
}

/** The knowledge item a done page produced. */
export interface PageItem {
  title: string;
  description: string;
  content: string;
  category: string;
}

export type PageOutcome =
  | { state: 'done'; chunks: number; finalUrl?: string; item?: PageItem }
  | { state: 'failed'; error: PageError; finalUrl?: string }
  | { state: 'skipped'; error: PageError; finalUrl?: string }
  /** Try again after `delayMs` while attempts remain (a timeout, a 503), else failed with `error`. */
  | { state: 'retry'; error: PageError; delayMs: number };

export interface FinishResult {
  /** False when the attempt was no longer the task's (rescued, cancelled): nothing was written. */
  held: boolean;
  state?: PageTaskState;
  created: number;
  progress?: CrawlProgress;
  /** This move ended the crawl's last open task (or reached maxPages): the crawl is closed. */
  closed: boolean;
}

/**
 * Record a page's outcome for the attempt a worker holds, queue the links it
 * found, and close the crawl when no task is open any more, all in one
 * transaction (`onClosed` runs in it: the parent's completion, its event and
 * webhook commit with the last page). Once maxPages pages are done, the
 * crawl's queued tasks are skipped.
 */
export async function finishPageTask(
  sql: Sql,
  p: { taskId: string; attempt: number; outcome: PageOutcome; discovered?: readonly DiscoveredPage[]; maxAttempts?: number },
  onClosed?: OnCrawlClosed,
): Promise<FinishResult> {
  return sql.begin(async (tx) => {
    const o = p.outcome;
    const [task] = await tx`select job_id from crawl_pages where id = ${p.taskId} and state = 'running' and attempts = ${p.attempt} for update`;
    if (!task) return { held: false, created: 0, closed: false };
    const jobId = task.job_id as string;
    const [limits] = await tx`select max_attempts from crawl_progress where job_id = ${jobId} for update`;
    let state: PageTaskState;
    if (o.state === 'retry' && p.attempt < (limits!.max_attempts as number)) {
      state = 'queued';
      await tx`
        update crawl_pages set state = 'queued', worker_id = null, heartbeat_at = null, error = ${jsonb(tx, o.error)},
          run_after = now() + ${Math.max(0, o.delayMs)} * interval '1 millisecond'
        where id = ${p.taskId}`;
      await tx`update crawl_progress set running = running - 1, queued = queued + 1, progressed_at = now() where job_id = ${jobId}`;
    } else {
      state = o.state === 'retry' ? 'failed' : o.state;
      const error = o.state === 'done' ? null : o.error;
      const chunks = o.state === 'done' ? o.chunks : null;
      const finalUrl = o.state === 'retry' ? null : (o.finalUrl ?? null);
      const item = o.state === 'done' ? o.item : undefined;
      await tx`
        update crawl_pages set state = ${state}, worker_id = null, heartbeat_at = null, finished_at = now(),
          error = ${error === null ? null : jsonb(tx, error)}, chunks = ${chunks}, final_url = ${finalUrl},
          title = ${item ? wellFormedText(item.title) : null}, description = ${item ? wellFormedText(item.description) : null},
          content = ${item ? wellFormedText(item.content) : null}, category = ${item?.category ?? null},
          event_id = nextval('crawl_page_events')
        where id = ${p.taskId}`;
      await tx`
        update crawl_progress set running = running - 1, progressed_at = now(),
          pages_done = pages_done + ${state === 'done' ? 1 : 0},
          pages_failed = pages_failed + ${state === 'failed' ? 1 : 0},
          pages_skipped = pages_skipped + ${state === 'skipped' ? 1 : 0},
          chunks_indexed = chunks_indexed + ${chunks ?? 0}
        where job_id = ${jobId}`;
    }
    const { created } = p.discovered && state !== 'queued' ? await discoverPages(tx, { jobId, pages: p.discovered }) : { created: 0 };
    const closed = await closeIfFinished(tx, jobId, onClosed);
    return { held: true, state, created, progress: closed.progress, closed: closed.closed };
  });
}

/**
 * In a transaction holding the crawl's progress row (or about to take it):
 * skip its queued tasks once maxPages pages are done, and close it when no
 * task is open, running `onClosed` in the same transaction.
 */
export async function closeIfFinished(tx: Db, jobId: string, onClosed?: OnCrawlClosed): Promise<{ closed: boolean; progress: CrawlProgress }> {
  const [prog] = await tx`select * from crawl_progress where job_id = ${jobId} for update`;
  let progress = toProgress(prog!);
  if (progress.closedAt !== null) return { closed: false, progress };
  if (progress.pagesDone >= progress.maxPages && progress.queued > 0) {
    await tx`
      update crawl_pages set state = 'skipped', finished_at = now(), event_id = nextval('crawl_page_events'),
        error = ${jsonb(tx, { code: 'over_limit', message: `the crawl reached maxPages (${progress.maxPages})` })}
      where job_id = ${jobId} and state = 'queued'`;
    await tx`update crawl_progress set pages_skipped = pages_skipped + queued, queued = 0 where job_id = ${jobId}`;
  }
  const [closed] = await tx`
    update crawl_progress set closed_at = now() where job_id = ${jobId} and queued = 0 and running = 0 and closed_at is null returning *`;
  if (closed) {
    progress = toProgress(closed);
    await onClosed?.(tx, progress);
    return { closed: true, progress };
  }
  const [now] = await tx`select * from crawl_progress where job_id = ${jobId}`;
  return { closed: false, progress: toProgress(now!) };
}

/**
 * Heartbeat the tasks a worker runs; returns the ids it still holds (a task
 * rescued or cancelled meanwhile is missing: its worker stops it).
 *
 * Rows another transaction holds (the task's own finish waiting on its crawl
 * row, a move under way) are skipped, not waited on: a wait held up every
 * other task's heartbeat until the rescuer took them. A skipped row is not
 * refreshed this time and counts as held as the statement's snapshot shows it;
 * the rescuer skips locked rows too, and the next heartbeat (at most half of
 * RESCUE_AFTER later) refreshes it or finds it moved.
 */
export async function heartbeatPageTasks(db: Db, p: { workerId: string; tasks: { id: string; attempt: number }[] }): Promise<Set<string>> {
  if (p.tasks.length === 0) return new Set();
  const rows = await db`
    with sent as (
      select * from unnest(${p.tasks.map((t) => t.id)}::bigint[], ${p.tasks.map((t) => t.attempt)}::int[]) as h (id, attempt)
    ), mine as (
      select t.id from crawl_pages t join sent h on t.id = h.id and t.attempts = h.attempt
      where t.state = 'running' and t.worker_id = ${p.workerId}
    ), free as (
      select t.id from crawl_pages t join sent h on t.id = h.id and t.attempts = h.attempt
      where t.state = 'running' and t.worker_id = ${p.workerId}
      for update of t skip locked
    ), beat as (
      update crawl_pages t set heartbeat_at = now() from free f where t.id = f.id
    )
    select id from mine`;
  return new Set(rows.map((r) => String(r.id)));
}

/** Cancel a crawl: its open tasks become cancelled (running workers learn it at their next heartbeat) and it is closed. */
export async function cancelCrawl(db: Db, jobId: string): Promise<{ cancelled: number }> {
  return inTransaction(db, async (tx) => {
    // Task rows first, then the progress row, as every move takes them.
    await tx`select id from crawl_pages where job_id = ${jobId} and state in ('queued', 'running') order by id for update`;
    const [prog] = await tx`select closed_at from crawl_progress where job_id = ${jobId} for update`;
    if (!prog || prog.closed_at !== null) return { cancelled: 0 };
    const rows = await tx`
      update crawl_pages set state = 'cancelled', worker_id = null, heartbeat_at = null, finished_at = now(), event_id = nextval('crawl_page_events')
      where job_id = ${jobId} and state in ('queued', 'running')
      returning 1`;
    await tx`
      update crawl_progress set pages_cancelled = pages_cancelled + queued + running, queued = 0, running = 0, closed_at = now(), progressed_at = now()
      where job_id = ${jobId}`;
    return { cancelled: rows.length };
  });
}

/** The crawl's counters (one row: what `progress` of its parent is made of). */
export async function getCrawlProgress(db: Db, jobId: string): Promise<CrawlProgress | null> {
  const [row] = await db`select * from crawl_progress where job_id = ${jobId}`;
  return row ? toProgress(row) : null;
}
