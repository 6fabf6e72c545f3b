// The moves a worker makes on the job it holds. Each is guarded by the
// attempt number the worker claimed, so a worker that lost its claim (the job
// was reaped, rescued or cancelled meanwhile) changes nothing.
import type { Db, Sql } from '../db.js';
import type { Logger } from '../logger.js';
import type { Boss } from '../queue.js';
import type { Job, JobError, JobStatus } from './model.js';
import { enqueueAttempt, enqueueFinalWebhooks, finishQueueEntry, moveOne, refused } from './move.js';

interface Held {
  jobId: string;
  attempt: number;
  workerId: string;
  queueJobId: string;
}

/** pending → processing, for the worker that fetched this queue entry. */
export async function claimJob(sql: Sql, logger: Logger, p: { jobId: string; queueJobId: string; workerId: string }): Promise<Job | null> {
  const moved = await moveOne(sql, p.jobId, {
    from: ['pending'],
    to: 'processing',
    where: sql`and queue_job_id = ${p.queueJobId}`,
    set: sql`attempts = j.attempts + 1, worker_id = ${p.workerId}, started_at = now(), heartbeat_at = now(), run_after = null, progress = null`,
    workerId: p.workerId,
  });
  return moved?.job ?? refused(logger, p.jobId, 'claim', 'pending on this queue entry');
}

/** processing → completed, with the result (and its webhook, if any). */
export async function completeJob(
  sql: Sql,
  boss: Boss,
  logger: Logger,
  p: Held & { result: unknown; progress?: Record<string, unknown> | null },
): Promise<Job | null> {
  return sql.begin(async (tx) => {
    // Job row first, queue entry second: the sweeps lock in the same order (no deadlock).
    const moved = await moveOne(tx, p.jobId, {
      from: ['processing'],
      to: 'completed',
      where: tx`and attempts = ${p.attempt}`,
      set: tx`result = ${tx.json(p.result as never)}, error = null, completed_at = now(), heartbeat_at = null
              ${p.progress ? tx`, progress = ${tx.json(p.progress as never)}` : tx``}`,
      workerId: p.workerId,
    });
    await finishQueueEntry(tx, boss, p.queueJobId);
    if (!moved) return refused(logger, p.jobId, 'complete', `processing on attempt ${p.attempt}`);
    await enqueueFinalWebhooks(tx, boss, [moved]);
    return moved.job;
  });
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
            set: tx`error = ${tx.json(p.error as never)}, worker_id = null, heartbeat_at = null,
                    run_after = now() + ${p.retryDelayMs} * interval '1 millisecond'`,
            workerId: p.workerId,
            detail: { reason: 'retry', error: p.error, retryInMs: p.retryDelayMs },
          })
        : await moveOne(tx, p.jobId, {
            from: ['processing'],
            to: 'failed',
            where: tx`and attempts = ${p.attempt}`,
            set: tx`error = ${tx.json(p.error as never)}, completed_at = now(), heartbeat_at = null`,
            workerId: p.workerId,
            detail: { error: p.error },
          });
    await finishQueueEntry(tx, boss, p.queueJobId);
    if (!moved) return refused(logger, p.jobId, 'fail', `processing on attempt ${p.attempt}`);
    if (moved.job.status === 'pending') return enqueueAttempt(tx, boss, p.jobId, Math.ceil(p.retryDelayMs / 1000));
    await enqueueFinalWebhooks(tx, boss, [moved]);
    return moved.job;
  });
}

/**
 * processing → pending without charging the attempt: the worker is shutting
 * down and hands the job back for another worker to run at once.
 */
export async function releaseJob(sql: Sql, boss: Boss, logger: Logger, p: Held & { reason: string }): Promise<Job | null> {
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
    await finishQueueEntry(tx, boss, p.queueJobId);
    if (!moved) return refused(logger, p.jobId, 'release', `processing on attempt ${p.attempt}`);
    return enqueueAttempt(tx, boss, p.jobId);
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
      ${p.progress ? db`, progress = ${db.json(p.progress as never)}` : db``}
    where id = ${p.jobId} and attempts = ${p.attempt} and status = 'processing'
    returning status`;
  if (row) return { held: true, status: 'processing' };
  const [current] = await db`select status from jobs where id = ${p.jobId}`;
  return { held: false, status: (current?.status as JobStatus | undefined) ?? null };
}
