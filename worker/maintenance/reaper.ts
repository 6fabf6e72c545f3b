// Stale-job reaper: a job `processing` for longer than STALE_AFTER (default
// 10 minutes) is failed with {code: "stale"}. Runs every minute from a pg-boss
// cron schedule in every worker process (SKIP LOCKED makes concurrent passes
// safe), and on demand with `npm run reap`.
import type { Sql } from '../../core/platform/db.js';
import { reapStaleJobs, type Job } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import { metrics } from '../../core/platform/metrics.js';
import { REAPER_QUEUE, type Boss } from '../../core/queue/index.js';

export { REAPER_QUEUE };

export const REAPER_CRON = '* * * * *';

export interface ReaperOptions {
  staleAfterMs: number;
}

/** One pass: reap in batches until none are left; returns every job reaped. */
export async function reapOnce(sql: Sql, boss: Boss, logger: Logger, opts: ReaperOptions): Promise<Job[]> {
  const reaped: Job[] = [];
  for (;;) {
    const batch = await reapStaleJobs(sql, boss, { staleAfterMs: opts.staleAfterMs });
    for (const job of batch) {
      logger.warn('job reaped as stale', { jobId: job.id, startedAt: job.startedAt?.toISOString(), workerId: job.workerId, attempt: job.attempts });
    }
    metrics.reaped.inc(batch.length);
    reaped.push(...batch);
    if (batch.length === 0) return reaped;
  }
}

/** Run a pass every minute from pg-boss's cron (every worker registers; pg-boss runs each tick once). */
export async function scheduleReaper(sql: Sql, boss: Boss, logger: Logger, opts: ReaperOptions & { onReaped?: (jobs: Job[]) => void }): Promise<void> {
  await boss.schedule(REAPER_QUEUE, REAPER_CRON);
  await boss.work(REAPER_QUEUE, { pollingIntervalSeconds: 10 }, async () => {
    const reaped = await reapOnce(sql, boss, logger, opts);
    opts.onReaped?.(reaped);
  });
}
