import { randomUUID } from 'node:crypto';
import type { Db, Sql } from '../db.js';
import { newJobId } from '../ids.js';
import { EXTRACT_QUEUE, JOBS_CHANNEL, bossDb, type Boss } from '../queue.js';
import { IdempotencyConflictError, TooManyJobsInFlightError, toJob, type Job, type JobInput } from './model.js';

export interface CreateJobParams {
  apiKeyId: string;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  maxAttempts: number;
  /** Refuse (TooManyJobsInFlightError) when the key already has this many pending + processing jobs; 0 for no cap. */
  maxInFlight?: number;
}

/**
 * Records the job as pending with its creation event, enqueues it and wakes
 * the workers, all in one transaction. With an idempotency key already used by
 * the same API key, returns that job (replayed) or throws
 * IdempotencyConflictError when the request body differs.
 */
export async function createJob(sql: Sql, boss: Boss, p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
  return sql.begin(async (tx) => {
    const id = newJobId();
    const queueJobId = randomUUID();
    const cap = p.maxInFlight ?? 0;
    // One statement on the happy path: the cap check, the job, its event and the
    // wake-up (NOTIFY is delivered at commit, after the queue entry below).
    const [row] = await tx`
      with open_jobs as (
        select count(*) as n from (
          select 1 from jobs where ${cap > 0} and api_key_id = ${p.apiKeyId} and status in ('pending', 'processing') limit ${cap}
        ) open
      ), created as (
        insert into jobs (id, api_key_id, status, input, callback_url, idempotency_key, request_hash, max_attempts, queue_job_id)
        select ${id}, ${p.apiKeyId}, 'pending', ${tx.json(p.input as never)}, ${p.callbackUrl}, ${p.idempotencyKey}, ${p.requestHash}, ${p.maxAttempts}, ${queueJobId}
        where ${cap} = 0 or (select n from open_jobs) < ${cap}
        on conflict (api_key_id, idempotency_key) where idempotency_key is not null do nothing
        returning *
      ), event as (
        insert into job_events (job_id, from_status, to_status, attempt)
        select id, null, 'pending', 0 from created
      )
      select *, pg_notify(${JOBS_CHANNEL}, '') from created`;
    if (!row) {
      // Nothing inserted: the idempotency key was used before (a replay, even at
      // the cap, creates nothing) or the key is at its cap (a soft cap:
      // concurrent submissions may pass it by a few).
      const replay = p.idempotencyKey ? await replayed(tx, p) : null;
      if (replay) return replay;
      throw new TooManyJobsInFlightError(cap);
    }
    const sent = await boss.send(EXTRACT_QUEUE, { jobId: id }, { db: bossDb(tx), id: queueJobId });
    if (sent !== queueJobId) throw new Error(`queue refused job ${id}`);
    return { job: toJob(row), replayed: false };
  });
}

async function replayed(tx: Db, p: CreateJobParams): Promise<{ job: Job; replayed: true } | null> {
  const [existing] = await tx`select * from jobs where api_key_id = ${p.apiKeyId} and idempotency_key = ${p.idempotencyKey}`;
  if (!existing) return null;
  const job = toJob(existing);
  if (job.requestHash !== p.requestHash) throw new IdempotencyConflictError(job.id);
  return { job, replayed: true };
}
