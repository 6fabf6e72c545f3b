// Claimed or finished entries settled inside the caller's transaction.
import type { Db } from '../platform/db.js';
import type { Fragment } from './schema.js';

/**
 * Complete active entries in the caller's transaction, as pg-boss's
 * complete() does. Not boss.complete(): pg-boss 10 takes (name, ids, data,
 * options) while its types offer (name, ids, options), and options passed
 * there became the entry's output while the update ran on pg-boss's own pool,
 * outside the caller's transaction.
 */
export async function completeQueueEntries(db: Db, queue: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`${completeEntries(db, queue, db`${ids}::uuid[]`)}`;
}

/**
 * The body of an UPDATE (for a CTE, or a statement of its own) that completes
 * the entries of `ids` (an expression of type uuid[]) still active, as
 * completeQueueEntries does: a batch of completions finishes its entries in
 * the statement that moves its jobs (core/jobs/completions.ts).
 */
export function completeEntries(db: Db, queue: string, ids: Fragment): Fragment {
  return db`
    update pgboss.job set completed_on = now(), state = 'completed', output = null
    where name = ${queue} and id = any(${ids}) and state = 'active'`;
}

/**
 * The body of an UPDATE (for a CTE) that settles entries picked by
 * dueQueueEntries: `rows` (a from-item with columns id uuid, state text)
 * says which become active (their job was claimed) and which completed
 * (they carry nothing any more), as pg-boss's fetch() and complete() would.
 */
export function settleQueueEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return db`
    update pgboss.job q set
      state = e.state::pgboss.job_state,
      started_on = now(),
      completed_on = case when e.state = 'completed' then now() end,
      retry_count = case when q.started_on is not null then q.retry_count + 1 else q.retry_count end
    from ${rows} e
    where q.name = ${queue} and q.id = e.id`;
}

/**
 * Complete an entry only if it is still the activation its holder took
 * (claimWebhookQueueEntries): once an entry expires and another holder takes
 * it, the first holder's finish matches nothing. True when it matched.
 */
export async function finishActivation(db: Db, queue: string, entry: { id: string; retryCount: number; startedOn: string }): Promise<boolean> {
  const rows = await db`
    update pgboss.job set state = 'completed', completed_on = now(), output = null
    where name = ${queue} and id = ${entry.id} and state = 'active'
      and retry_count = ${entry.retryCount} and started_on = (${entry.startedOn}::text)::timestamptz
    returning 1`;
  return rows.length === 1;
}
