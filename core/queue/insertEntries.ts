// Queue entries inserted by the caller's own statement, with its job rows.
import type { Db } from '../platform/db.js';
import { EXTRACT_QUEUE, type Fragment } from './schema.js';

/**
 * The body of an INSERT (for a CTE of the caller's statement) that adds pg-boss
 * entries to `queue`, one per row of `rows` (a from-item with columns id uuid,
 * data jsonb, start_after timestamptz). It fills the columns exactly as
 * pg-boss 10's send() does for a standard queue whose options we set (see
 * startQueue); inserting ourselves lets a job row, its event and its queue
 * entry commit in one statement. No ON CONFLICT: an entry that cannot be
 * inserted fails the whole statement, so a job is never left without one.
 */
export function insertQueueEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return insertEntries(db, queue, db`(select id, data, start_after, now() as created_on, 'created' as state from ${rows} r)`);
}

/**
 * insertQueueEntries for the extract queue: one entry per row of `rows`
 * (columns id uuid, job_id text, api_key_id text, created_at timestamptz: the
 * job's first creation, start_after timestamptz). The entry carries its
 * tenant and, as created_on, the job's first creation, which is what claims
 * order by (claimableEntries): a rescued, released or retried job keeps its
 * place in line. One due later (a retry's backoff) waits in state `retry`
 * until the claim makes it `created` once due.
 */
export function insertJobEntries(db: Db, rows: Fragment): Fragment {
  return insertEntries(
    db,
    EXTRACT_QUEUE,
    db`(select id, jsonb_build_object('jobId', job_id, 'apiKeyId', api_key_id) as data, start_after, created_at as created_on,
               case when start_after > now() then 'retry' else 'created' end as state
        from ${rows} r)`,
  );
}

function insertEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return db`
    insert into pgboss.job (id, name, data, priority, state, start_after, created_on, expire_in, keep_until, retry_limit, retry_delay, retry_backoff, policy, dead_letter)
    select e.id, q.name, e.data, 0, e.state::pgboss.job_state, e.start_after, e.created_on,
           coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
           e.start_after + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
           coalesce(q.retry_limit, 0),
           case when coalesce(q.retry_backoff, false) then greatest(coalesce(q.retry_delay, 0), 1) else coalesce(q.retry_delay, 0) end,
           coalesce(q.retry_backoff, false), q.policy, q.dead_letter
    from ${rows} e join pgboss.queue q on q.name = ${queue}
    returning id`;
}
