// Jobs whose queue entry can no longer run them (the orphan sweep,
// core/jobs/maintenance.ts requeueOrphanedJobs).
import type { Db } from '../platform/db.js';
import type { Fragment } from './schema.js';

/**
 * A condition on the row of a statement over jobs: the entry `entryId` (an
 * expression, e.g. j.queue_job_id) of `queue` can no longer run its job. It
 * is gone (pg-boss archived or deleted it), it ended (completed, failed,
 * cancelled: the job did not move with it), or it has been active since
 * longer than `staleAfterMs` ago (a worker fetched it and died before
 * claiming the job). Written as "no entry that is still live": one
 * lookup by (name, id), pg-boss's primary key.
 */
export function entryLost(db: Db, queue: string, entryId: Fragment, staleAfterMs: number): Fragment {
  return db`not exists (
    select 1 from pgboss.job q
    where q.name = ${queue} and q.id = ${entryId}
      and (q.state in ('completed', 'failed', 'cancelled')
           or (q.state = 'active' and q.started_on < now() - ${staleAfterMs} * interval '1 millisecond')) is not true)`;
}
