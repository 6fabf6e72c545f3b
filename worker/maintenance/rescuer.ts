// Crash rescue: workers heartbeat the jobs they hold (HEARTBEAT_INTERVAL,
// default 15 s). A job whose worker has been silent for RESCUE_AFTER (default
// 60 s, or half of STALE_AFTER when that is shorter) goes back to pending for
// another attempt at once (event detail "rescued"), or fails with
// {code: "abandoned"} when it has no attempts left. One worker runs a pass
// every quarter of RESCUE_AFTER (pass.ts); the sweep reads only processing
// jobs (jobs_processing) and skips rows another sweep holds.
import type { Sql } from '../../core/platform/db.js';
import { rescueAbandonedJobs, type Job } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import { metrics } from '../../core/platform/metrics.js';
import type { Boss } from '../../core/queue/index.js';
import { expireQueueEntries } from './queueExpiry.js';
import { requeueOrphans } from './orphans.js';
import type { PeriodicTask } from './pass.js';

export interface RescuerOptions {
  rescueAfterMs: number;
  /** How often a pass runs; defaults to a quarter of rescueAfterMs (at least 1 s). */
  intervalMs?: number;
}

export const rescueInterval = (opts: RescuerOptions) => opts.intervalMs ?? Math.max(1000, Math.floor(opts.rescueAfterMs / 4));

/** One rescue sweep, in batches until none are left. */
export async function rescueSilentJobs(sql: Sql, boss: Boss, logger: Logger, opts: RescuerOptions): Promise<{ rescued: Job[]; failed: Job[] }> {
  const all = { rescued: [] as Job[], failed: [] as Job[] };
  for (;;) {
    const { rescued, failed } = await rescueAbandonedJobs(sql, boss, { rescueAfterMs: opts.rescueAfterMs });
    metrics.rescued.inc(rescued.length);
    for (const job of rescued) logger.warn('job rescued from a silent worker', { jobId: job.id, attempt: job.attempts });
    for (const job of failed) logger.warn('job failed: its worker went silent on the last attempt', { jobId: job.id, attempt: job.attempts });
    all.rescued.push(...rescued);
    all.failed.push(...failed);
    if (rescued.length + failed.length === 0) return all;
  }
}

export function rescueTask(sql: Sql, boss: Boss, logger: Logger, opts: RescuerOptions): PeriodicTask {
  return {
    name: 'rescue',
    intervalMs: rescueInterval(opts),
    run: async () => void (await rescueSilentJobs(sql, boss, logger, opts)),
  };
}

/**
 * Every crash-recovery sweep once, right now, uncoordinated: silent jobs,
 * orphaned pending jobs (the whole backlog), dead senders' webhook entries.
 * For tests and tools; workers run each task on its own schedule (index.ts).
 */
export async function rescueOnce(sql: Sql, boss: Boss, logger: Logger, opts: RescuerOptions): Promise<{ rescued: Job[]; failed: Job[]; requeued: string[] }> {
  const { rescued, failed } = await rescueSilentJobs(sql, boss, logger, opts);
  const requeued: string[] = [];
  let after = null;
  do {
    const pass = await requeueOrphans(sql, logger, { orphanAfterMs: opts.rescueAfterMs, after });
    requeued.push(...pass.requeued);
    after = pass.next;
  } while (after);
  await expireQueueEntries(boss);
  return { rescued, failed, requeued };
}
