import type { Db, Sql } from '../db.js';
import { newJobId } from '../ids.js';
import type { Boss } from '../queue.js';
import { IdempotencyConflictError, TooManyJobsInFlightError, toJob, type Job, type JobInput } from './model.js';
import { enqueueAttempt } from './move.js';
import { countJobsInFlight } from './queries.js';

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
    // A replay is answered even at the cap: it creates nothing.
    const replay = p.idempotencyKey ? await replayed(tx, p) : null;
    if (replay) return replay;
    if (p.maxInFlight && (await countJobsInFlight(tx, p.apiKeyId, p.maxInFlight)) >= p.maxInFlight) {
      throw new TooManyJobsInFlightError(p.maxInFlight); // a soft cap: concurrent submissions may pass it by a few
    }
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
      // The same key was inserted concurrently: answer as a replay.
      const again = await replayed(tx, p);
      if (!again) throw new Error('idempotency conflict on a job that no longer exists');
      return again;
    }
    return { job: await enqueueAttempt(tx, boss, id), replayed: false };
  });
}

async function replayed(tx: Db, p: CreateJobParams): Promise<{ job: Job; replayed: true } | null> {
  const [existing] = await tx`select * from jobs where api_key_id = ${p.apiKeyId} and idempotency_key = ${p.idempotencyKey}`;
  if (!existing) return null;
  const job = toJob(existing);
  if (job.requestHash !== p.requestHash) throw new IdempotencyConflictError(job.id);
  return { job, replayed: true };
}
