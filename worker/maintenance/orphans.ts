// Orphaned pending jobs: a pending job whose queue entry can no longer run it
// (a worker died between fetching the entry and claiming the job, or pg-boss
// archived an entry that waited past its keep-until) gets a fresh entry. Rare
// by construction (every move writes job and entry in one transaction), so
// each pass looks at the next ORPHAN_SCAN pending jobs in creation order and
// carries its place to the next pass: a pass costs the same with 10 or 10
// million jobs waiting, and the whole backlog is covered every
// backlog / ORPHAN_SCAN passes.
import type { Sql } from '../../core/platform/db.js';
import { requeueOrphanedJobs, type BacklogCursor } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import type { PeriodicTask } from './pass.js';

/** Pending jobs looked at per pass. */
export const ORPHAN_SCAN = 5000;

export interface OrphanOptions {
  /** A pending job untouched for this long, whose entry is gone or stuck, is an orphan (RESCUE_AFTER). */
  orphanAfterMs: number;
  intervalMs: number;
  scan?: number;
}

/** One slice of the backlog after `after`; `next` is where the following slice starts (null: back to the beginning). */
export async function requeueOrphans(
  sql: Sql,
  logger: Logger,
  p: { orphanAfterMs: number; after: BacklogCursor | null; scan?: number },
): Promise<{ requeued: string[]; next: BacklogCursor | null }> {
  const result = await requeueOrphanedJobs(sql, { orphanAfterMs: p.orphanAfterMs, after: p.after, scan: p.scan ?? ORPHAN_SCAN });
  for (const jobId of result.requeued) logger.warn('pending job re-queued: its queue entry was lost', { jobId });
  return result;
}

export function orphanTask(sql: Sql, logger: Logger, opts: OrphanOptions): PeriodicTask {
  return {
    name: 'orphans',
    intervalMs: opts.intervalMs,
    async run(state) {
      const { next } = await requeueOrphans(sql, logger, { orphanAfterMs: opts.orphanAfterMs, after: (state as BacklogCursor | null) ?? null, scan: opts.scan });
      return next;
    },
  };
}
