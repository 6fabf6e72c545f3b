// The extract queue's claim: tenants take turns, each in first-creation order.
import type { Db } from '../platform/db.js';
import { ENTRY_KEY, EXTRACT_PARTITION, type Fragment } from './schema.js';

/** At most this many entries whose backoff is over become claimable per claim statement. */
const PROMOTE_BATCH = 200;

/**
 * CTEs for a `with recursive` statement, ending in `next`: up to `limit`
 * claimable extract entries, locked (skipping locked ones), with columns id,
 * data, key (the entry's tenant) and visit (the order tenants were visited
 * in, for nextClaimCursor). Tenants take turns: a loose index scan
 * visits the distinct tenants with claimable entries, starting after `after`
 * (the last tenant the caller was handed: nextClaimCursor) and wrapping
 * round, at most `limit` of them; each offers up to ceil(limit / tenants) of
 * its entries by first creation (created_on, see insertJobEntries), and
 * `next` takes every tenant's first, then every tenant's second, and so on.
 * So one tenant's backlog delays another tenant's job by at most one claim,
 * and each step is an index probe (gleaner_extract_claim): the cost grows
 * with `limit`, not with the backlog. When a tenant has fewer than its share
 * the claim returns fewer than `limit` and the claim loop asks again.
 *
 * `promoted` makes entries whose backoff is over claimable (retry →
 * created), from the next statement on, in their first creation's place.
 */
export function claimableEntries(db: Db, limit: number, after: string): Fragment {
  const key = db.unsafe(ENTRY_KEY);
  // The extract queue's partition itself, not pgboss.job: a statement over the
  // partitioned parent is planned afresh on every call (its generic plan costs
  // every partition), over the partition it keeps one plan.
  const table = db.unsafe(`pgboss.${EXTRACT_PARTITION}`);
  const waiting = db`from ${table} where state = 'created'`;
  return db`
    promoted as (
      update ${table} set state = 'created'
      where id = any(array(
        select id from ${table} where state = 'retry' and start_after <= now()
        order by start_after limit ${PROMOTE_BATCH} for update skip locked))
      returning id
    ), after_cursor (key, created_on, id, visit) as (
      (select ${key}, created_on, id, 1 ${waiting} and ${key} > ${after} order by 1, 2, 3 limit 1)
      union all
      select n.key, n.created_on, n.id, a.visit + 1 from after_cursor a cross join lateral (
        select ${key} as key, created_on, id ${waiting} and ${key} > a.key order by 1, 2, 3 limit 1) n
      where a.visit < ${limit}
    ), up_to_cursor (key, created_on, id, visit) as (
      (select ${key}, created_on, id, 1 ${waiting} and ${key} <= ${after} order by 1, 2, 3 limit 1)
      union all
      select n.key, n.created_on, n.id, b.visit + 1 from up_to_cursor b cross join lateral (
        select ${key} as key, created_on, id ${waiting} and ${key} > b.key and ${key} <= ${after} order by 1, 2, 3 limit 1) n
      where b.visit < ${limit}
    ), tenants as (
      select key, created_on, id, visit from (
        select key, created_on, id, visit from after_cursor
        union all
        select key, created_on, id, ${limit} + visit from up_to_cursor
      ) t
      order by visit limit ${limit}
    ), share as (
      select ceil(${limit}::numeric / greatest(count(*), 1))::int as n from tenants
    ), picked as (
      select e.id, e.data, e.created_on, t.key, t.visit from tenants t cross join lateral (
        -- From the first live entry the tenant's probe found: entries claimed
        -- moments ago stay in the index until vacuum, and walking past them
        -- once per claim is enough.
        select id, data, created_on ${waiting} and ${key} = t.key and (created_on, id) >= (t.created_on, t.id)
        order by created_on, id
        limit (select n from share)
        for update skip locked
      ) e
    ), next as (
      select id, data, key, visit from (
        select *, row_number() over (partition by key order by created_on, id) as turn from picked
      ) p
      order by turn, created_on, id
      limit ${limit}
    )`;
}

/** The cursor for the next claim: the tenant visited last among those this claim was handed entries of. */
export function nextClaimCursor(after: string, taken: { key: string; visit: number }[]): string {
  let last: { key: string; visit: number } | undefined;
  for (const t of taken) if (!last || t.visit > last.visit) last = t;
  return last?.key ?? after;
}
