// The job state machine: the only code that writes jobs.status and job_events.
// Every move is one statement that updates the job only if it is in an allowed
// state (and, for a worker, still on the attempt that worker holds) and writes
// the event row; a refused move changes nothing and is logged.
import type postgres from 'postgres';
import type { Db, Sql } from './db.js';
import { newJobId } from './ids.js';
import type { Logger } from './logger.js';
import { EXTRACT_QUEUE, JOBS_CHANNEL, bossDb, type Boss } from './queue.js';

export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Legal moves. pending is reached again by a retry (automatic or manual) or when a worker releases a job. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['processing', 'cancelled'],
  processing: ['completed', 'failed', 'pending', 'cancelled'],
  completed: [],
  failed: ['pending'],
  cancelled: ['pending'],
};
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface JobInput {
  url: string;
  urls?: string[];
  maxPages?: number;
  singlePage?: boolean;
  includePatterns?: string[];
  excludePatterns?: string[];
}

export interface JobError {
  code: string;
  message: string;
  [extra: string]: unknown;
}

export interface Job {
  id: string;
  apiKeyId: string;
  kind: string;
  status: JobStatus;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  attempts: number;
  maxAttempts: number;
  queueJobId: string | null;
  progress: Record<string, unknown> | null;
  result: unknown;
  error: JobError | null;
  workerId: string | null;
  heartbeatAt: Date | null;
  runAfter: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  updatedAt: Date;
}

export interface JobEvent {
  id: string;
  jobId: string;
  fromStatus: JobStatus | null;
  toStatus: JobStatus;
  at: Date;
  attempt: number;
  workerId: string | null;
  detail: Record<string, unknown> | null;
}

const toJob = (r: postgres.Row): Job => ({
  id: r.id,
  apiKeyId: r.api_key_id,
  kind: r.kind,
  status: r.status,
  input: r.input,
  callbackUrl: r.callback_url,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  queueJobId: r.queue_job_id,
  progress: r.progress,
  result: r.result,
  error: r.error,
  workerId: r.worker_id,
  heartbeatAt: r.heartbeat_at,
  runAfter: r.run_after,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  updatedAt: r.updated_at,
});

const toEvent = (r: postgres.Row): JobEvent => ({
  id: String(r.id),
  jobId: r.job_id,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  at: r.at,
  attempt: r.attempt,
  workerId: r.worker_id,
  detail: r.detail,
});

export class IdempotencyConflictError extends Error {
  constructor(readonly jobId: string) {
    super('this Idempotency-Key was already used with a different request body');
  }
}

/** Queue entry for the job's next attempt, in the caller's transaction. */
async function enqueue(tx: Db, boss: Boss, jobId: string, startAfterSeconds = 0): Promise<string> {
  const id = await boss.send(EXTRACT_QUEUE, { jobId }, { db: bossDb(tx), startAfter: startAfterSeconds });
  if (!id) throw new Error(`queue refused job ${jobId}`);
  return id;
}

async function wakeWorkers(tx: Db): Promise<void> {
  await tx`select pg_notify(${JOBS_CHANNEL}, '')`;
}

export interface CreateJobParams {
  apiKeyId: string;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  maxAttempts: number;
}

/**
 * Records the job as pending, enqueues it and wakes the workers, all in one
 * transaction. With an idempotency key already used by the same key, returns
 * the existing job (replayed) or throws IdempotencyConflictError when the body differs.
 */
export async function createJob(sql: Sql, boss: Boss, p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
  return sql.begin(async (tx) => {
    const id = newJobId();
    const [row] = await tx`
      with created as (
        insert into jobs (id, api_key_id, status, input, callback_url, idempotency_key, request_hash, max_attempts)
        values (${id}, ${p.apiKeyId}, 'pending', ${tx.json(p.input as never)}, ${p.callbackUrl}, ${p.idempotencyKey}, ${p.requestHash}, ${p.maxAttempts})
        on conflict (api_key_id, idempotency_key) where idempotency_key is not null do nothing
        returning *
      ), event as (
        insert into job_events (job_id, from_status, to_status, attempt)
        select id, null, 'pending', 0 from created
      )
      select * from created`;
    if (!row) {
      const [existing] = await tx`select * from jobs where api_key_id = ${p.apiKeyId} and idempotency_key = ${p.idempotencyKey}`;
      if (!existing) throw new Error('idempotency conflict on a job that no longer exists');
      const job = toJob(existing);
      if (job.requestHash !== p.requestHash) throw new IdempotencyConflictError(job.id);
      return { job, replayed: true };
    }
    const queueJobId = await enqueue(tx, boss, id);
    const [withQueue] = await tx`update jobs set queue_job_id = ${queueJobId} where id = ${id} returning *`;
    await wakeWorkers(tx);
    return { job: toJob(withQueue!), replayed: false };
  });
}

interface Move {
  jobId: string;
  from: readonly JobStatus[];
  to: JobStatus;
  /** Only move if the job is still on this attempt (a worker's claim on it). */
  attempt?: number;
  /** Only move if the job belongs to this key. */
  apiKeyId?: string;
  /** Only move if this queue entry still carries the job. */
  queueJobId?: string;
  set: postgres.PendingQuery<postgres.Row[]> | postgres.Helper<unknown>;
  workerId?: string | null;
  detail?: Record<string, unknown> | null;
}

/** Apply one legal move and its event; null when the job is not in a state that allows it. */
async function move(tx: Db, m: Move): Promise<{ job: Job; from: JobStatus } | null> {
  for (const from of m.from) {
    if (!TRANSITIONS[from].includes(m.to)) throw new Error(`illegal transition ${from} -> ${m.to} requested`);
  }
  const [row] = await tx`
    with previous as (
      select id, status from jobs
      where id = ${m.jobId}
        and status = any(${tx.array(m.from as string[])}::text[])
        ${m.attempt === undefined ? tx`` : tx`and attempts = ${m.attempt}`}
        ${m.apiKeyId === undefined ? tx`` : tx`and api_key_id = ${m.apiKeyId}`}
        ${m.queueJobId === undefined ? tx`` : tx`and queue_job_id = ${m.queueJobId}`}
      for update
    ), moved as (
      update jobs j set status = ${m.to}, updated_at = now(), ${m.set}
      from previous
      where j.id = previous.id
      returning j.*, previous.status as from_status
    ), event as (
      insert into job_events (job_id, from_status, to_status, attempt, worker_id, detail)
      select id, from_status, status, attempts, ${m.workerId ?? null}, ${m.detail ? tx.json(m.detail as never) : null}
      from moved
    )
    select * from moved`;
  return row ? { job: toJob(row), from: row.from_status as JobStatus } : null;
}

function refused(logger: Logger, jobId: string, action: string, expected: string): null {
  logger.warn('job state change refused', { jobId, action, expected });
  return null;
}

/** pending → processing, for the worker that fetched this queue entry. */
export async function claimJob(sql: Sql, logger: Logger, p: { jobId: string; queueJobId: string; workerId: string }): Promise<Job | null> {
  const moved = await move(sql, {
    jobId: p.jobId,
    from: ['pending'],
    to: 'processing',
    queueJobId: p.queueJobId,
    set: sql`attempts = j.attempts + 1, worker_id = ${p.workerId}, started_at = now(), heartbeat_at = now(), run_after = null, progress = null`,
    workerId: p.workerId,
  });
  return moved?.job ?? refused(logger, p.jobId, 'claim', 'pending on this queue entry');
}

/** processing → completed, only for the attempt the worker holds. */
export async function completeJob(
  sql: Sql,
  boss: Boss,
  logger: Logger,
  p: { jobId: string; attempt: number; workerId: string; queueJobId: string; result: unknown; progress?: Record<string, unknown> | null },
): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const moved = await move(tx, {
      jobId: p.jobId,
      from: ['processing'],
      to: 'completed',
      attempt: p.attempt,
      set: tx`result = ${tx.json(p.result as never)}, error = null, completed_at = now(), heartbeat_at = null
              ${p.progress ? tx`, progress = ${tx.json(p.progress as never)}` : tx``}`,
      workerId: p.workerId,
    });
    await boss.complete(EXTRACT_QUEUE, p.queueJobId, {}, { db: bossDb(tx) });
    return moved?.job ?? refused(logger, p.jobId, 'complete', `processing on attempt ${p.attempt}`);
  });
}

/** Exponential backoff with full jitter over [base·2^(n-1)/2, base·2^(n-1)], capped. */
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
  p: { jobId: string; attempt: number; workerId: string; queueJobId: string; error: JobError; retryable: boolean; retryDelayMs: number },
): Promise<Job | null> {
  return sql.begin(async (tx) => {
    await boss.complete(EXTRACT_QUEUE, p.queueJobId, {}, { db: bossDb(tx) });
    const [current] = await tx`select max_attempts from jobs where id = ${p.jobId}`;
    const retry = p.retryable && current !== undefined && p.attempt < (current.max_attempts as number);
    if (retry) {
      const moved = await move(tx, {
        jobId: p.jobId,
        from: ['processing'],
        to: 'pending',
        attempt: p.attempt,
        set: tx`error = ${tx.json(p.error as never)}, worker_id = null, heartbeat_at = null,
                run_after = now() + ${p.retryDelayMs} * interval '1 millisecond'`,
        workerId: p.workerId,
        detail: { reason: 'retry', error: p.error, retryInMs: p.retryDelayMs },
      });
      if (!moved) return refused(logger, p.jobId, 'retry', `processing on attempt ${p.attempt}`);
      const queueJobId = await enqueue(tx, boss, p.jobId, Math.ceil(p.retryDelayMs / 1000));
      const [row] = await tx`update jobs set queue_job_id = ${queueJobId} where id = ${p.jobId} returning *`;
      return toJob(row!);
    }
    const moved = await move(tx, {
      jobId: p.jobId,
      from: ['processing'],
      to: 'failed',
      attempt: p.attempt,
      set: tx`error = ${tx.json(p.error as never)}, completed_at = now(), heartbeat_at = null`,
      workerId: p.workerId,
      detail: { error: p.error },
    });
    return moved?.job ?? refused(logger, p.jobId, 'fail', `processing on attempt ${p.attempt}`);
  });
}

/**
 * processing → pending without charging the attempt: the worker is shutting
 * down and gives the job back for another worker to run at once.
 */
export async function releaseJob(
  sql: Sql,
  boss: Boss,
  logger: Logger,
  p: { jobId: string; attempt: number; workerId: string; queueJobId: string; reason: string },
): Promise<Job | null> {
  return sql.begin(async (tx) => {
    await boss.complete(EXTRACT_QUEUE, p.queueJobId, {}, { db: bossDb(tx) });
    const moved = await move(tx, {
      jobId: p.jobId,
      from: ['processing'],
      to: 'pending',
      attempt: p.attempt,
      // The interruption is not the job's fault: it gets its attempt back as budget.
      set: tx`max_attempts = j.max_attempts + 1, worker_id = null, heartbeat_at = null`,
      workerId: p.workerId,
      detail: { reason: p.reason },
    });
    if (!moved) return refused(logger, p.jobId, 'release', `processing on attempt ${p.attempt}`);
    const queueJobId = await enqueue(tx, boss, p.jobId);
    const [row] = await tx`update jobs set queue_job_id = ${queueJobId} where id = ${p.jobId} returning *`;
    await wakeWorkers(tx);
    return toJob(row!);
  });
}

/** pending|processing → cancelled. A running worker notices at its next heartbeat. */
export async function cancelJob(sql: Sql, boss: Boss, p: { jobId: string; apiKeyId: string }): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const moved = await move(tx, {
      jobId: p.jobId,
      from: ['pending', 'processing'],
      to: 'cancelled',
      apiKeyId: p.apiKeyId,
      set: tx`completed_at = now(), heartbeat_at = null, error = ${tx.json({ code: 'cancelled', message: 'cancelled by the client' } as never)}`,
      detail: { reason: 'cancelled by the client' },
    });
    if (moved?.from === 'pending' && moved.job.queueJobId) {
      await boss.cancel(EXTRACT_QUEUE, moved.job.queueJobId, { db: bossDb(tx) });
    }
    return moved?.job ?? null;
  });
}

/** failed|cancelled → pending, by the client: a fresh budget of attempts. */
export async function retryJob(sql: Sql, boss: Boss, p: { jobId: string; apiKeyId: string; extraAttempts: number }): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const moved = await move(tx, {
      jobId: p.jobId,
      from: ['failed', 'cancelled'],
      to: 'pending',
      apiKeyId: p.apiKeyId,
      set: tx`max_attempts = j.attempts + ${p.extraAttempts}, completed_at = null, result = null, worker_id = null, run_after = null`,
      detail: { reason: 'retried by the client' },
    });
    if (!moved) return null;
    const queueJobId = await enqueue(tx, boss, p.jobId);
    const [row] = await tx`update jobs set queue_job_id = ${queueJobId} where id = ${p.jobId} returning *`;
    await wakeWorkers(tx);
    return toJob(row!);
  });
}

/** Record a heartbeat and progress; returns the job's status (so a worker learns of a cancel). */
export async function heartbeat(db: Db, p: { jobId: string; attempt: number; progress?: Record<string, unknown> }): Promise<JobStatus | null> {
  const [row] = await db`
    update jobs set heartbeat_at = now(), updated_at = now()
      ${p.progress ? db`, progress = ${db.json(p.progress as never)}` : db``}
    where id = ${p.jobId} and attempts = ${p.attempt} and status = 'processing'
    returning status`;
  if (row) return row.status as JobStatus;
  const [current] = await db`select status from jobs where id = ${p.jobId}`;
  return (current?.status as JobStatus | undefined) ?? null;
}

export async function getJob(db: Db, p: { jobId: string; apiKeyId?: string }): Promise<Job | null> {
  const [row] = await db`
    select * from jobs where id = ${p.jobId}
    ${p.apiKeyId === undefined ? db`` : db`and api_key_id = ${p.apiKeyId}`}`;
  return row ? toJob(row) : null;
}

export interface ListJobsParams {
  apiKeyId: string;
  status?: JobStatus;
  limit: number;
  /** Opaque position from a previous page's nextCursor. */
  cursor?: string;
}

export class InvalidCursorError extends Error {}

// The cursor carries created_at as PostgreSQL prints it: a JS Date would drop
// the microseconds and skip rows created in the same millisecond.
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const encodeCursor = (at: string, id: string) => Buffer.from(`${at}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { at: string; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const i = text.lastIndexOf('|');
  const at = text.slice(0, i);
  const id = text.slice(i + 1);
  if (i < 0 || !/^job_[0-9A-Za-z]+$/.test(id) || !PG_TIMESTAMP.test(at)) throw new InvalidCursorError('cursor is not valid');
  return { at, id };
}

/** Newest first, keyset-paginated. */
export async function listJobs(db: Db, p: ListJobsParams): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  const after = p.cursor ? decodeCursor(p.cursor) : undefined;
  const rows = await db`
    select *, created_at::text as cursor_at from jobs
    where api_key_id = ${p.apiKeyId}
      ${p.status ? db`and status = ${p.status}` : db``}
      ${after ? db`and (created_at, id) < (${after.at}::timestamptz, ${after.id})` : db``}
    order by created_at desc, id desc
    limit ${p.limit + 1}`;
  const page = rows.slice(0, p.limit);
  const last = page[page.length - 1];
  return { jobs: page.map(toJob), nextCursor: rows.length > p.limit && last ? encodeCursor(last.cursor_at, last.id) : null };
}

export async function listJobEvents(db: Db, jobId: string): Promise<JobEvent[]> {
  const rows = await db`select * from job_events where job_id = ${jobId} order by id`;
  return rows.map(toEvent);
}
