// The one way jobs.status changes: moveStatement is the SQL of every move (the
// batch claim's and completions' single statements use it directly, every
// other move through moveMany/moveOne): it moves the rows a `previous` CTE
// picked from allowed states to a new one, checked against TRANSITIONS, and
// writes one job_events row per job through jobEvents, the one insert into
// job_events (creation writes its first event through it too).
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { Db } from '../platform/db.js';
import { jsonb } from '../platform/jsonb.js';
import type { Logger } from '../platform/logger.js';
import { EXTRACT_QUEUE, JOBS_CHANNEL, completeQueueEntries, insertJobEntries, type Boss } from '../queue/index.js';
import { enqueueWebhooks, jobsToAnnounce } from '../webhooks/deliveries.js';
import { TRANSITIONS, toJob, type Job, type JobStatus } from './model.js';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

export interface Move {
  from: readonly JobStatus[];
  to: JobStatus;
  /** Further conditions on the job (`and …`), e.g. its id, attempt or owner. */
  where: Fragment;
  set: Fragment;
  workerId?: string | null;
  detail?: Record<string, unknown> | null;
  /** For sweeps: how many jobs at most, oldest first by this column, skipping rows others hold. */
  sweep?: { limit: number; orderBy: Fragment };
}

export interface Moved {
  job: Job;
  from: JobStatus;
  eventId: string;
}

type Value = string | number | null;

export interface MoveStatement {
  from: readonly JobStatus[];
  to: JobStatus;
  /** The other columns the move sets (`j` is the job row). */
  set: Fragment;
  /** Joined to `previous` in the update, for per-job values (e.g. `join input i on i.id = previous.id`). */
  join?: Fragment;
  /** Further conditions (`and …`) on `previous` and the joined rows. */
  where?: Fragment;
  /** The event's worker: a value, or an expression over the joined rows. */
  workerId?: Value | Fragment;
  detail?: Record<string, unknown> | null;
}

/**
 * The `moved` and `event` CTEs of a statement whose `previous` CTE selected
 * (and locked) the jobs to move, with at least their id and status: `moved`
 * holds the jobs' new rows (plus `from_status`), `event` the ids of their
 * job_events rows. Throws for a move TRANSITIONS does not allow.
 */
export function moveStatement(sql: Db, m: MoveStatement): Fragment {
  for (const from of m.from) {
    if (!TRANSITIONS[from].includes(m.to)) throw new Error(`illegal transition ${from} -> ${m.to} requested`);
  }
  const workerId = m.workerId === undefined || m.workerId === null || typeof m.workerId !== 'object' ? sql`${m.workerId ?? null}::text` : m.workerId;
  return sql`moved as (
      update jobs j set status = ${m.to}, updated_at = now(), ${m.set}
      from previous ${m.join ?? sql``}
      where j.id = previous.id and previous.status = any(${sql.array(m.from as string[])}::text[]) ${m.where ?? sql``}
      returning j.*, previous.status as from_status, ${workerId} as event_worker_id
    ), event as (
      ${jobEvents(sql, sql`(select id as job_id, from_status, status as to_status, attempts as attempt, event_worker_id as worker_id, ${m.detail ? jsonb(sql, m.detail) : null}::jsonb as detail from moved)`)}
    )`;
}

/** The one insert into job_events: a row for each row of `rows` (job_id, from_status, to_status, attempt, worker_id, detail); returns id, job_id. */
export function jobEvents(sql: Db, rows: Fragment): Fragment {
  return sql`insert into job_events (job_id, from_status, to_status, attempt, worker_id, detail)
      select job_id, from_status, to_status, attempt, worker_id, detail from ${rows} as e
      returning id, job_id`;
}

export async function moveMany(tx: Db, m: Move): Promise<Moved[]> {
  const rows = await tx`
    with previous as (
      select id, status from jobs
      where status = any(${tx.array(m.from as string[])}::text[]) ${m.where}
      ${m.sweep ? tx`order by ${m.sweep.orderBy} limit ${m.sweep.limit} for update skip locked` : tx`for update`}
    ), ${moveStatement(tx, { from: m.from, to: m.to, set: m.set, workerId: m.workerId ?? null, detail: m.detail ?? null })}
    select moved.*, event.id as event_id from moved join event on event.job_id = moved.id`;
  return rows.map((row) => ({ job: toJob(row), from: row.from_status as JobStatus, eventId: String(row.event_id) }));
}

/** Move one job; null when it is not in a state (or on an attempt) that allows it. */
export async function moveOne(tx: Db, jobId: string, m: Omit<Move, 'where' | 'sweep'> & { where?: Fragment }): Promise<Moved | null> {
  const [moved] = await moveMany(tx, { ...m, where: tx`and id = ${jobId} ${m.where ?? tx``}` });
  return moved ?? null;
}

export function refused(logger: Logger, jobId: string, action: string, expected: string): null {
  logger.warn('job state change refused', { jobId, action, expected });
  return null;
}

/**
 * A queue entry for the job's next attempt, recorded on the job, in the
 * caller's transaction. The entry keeps the job's first creation as its place
 * in line (insertJobEntries): a rescued, released or retried job is claimed
 * before the jobs submitted after it, once its backoff (if any) is over.
 */
export async function enqueueAttempt(tx: Db, jobId: string, startAfterSeconds = 0): Promise<Job> {
  const [row] = await tx`
    with entry as (
      ${insertJobEntries(
        tx,
        tx`(select ${randomUUID()}::uuid as id, id as job_id, api_key_id, created_at, now() + ${startAfterSeconds} * interval '1 second' as start_after
            from jobs where id = ${jobId})`,
      )}
    )
    update jobs set queue_job_id = entry.id from entry where jobs.id = ${jobId} returning jobs.*`;
  if (!row) throw new Error(`queue refused job ${jobId}`);
  if (startAfterSeconds === 0) await tx`select pg_notify(${JOBS_CHANNEL}, '')`;
  return toJob(row);
}

/** Mark the queue entries that carried attempts as done, in the caller's transaction, so they are never handed out again. */
export async function finishQueueEntry(tx: Db, queueJobIds: string | null | (string | null)[]): Promise<void> {
  const ids = (Array.isArray(queueJobIds) ? queueJobIds : [queueJobIds]).filter((id): id is string => id !== null);
  await completeQueueEntries(tx, EXTRACT_QUEUE, ids);
}

/** Jobs that reached completed or failed with anyone to tell (a callback, a subscription, a Firecrawl webhook) get their delivery queued in the same transaction. */
export async function enqueueFinalWebhooks(tx: Db, boss: Boss, moved: Moved[]): Promise<void> {
  const announced = await jobsToAnnounce(tx, moved.map((m) => m.job));
  const tasks = moved.filter((m) => announced.has(m.job.id)).map((m) => ({ jobId: m.job.id, eventId: m.eventId, attempt: 1 }));
  await enqueueWebhooks(tx, boss, tasks);
}
