// Reads of jobs and their events.
import type { Db } from '../platform/db.js';
import { crawlProgressView } from '../crawlTasks/parent.js';
import { toProgress } from '../crawlTasks/tasks.js';
import { decodeJobCursor, encodeJobCursor } from './cursor.js';
import { toEvent, toJob, type Job, type JobEvent, type JobStatus } from './model.js';

/**
 * Every column of jobs but `result`, which may be megabytes (RESULT_MAX_BYTES):
 * lists and ownership checks read these, and only the reads that return the
 * result load it.
 */
const SUMMARY_COLUMNS = [
  'id', 'api_key_id', 'kind', 'status', 'input', 'callback_url', 'idempotency_key', 'request_hash', 'attempts', 'max_attempts', 'queue_job_id',
  'progress', 'error', 'worker_id', 'heartbeat_at', 'run_after', 'created_at', 'started_at', 'completed_at', 'updated_at',
];

/** The same columns of `jobs` under an alias, for list queries that join. */
export const jobSummaryColumns = (db: Db, alias: string) => db.unsafe(SUMMARY_COLUMNS.map((c) => `${alias}.${c}`).join(', '));

/** The job, with its result unless `withResult` is false (then `result` is undefined). */
export async function getJob(db: Db, p: { jobId: string; apiKeyId?: string; withResult?: boolean }): Promise<Job | null> {
  const [row] = await db`
    select ${db(SUMMARY_COLUMNS)} ${p.withResult === false ? db`` : db`, result`},
      (select row_to_json(c) from crawl_progress c where c.job_id = jobs.id and c.closed_at is null) as crawl
    from jobs where id = ${p.jobId}
    ${p.apiKeyId === undefined ? db`` : db`and api_key_id = ${p.apiKeyId}`}`;
  if (!row) return null;
  const job = toJob(row);
  // A crawl run as page tasks: its progress is its counters (one row, kept by the tasks' own moves).
  if (row.crawl && job.status === 'processing') job.progress = crawlProgressView(toProgress(row.crawl as Record<string, unknown>));
  return job;
}

export interface ListJobsParams {
  apiKeyId: string;
  status?: JobStatus;
  limit: number;
  /** Opaque position from a previous page's nextCursor. */
  cursor?: string;
}

/** Newest first, keyset-paginated; without results. */
export async function listJobs(db: Db, p: ListJobsParams): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  const after = p.cursor ? decodeJobCursor(p.cursor) : undefined;
  const rows = await db`
    select ${db(SUMMARY_COLUMNS)}, (extract(epoch from created_at) * 1000000)::bigint::text as cursor_micros from jobs
    where api_key_id = ${p.apiKeyId}
      ${p.status ? db`and status = ${p.status}` : db``}
      ${after ? db`and (created_at, id) < ('epoch'::timestamptz + ${after.micros}::bigint * interval '1 microsecond', ${after.id})` : db``}
    order by created_at desc, id desc
    limit ${p.limit + 1}`;
  const page = rows.slice(0, p.limit);
  const last = page[page.length - 1];
  return { jobs: page.map(toJob), nextCursor: rows.length > p.limit && last ? encodeJobCursor(last.cursor_micros, last.id) : null };
}

export async function listJobEvents(db: Db, jobId: string): Promise<JobEvent[]> {
  const rows = await db`select * from job_events where job_id = ${jobId} order by id`;
  return rows.map(toEvent);
}
