// Reads of jobs and their events.
import type { Db } from '../db.js';
import { decodeJobCursor, encodeJobCursor } from './cursor.js';
import { toEvent, toJob, type Job, type JobEvent, type JobStatus } from './model.js';

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

/** Newest first, keyset-paginated. */
export async function listJobs(db: Db, p: ListJobsParams): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  const after = p.cursor ? decodeJobCursor(p.cursor) : undefined;
  const rows = await db`
    select *, (extract(epoch from created_at) * 1000000)::bigint::text as cursor_micros from jobs
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
