// The moves a client asks for through the API; each is scoped to the key that owns the job.
import type { Sql } from '../platform/db.js';
import { EXTRACT_QUEUE, bossDb, type Boss } from '../queue/index.js';
import { cancelCrawl } from '../crawlTasks/tasks.js';
import { lockedOpenJobs } from './create.js';
import { TooManyJobsInFlightError, type Job } from './model.js';
import { enqueueAttempt, enqueueFinalWebhooks, moveOne } from './move.js';

/** pending|processing → cancelled. A running worker notices at its next heartbeat. */
export async function cancelJob(sql: Sql, boss: Boss, p: { jobId: string; apiKeyId: string }): Promise<Job | null> {
  return sql.begin(async (tx) => {
    // A crawl's open page tasks are cancelled first: tasks, crawl, then job is the order every move of a crawl locks in.
    const [own] = await tx`select 1 from jobs where id = ${p.jobId} and api_key_id = ${p.apiKeyId} and status = 'processing'`;
    if (own) await cancelCrawl(tx, p.jobId);
    const moved = await moveOne(tx, p.jobId, {
      from: ['pending', 'processing'],
      to: 'cancelled',
      where: tx`and api_key_id = ${p.apiKeyId}`,
      set: tx`completed_at = now(), heartbeat_at = null, error = ${tx.json({ code: 'cancelled', message: 'cancelled by the client' } as never)}`,
      detail: { reason: 'cancelled by the client' },
    });
    // A running job's entry is finished by its worker; a waiting one is cancelled here.
    if (moved?.from === 'pending' && moved.job.queueJobId) {
      await boss.cancel(EXTRACT_QUEUE, moved.job.queueJobId, { db: bossDb(tx) });
    }
    // Its callbackUrl and subscriptions hear of it, queued with the move.
    if (moved) await enqueueFinalWebhooks(tx, boss, [moved]);
    return moved?.job ?? null;
  });
}

/**
 * failed|cancelled → pending, by the client: a fresh budget of attempts. A
 * retried job is in flight again, so the key's cap applies as it does to a new
 * job (TooManyJobsInFlightError, nothing changed); `maxInFlight` 0 for no cap.
 */
export async function retryJob(sql: Sql, p: { jobId: string; apiKeyId: string; extraAttempts: number; maxInFlight?: number }): Promise<Job | null> {
  const cap = p.maxInFlight ?? 0;
  return sql.begin(async (tx) => {
    const moved = await moveOne(tx, p.jobId, {
      from: ['failed', 'cancelled'],
      to: 'pending',
      where: tx`and api_key_id = ${p.apiKeyId}`,
      set: tx`max_attempts = j.attempts + ${p.extraAttempts}, completed_at = null, result = null, error = null, progress = null, worker_id = null, run_after = null`,
      detail: { reason: 'retried by the client' },
    });
    if (!moved) return null;
    if (cap > 0) {
      // Counted after the move, so this job is one of them: over the cap means it does not fit.
      const [open] = await lockedOpenJobs(tx, p.apiKeyId, cap + 1);
      if (Number(open?.n) > cap) throw new TooManyJobsInFlightError(cap);
    }
    return enqueueAttempt(tx, p.jobId);
  });
}
