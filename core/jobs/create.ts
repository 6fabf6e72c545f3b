import type { Sql } from '../db.js';
import { newJobId } from '../ids.js';
import type { Boss } from '../queue.js';
import { IdempotencyConflictError, toJob, type Job, type JobInput } from './model.js';
import { enqueueAttempt } from './move.js';

export interface CreateJobParams {
  apiKeyId: string;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  maxAttempts: number;
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
    return { job: await enqueueAttempt(tx, boss, id), replayed: false };
  });
}
