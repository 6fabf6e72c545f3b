// Sweeps over jobs whose worker is gone or stuck. Each is a batch of state
// changes (with events, queue clean-up and webhooks) in one transaction that
// skips rows another sweeper holds, so any number may run at once.
import type { Sql } from '../db.js';
import { EXTRACT_QUEUE } from '../queue.js';
import type { Boss } from '../queue.js';
import type { Job } from './model.js';
import { enqueueAttempt, enqueueFinalWebhooks, finishQueueEntry, moveMany } from './move.js';

const BATCH = 1000;

/**
 * processing for longer than staleAfterMs → failed {code: "stale"}. A late
 * completion from the hung worker is then refused by its attempt guard.
 */
export async function reapStaleJobs(sql: Sql, boss: Boss, p: { staleAfterMs: number; limit?: number }): Promise<Job[]> {
  return sql.begin(async (tx) => {
    const minutes = Math.round(p.staleAfterMs / 60_000);
    const message = `job was processing for more than ${minutes >= 1 ? `${minutes} minutes` : `${p.staleAfterMs} ms`}`;
    const moved = await moveMany(tx, {
      from: ['processing'],
      to: 'failed',
      where: tx`and started_at < now() - ${p.staleAfterMs} * interval '1 millisecond'`,
      sweep: { limit: p.limit ?? BATCH, orderBy: tx`started_at` },
      set: tx`error = ${tx.json({ code: 'stale', message } as never)}, completed_at = now(), heartbeat_at = null`,
      detail: { reason: 'stale', staleAfterMs: p.staleAfterMs },
    });
    await finishQueueEntry(tx, boss, moved.map((m) => m.job.queueJobId));
    await enqueueFinalWebhooks(tx, boss, moved);
    return moved.map((m) => m.job);
  });
}

/**
 * Jobs whose worker stopped heartbeating for rescueAfterMs (killed, frozen,
 * partitioned): back to pending for another attempt at once, or failed
 * {code: "abandoned"} when no attempts remain.
 */
export async function rescueAbandonedJobs(sql: Sql, boss: Boss, p: { rescueAfterMs: number; limit?: number }): Promise<{ rescued: Job[]; failed: Job[] }> {
  return sql.begin(async (tx) => {
    const silent = tx`and heartbeat_at < now() - ${p.rescueAfterMs} * interval '1 millisecond'`;
    const sweep = { limit: p.limit ?? BATCH, orderBy: tx`heartbeat_at` };
    const rescued = await moveMany(tx, {
      from: ['processing'],
      to: 'pending',
      where: tx`${silent} and attempts < max_attempts`,
      sweep,
      set: tx`worker_id = null, heartbeat_at = null`,
      detail: { reason: 'rescued', rescueAfterMs: p.rescueAfterMs },
    });
    const failed = await moveMany(tx, {
      from: ['processing'],
      to: 'failed',
      where: tx`${silent} and attempts >= max_attempts`,
      sweep,
      set: tx`error = ${tx.json({ code: 'abandoned', message: 'the worker running the job stopped responding on its last attempt' } as never)},
              completed_at = now(), heartbeat_at = null`,
      detail: { reason: 'abandoned', rescueAfterMs: p.rescueAfterMs },
    });
    await finishQueueEntry(tx, boss, [...rescued, ...failed].map((m) => m.job.queueJobId));
    const again: Job[] = [];
    for (const m of rescued) again.push(await enqueueAttempt(tx, boss, m.job.id));
    await enqueueFinalWebhooks(tx, boss, failed);
    return { rescued: again, failed: failed.map((m) => m.job) };
  });
}

/**
 * pending jobs whose queue entry can no longer run them: a worker died between
 * fetching the entry and claiming the job (entry stuck active), or the entry
 * ended without the job moving. They get a fresh entry; no state changes.
 */
export async function requeueOrphanedJobs(sql: Sql, boss: Boss, p: { orphanAfterMs: number; limit?: number }): Promise<string[]> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      select j.id, j.queue_job_id from jobs j
      left join pgboss.job q on q.name = ${EXTRACT_QUEUE} and q.id = j.queue_job_id
      where j.status = 'pending'
        and j.updated_at < now() - ${p.orphanAfterMs} * interval '1 millisecond'
        and (q.id is null
             or q.state in ('completed', 'failed', 'cancelled')
             or (q.state = 'active' and q.started_on < now() - ${p.orphanAfterMs} * interval '1 millisecond'))
      order by j.updated_at
      limit ${p.limit ?? BATCH}
      for update of j skip locked`;
    await finishQueueEntry(tx, boss, rows.map((r) => r.queue_job_id as string | null));
    for (const row of rows) await enqueueAttempt(tx, boss, row.id as string);
    return rows.map((r) => r.id as string);
  });
}
