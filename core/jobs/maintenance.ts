// Sweeps over jobs whose worker is gone or stuck. Each is a batch of state
// changes (with events, queue clean-up and webhooks) in one transaction that
// skips rows another sweeper holds, so any number may run at once.
import { releaseHostSlotsOf } from '../crawlTasks/hosts.js';
import type { Db, Sql } from '../platform/db.js';
import { EXTRACT_QUEUE, entryLost } from '../queue/index.js';
import type { Boss } from '../queue/index.js';
import type { Job } from './model.js';
import { enqueueAttempt, enqueueFinalWebhooks, finishQueueEntry, moveMany } from './move.js';

const BATCH = 1000;

/**
 * The job is not the parent of a page-task crawl of this run (open, or closed since it was claimed): its
 * crawl's own rules close it, and a parent whose crawl closed is completed by its closer, or by crawl
 * maintenance if that closer stopped (worker/pipeline/crawl/parentCloser.ts). A parent still processing
 * CLOSED_PARENT_GRACE after its crawl closed is one neither could complete: the reaper and rescuer take it.
 */
const notOpenCrawl = (tx: Db) =>
  tx`not exists (select 1 from crawl_progress c where c.job_id = jobs.id and (c.closed_at is null or (c.closed_at >= jobs.started_at and c.closed_at > now() - ${CLOSED_PARENT_GRACE_MS} * interval '1 millisecond')))`;

/** How long a parent whose crawl closed is left to its closer and crawl maintenance (the seed's 10-minute rule). */
export const CLOSED_PARENT_GRACE_MS = 10 * 60_000;

/**
 * processing for longer than staleAfterMs → failed {code: "stale"}. A late
 * completion from the hung worker is then refused by its attempt guard.
 */
export async function reapStaleJobs(sql: Sql, boss: Boss, p: { staleAfterMs: number; limit?: number }): Promise<Job[]> {
  return sql.begin(async (tx) => {
    const minutes = Math.round(p.staleAfterMs / 60_000);
    const message = `job was processing for more than ${minutes >= 1 ? `${minutes} minutes` : `${p.staleAfterMs} ms`}`;
    const moved = await moveMany(tx, {
      from: ['processing'],
      to: 'failed',
      // A crawl run as page tasks is stale when it stops moving, not when it runs long (core/crawlTasks/maintenance.ts).
      where: tx`and started_at < now() - ${p.staleAfterMs} * interval '1 millisecond' and ${notOpenCrawl(tx)}`,
      sweep: { limit: p.limit ?? BATCH, orderBy: tx`started_at` },
      set: tx`error = ${tx.json({ code: 'stale', message } as never)}, completed_at = now(), heartbeat_at = null`,
      detail: { reason: 'stale', staleAfterMs: p.staleAfterMs },
    });
    await finishQueueEntry(tx, moved.map((m) => m.job.queueJobId));
    await enqueueFinalWebhooks(tx, boss, moved);
    return moved.map((m) => m.job);
  });
}

/**
 * Jobs whose worker stopped heartbeating for rescueAfterMs (killed, frozen,
 * partitioned): back to pending for another attempt at once, or failed
 * {code: "abandoned"} when no attempts remain.
 */
export async function rescueAbandonedJobs(sql: Sql, boss: Boss, p: { rescueAfterMs: number; limit?: number }): Promise<{ rescued: Job[]; failed: Job[] }> {
  return sql.begin(async (tx) => {
    // A crawl's parent has no worker of its own: its page tasks are rescued one by one instead.
    const silent = tx`and heartbeat_at < now() - ${p.rescueAfterMs} * interval '1 millisecond' and ${notOpenCrawl(tx)}`;
    const sweep = { limit: p.limit ?? BATCH, orderBy: tx`heartbeat_at` };
    // Their workers are gone: the host slots they held for these jobs' fetches are free now, not when their leases run out.
    const gone = await tx`select distinct worker_id from jobs where status = 'processing' ${silent} and worker_id is not null`;
    await releaseHostSlotsOf(tx, gone.map((r) => r.worker_id as string));
    const rescued = await moveMany(tx, {
      from: ['processing'],
      to: 'pending',
      where: tx`${silent} and attempts < max_attempts`,
      sweep,
      set: tx`worker_id = null, heartbeat_at = null`,
      detail: { reason: 'rescued', rescueAfterMs: p.rescueAfterMs },
    });
    const failed = await moveMany(tx, {
      from: ['processing'],
      to: 'failed',
      where: tx`${silent} and attempts >= max_attempts`,
      sweep,
      set: tx`error = ${tx.json({ code: 'abandoned', message: 'the worker running the job stopped responding on its last attempt' } as never)},
              completed_at = now(), heartbeat_at = null`,
      detail: { reason: 'abandoned', rescueAfterMs: p.rescueAfterMs },
    });
    await finishQueueEntry(tx, [...rescued, ...failed].map((m) => m.job.queueJobId));
    const again: Job[] = [];
    for (const m of rescued) again.push(await enqueueAttempt(tx, m.job.id));
    await enqueueFinalWebhooks(tx, boss, failed);
    return { rescued: again, failed: failed.map((m) => m.job) };
  });
}

/** Where the orphan check stopped in the pending backlog (creation order). */
export interface BacklogCursor {
  createdAt: string;
  id: string;
}

/**
 * pending jobs whose queue entry can no longer run them: a worker died between
 * fetching the entry and claiming the job (entry stuck active), or the entry
 * ended without the job moving (e.g. pg-boss archived it). They get a fresh
 * entry; no state changes. Each call looks at the next `scan` pending jobs
 * after `after` in creation order (the jobs_pending index), so a pass costs
 * the same whatever the backlog; `next` is where the following call goes on
 * (null: the end was reached, start over).
 */
export async function requeueOrphanedJobs(
  sql: Sql,
  p: { orphanAfterMs: number; scan?: number; after?: BacklogCursor | null },
): Promise<{ requeued: string[]; next: BacklogCursor | null }> {
  const scan = p.scan ?? BATCH;
  const after = p.after ?? null;
  return sql.begin(async (tx) => {
    // One statement: the slice of the backlog, its last row (the next cursor) and the orphans in it, locked.
    const rows = await tx`
      with slice as (
        select id, created_at from jobs
        where status = 'pending'
          ${after ? tx`and created_at >= ${after.createdAt}::timestamptz and (created_at, id) > (${after.createdAt}::timestamptz, ${after.id})` : tx``}
        order by created_at, id
        limit ${scan}
      ), last as (
        select id, created_at::text as created_at, (select count(*) from slice)::int as n from slice order by created_at desc, id desc limit 1
      ), orphans as (
        select j.id, j.queue_job_id from slice
        join jobs j on j.id = slice.id
        where j.status = 'pending'
          and j.updated_at < now() - ${p.orphanAfterMs} * interval '1 millisecond'
          and ${entryLost(tx, EXTRACT_QUEUE, tx`j.queue_job_id`, p.orphanAfterMs)}
        for update of j skip locked
      )
      select 'orphan' as kind, id, queue_job_id, null as created_at, null::int as n from orphans
      union all
      select 'last', id, null, created_at, n from last`;
    const last = rows.find((r) => r.kind === 'last');
    const next = !last || (last.n as number) < scan ? null : { createdAt: last.created_at as string, id: last.id as string };
    const orphans = rows.filter((r) => r.kind === 'orphan');
    await finishQueueEntry(tx, orphans.map((r) => r.queue_job_id as string | null));
    for (const row of orphans) await enqueueAttempt(tx, row.id as string);
    return { requeued: orphans.map((r) => r.id as string), next };
  });
}

export interface RetentionBatch {
  jobs: string[];
  events: number;
  deliveries: number;
}

/**
 * Up to `limit` jobs that reached a final state before `cutoff`, chosen
 * through jobs_by_finished (the scan stops after `limit` rows, however many
 * have expired). Read without locks: deleteFinishedJobs checks again.
 */
export async function expiredJobIds(sql: Sql, p: { cutoff: Date; limit: number }): Promise<string[]> {
  const rows = await sql`
    select id from jobs
    where status in ('completed', 'failed', 'cancelled') and completed_at is not null and completed_at < ${p.cutoff}
    limit ${p.limit}`;
  return rows.map((r) => r.id as string);
}

/**
 * Delete these jobs with their events and webhook deliveries, in one
 * statement, if they are still finished before `cutoff` (a client may have
 * retried one meanwhile) and no one holds them.
 */
export async function deleteFinishedJobs(sql: Sql, p: { ids: string[]; cutoff: Date }): Promise<RetentionBatch> {
  if (p.ids.length === 0) return { jobs: [], events: 0, deliveries: 0 };
  const [row] = await sql`
    with doomed as (
      select id from jobs
      where id = any(${p.ids}::text[])
        and status in ('completed', 'failed', 'cancelled') and completed_at < ${p.cutoff}
      for update skip locked
    ), events as (
      delete from job_events where job_id in (select id from doomed) returning 1
    ), deliveries as (
      delete from webhook_deliveries where job_id in (select id from doomed) returning 1
    ), gone as (
      delete from jobs where id in (select id from doomed) returning id
    )
    select array(select id from gone) as jobs, (select count(*) from events)::int as events, (select count(*) from deliveries)::int as deliveries`;
  return { jobs: row!.jobs as string[], events: row!.events as number, deliveries: row!.deliveries as number };
}
