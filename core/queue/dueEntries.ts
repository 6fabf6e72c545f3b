// Standard-policy queues (the webhook queue): due entries, fetched as pg-boss's fetch() would.
import type PgBoss from 'pg-boss';
import type { Db } from '../platform/db.js';
import type { Fragment } from './schema.js';

/**
 * A CTE body selecting (and locking, skipping locked ones) up to `limit` due
 * entries of a standard-policy queue (the webhook queue; the extract queue is
 * claimed by claimableEntries): columns id, data. pg-boss 10's fetch orders
 * by `priority desc, created_on, id`, which its index `(name, start_after)
 * where state < 'active'` does not cover, so every fetch read and sorted the
 * whole backlog (8.5 ms with 5,000 waiting, 42.7 ms with 20,000). Ordered by
 * start_after (when the entry became due; we never set priorities) the same
 * index serves it in key order and the scan stops after `limit` rows.
 */
export function dueQueueEntries(db: Db, queue: string, limit: number): Fragment {
  return db`
    select id, data from pgboss.job
    where name = ${queue} and state < 'active' and start_after < now()
    order by start_after
    limit ${limit}
    for update skip locked`;
}

/** The columns pg-boss's fetch() sets on an entry it makes active (`entry`: the updated table's alias). */
export function activateEntry(db: Db, entry: string): Fragment {
  const e = db(entry);
  return db`state = 'active', started_on = now(), retry_count = case when ${e}.started_on is not null then ${e}.retry_count + 1 else ${e}.retry_count end`;
}

/** Up to `limit` due entries of a standard-policy queue, marked active as pg-boss's fetch() marks them. */
export async function fetchQueueEntries<T extends object>(db: Db, queue: string, limit: number): Promise<PgBoss.Job<T>[]> {
  const rows = await db`
    with next as (${dueQueueEntries(db, queue, limit)})
    update pgboss.job j set ${activateEntry(db, 'j')}
    from next
    where j.name = ${queue} and j.id = next.id
    returning j.id, j.name, j.data, extract(epoch from j.expire_in)::int as "expireInSeconds"`;
  return rows.map((r) => ({ id: r.id as string, name: r.name as string, data: r.data as T, expireInSeconds: Number(r.expireInSeconds) }));
}
