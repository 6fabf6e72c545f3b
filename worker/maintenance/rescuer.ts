// Crash rescue: workers heartbeat the jobs they hold (HEARTBEAT_INTERVAL,
// default 15 s). A job whose worker has been silent for RESCUE_AFTER (default
// 60 s) goes back to pending for another attempt at once (event detail
// "rescued"), or fails with {code: "abandoned"} when it has no attempts left.
// The same pass re-queues pending jobs whose queue entry died with a worker
// between fetch and claim, and expires webhook deliveries held by a dead sender. Runs in every worker on a timer; passes skip rows
// another worker's pass holds.
import type { Sql } from '../../core/db.js';
import { requeueOrphanedJobs, rescueAbandonedJobs, type Job } from '../../core/jobs.js';
import type { Logger } from '../../core/logger.js';
import { metrics } from '../../core/metrics.js';
import type { Boss } from '../../core/queue.js';

export interface RescuerOptions {
  rescueAfterMs: number;
  /** How often a pass runs; defaults to a quarter of rescueAfterMs (at least 1 s). */
  intervalMs?: number;
  onRescued?: (jobs: Job[]) => void;
}

export async function rescueOnce(sql: Sql, boss: Boss, logger: Logger, opts: RescuerOptions): Promise<{ rescued: Job[]; failed: Job[]; requeued: string[] }> {
  const { rescued, failed } = await rescueAbandonedJobs(sql, boss, { rescueAfterMs: opts.rescueAfterMs });
  metrics.rescued.inc(rescued.length);
  for (const job of rescued) logger.warn('job rescued from a silent worker', { jobId: job.id, attempt: job.attempts });
  for (const job of failed) logger.warn('job failed: its worker went silent on the last attempt', { jobId: job.id, attempt: job.attempts });
  const requeued = await requeueOrphanedJobs(sql, boss, { orphanAfterMs: opts.rescueAfterMs });
  for (const jobId of requeued) logger.warn('pending job re-queued: its queue entry was lost', { jobId });
  // Webhook deliveries have no heartbeat: one taken by a sender that died is
  // handed out again once its attempt's time is up (the entry's expiry). Doing
  // that here rather than only in pg-boss's maintenance shortens the wait.
  await boss.expire();
  return { rescued, failed, requeued };
}

/** Start the periodic pass; returns a function that stops it. */
export function startRescuer(sql: Sql, boss: Boss, logger: Logger, opts: RescuerOptions): () => Promise<void> {
  const interval = opts.intervalMs ?? Math.max(1000, Math.floor(opts.rescueAfterMs / 4));
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= rescueOnce(sql, boss, logger, opts)
      .then((r) => opts.onRescued?.(r.rescued))
      .catch((err) => {
        logger.error('rescue pass failed', { error: (err as Error).message });
      })
      .finally(() => (running = null));
  }, interval);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
