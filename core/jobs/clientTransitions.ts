// The moves a client asks for through the API; each is scoped to the key that owns the job.
import type { Sql } from '../db.js';
import { EXTRACT_QUEUE, bossDb, type Boss } from '../queue.js';
import type { Job } from './model.js';
import { enqueueAttempt, moveOne } from './move.js';

/** pending|processing → cancelled. A running worker notices at its next heartbeat. */
export async function cancelJob(sql: Sql, boss: Boss, p: { jobId: string; apiKeyId: string }): Promise<Job | null> {
  return sql.begin(async (tx) => {
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
    return moved?.job ?? null;
  });
}

/** failed|cancelled → pending, by the client: a fresh budget of attempts. */
export async function retryJob(sql: Sql, boss: Boss, p: { jobId: string; apiKeyId: string; extraAttempts: number }): Promise<Job | null> {
  return sql.begin(async (tx) => {
    const moved = await moveOne(tx, p.jobId, {
      from: ['failed', 'cancelled'],
      to: 'pending',
      where: tx`and api_key_id = ${p.apiKeyId}`,
      set: tx`max_attempts = j.attempts + ${p.extraAttempts}, completed_at = null, result = null, error = null, progress = null, worker_id = null, run_after = null`,
      detail: { reason: 'retried by the client' },
    });
    return moved ? enqueueAttempt(tx, boss, p.jobId) : null;
  });
}
