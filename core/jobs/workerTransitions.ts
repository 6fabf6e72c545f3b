// The moves a worker makes on the job it holds. Each is guarded by the
// attempt number the worker claimed, so a worker that lost its claim (the job
// was reaped, rescued or cancelled meanwhile) changes nothing.
import type { Db, Sql } from '../platform/db.js';
import { jsonb } from '../platform/jsonb.js';
import type { Logger } from '../platform/logger.js';
import { EXTRACT_QUEUE, claimableEntries, nextClaimCursor, settleQueueEntries, type Boss } from '../queue/index.js';
import { toJob, type Job, type JobError, type JobStatus } from './model.js';
import { startedEntries } from '../webhooks/deliveries.js';
import { enqueueAttempt, enqueueFinalWebhooks, finishQueueEntry, moveOne, moveStatement, refused } from './move.js';

interface Held {
  jobId: string;
  attempt: number;
  workerId: string;
  queueJobId: string;
}

export interface ClaimedJob {
  /** The queue entry that carried the job. */
  entryId: string;
  job: Job;
}

/**
 * pending → processing for up to `limit` due jobs, in one statement (one round
 * trip, one commit): pick claimable queue entries (claimableEntries: tenants
 * take turns, each in first-creation order), claim the jobs they carry with
 * their events, and settle the entries (active for a claimed job; completed
 * for one that carries nothing any more: the job was cancelled, or the entry
 * superseded by a newer one). Rows are locked entry first, then job, both
 * skipping locked rows, so the claim never waits: a job held by a cancel or a
 * sweep at that moment keeps its entry for the next round. `seen` counts the
 * entries picked, claimed or not, plus retries whose backoff ended (more may
 * be waiting); `cursor` goes in the caller's next claim as `after`. A claimed
 * job whose key subscribes to EXTRACTION_STARTED gets that webhook queued in
 * the same statement (startedEntries).
 */
export async function claimNextJobs(
  sql: Sql,
  p: { workerId: string; limit: number; after?: string },
): Promise<{ claimed: ClaimedJob[]; seen: number; cursor: string }> {
  const after = p.after ?? '';
  const rows = await sql`
    with recursive ${claimableEntries(sql, p.limit, after)}, previous as (
      select id, status, queue_job_id from jobs where id in (select data->>'jobId' from next)
      for update skip locked
    ), ${moveStatement(sql, {
      from: ['pending'],
      to: 'processing',
      // Only through the entry the job now records: a superseded one claims nothing.
      join: sql`join next on next.id = previous.queue_job_id`,
      set: sql`attempts = j.attempts + 1, worker_id = ${p.workerId}, started_at = now(), heartbeat_at = now(), run_after = null, progress = null`,
      workerId: p.workerId,
    })}, entries as (
      ${settleQueueEntries(
        sql,
        EXTRACT_QUEUE,
        sql`(select next.id, case when moved.id is null then 'completed' else 'active' end as state
             from next left join previous on previous.id = next.data->>'jobId' left join moved on moved.queue_job_id = next.id
             where previous.id is not null or not exists (select 1 from jobs where id = next.data->>'jobId'))`,
      )}
    ), started as (
      ${startedEntries(sql)}
    )
    select p.promoted, next.id as entry_id, next.key as entry_key, next.visit as entry_visit, moved.*
    from (select count(*)::int as promoted from promoted) p
    left join (next left join moved on moved.queue_job_id = next.id) on true`;
  const picked = rows.filter((r) => r.entry_id !== null);
  const claimed = picked.filter((r) => r.id !== null).map((r) => ({ entryId: String(r.entry_id), job: toJob(r) }));
  const cursor = nextClaimCursor(after, picked.map((r) => ({ key: String(r.entry_key), visit: Number(r.entry_visit) })));
  return { claimed, seen: picked.length + Number(rows[0]?.promoted ?? 0), cursor };
}

/** Exponential backoff with jitter: uniform in [c/2, c] where c = base·2^(attempt-1), capped. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A failed attempt: back to pending with a delayed queue entry while attempts
 * remain and the error is retryable, otherwise failed for good.
 */
export async function failAttempt(
  sql: Sql,
  boss: Boss,
  logger: Logger,
  p: Held & { error: JobError; retryable: boolean; retryDelayMs: number },
): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const [current] = await tx`select attempts, max_attempts from jobs where id = ${p.jobId} for update`;
    const attemptsLeft = current !== undefined && (current.max_attempts as number) > p.attempt;
    const moved =
      p.retryable && attemptsLeft
        ? await moveOne(tx, p.jobId, {
            from: ['processing'],
            to: 'pending',
            where: tx`and attempts = ${p.attempt}`,
            set: tx`error = ${jsonb(tx, p.error)}, worker_id = null, heartbeat_at = null,
                    run_after = now() + ${p.retryDelayMs} * interval '1 millisecond'`,
            workerId: p.workerId,
            detail: { reason: 'retry', error: p.error, retryInMs: p.retryDelayMs },
          })
        : await moveOne(tx, p.jobId, {
            from: ['processing'],
            to: 'failed',
            where: tx`and attempts = ${p.attempt}`,
            set: tx`error = ${jsonb(tx, p.error)}, completed_at = now(), heartbeat_at = null`,
            workerId: p.workerId,
            detail: { error: p.error },
          });
    await finishQueueEntry(tx, p.queueJobId);
    if (!moved) return refused(logger, p.jobId, 'fail', `processing on attempt ${p.attempt}`);
    if (moved.job.status === 'pending') return enqueueAttempt(tx, p.jobId, Math.ceil(p.retryDelayMs / 1000));
    await enqueueFinalWebhooks(tx, boss, [moved]);
    return moved.job;
  });
}

/**
 * processing → pending without charging the attempt: the worker is shutting
 * down and hands the job back for another worker to run at once.
 */
export async function releaseJob(sql: Sql, logger: Logger, p: Held & { reason: string }): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const moved = await moveOne(tx, p.jobId, {
      from: ['processing'],
      to: 'pending',
      where: tx`and attempts = ${p.attempt}`,
      // The interruption is not the job's fault: it gets its attempt back as budget.
      set: tx`max_attempts = j.max_attempts + 1, worker_id = null, heartbeat_at = null`,
      workerId: p.workerId,
      detail: { reason: p.reason },
    });
    await finishQueueEntry(tx, p.queueJobId);
    if (!moved) return refused(logger, p.jobId, 'release', `processing on attempt ${p.attempt}`);
    return enqueueAttempt(tx, p.jobId);
  });
}

/**
 * Record a heartbeat (and progress) for the attempt a worker holds. `held` is
 * false once the attempt is over for any reason (cancelled, reaped, rescued):
 * the worker should stop.
 */
export async function heartbeat(
  db: Db,
  p: { jobId: string; attempt: number; progress?: Record<string, unknown> },
): Promise<{ held: boolean; status: JobStatus | null }> {
  const [row] = await db`
    update jobs set heartbeat_at = now(), updated_at = now()
      ${p.progress ? db`, progress = ${jsonb(db, p.progress)}` : db``}
    where id = ${p.jobId} and attempts = ${p.attempt} and status = 'processing'
    returning status`;
  if (row) return { held: true, status: 'processing' };
  const [current] = await db`select status from jobs where id = ${p.jobId}`;
  return { held: false, status: (current?.status as JobStatus | undefined) ?? null };
}
