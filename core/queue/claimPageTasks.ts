// The page-task claim (core/crawlTasks/ owns the tasks' other moves): one
// statement, beside the queue's other claims.
import type { Db } from '../platform/db.js';
import { toPageTask, type PageTask } from '../crawlTasks/tasks.js';

/**
 * Claim up to `limit` due page tasks for `workerId`, in one statement. Keys
 * take turns: the distinct keys with queued tasks are visited from just after
 * `after` (the cursor returned by the previous claim), wrapping round, and
 * each offers its share of tasks, oldest due first; then every key's first
 * task goes before any key's second. A crawl never has more tasks running than
 * it has pages left to reach (maxPages − done − running), so maxPages is
 * exact however many workers claim at once, nor more than its own cap
 * (crawl_progress.max_running, Firecrawl's maxConcurrency), and a key never has more than
 * `runningPerKey` tasks running over all its crawls and all workers
 * (crawl_key_load, migration 020), so one key's big crawl cannot occupy every
 * page slot. Locked tasks are skipped. `busy` counts due tasks not taken only
 * because a move held their crawl's or key's row: worth asking again at once,
 * not after the poll interval (no NOTIFY follows a move that queues nothing).
 */
export async function claimPageTasks(
  sql: Db,
  p: { workerId: string; limit: number; after?: string; runningPerKey: number },
): Promise<{ tasks: PageTask[]; cursor: string; busy: number }> {
  const after = p.after ?? '';
  const limit = Math.max(1, Math.floor(p.limit));
  const cap = Math.max(1, Math.floor(p.runningPerKey));
  const queued = sql`from crawl_pages where state = 'queued' and run_after <= now()`;
  const rows = await sql`
    with recursive after_cursor (key, visit) as (
      (select api_key_id, 1 ${queued} and api_key_id > ${after} order by api_key_id limit 1)
      union all
      select n.key, a.visit + 1 from after_cursor a cross join lateral (
        select api_key_id as key ${queued} and api_key_id > a.key order by api_key_id limit 1) n
      where a.visit < ${limit}
    ), up_to_cursor (key, visit) as (
      (select api_key_id, 1 ${queued} and api_key_id <= ${after} order by api_key_id limit 1)
      union all
      select n.key, b.visit + 1 from up_to_cursor b cross join lateral (
        select api_key_id as key ${queued} and api_key_id > b.key and api_key_id <= ${after} order by api_key_id limit 1) n
      where b.visit < ${limit}
    ), keys as (
      -- Keys at their cap offer nothing (read unlocked, a hint: key_room below decides).
      select key, visit from (select key, visit from after_cursor union all select key, ${limit} + visit from up_to_cursor) k
      where not exists (select 1 from crawl_key_load l where l.api_key_id = k.key and l.running >= ${cap})
      order by visit limit ${limit}
    ), share as (
      select ceil(${limit}::numeric / greatest(count(*), 1))::int as n from keys
    ), picked as (
      select t.id, t.job_id, t.run_after, k.key, k.visit from keys k cross join lateral (
        select id, job_id, run_after ${queued} and api_key_id = k.key
          -- A crawl at its own cap offers nothing (a hint, as above: room decides), so the key's other crawls are not stuck behind it.
          and not exists (select 1 from crawl_progress g where g.job_id = crawl_pages.job_id and g.running >= g.max_running)
        order by run_after, id limit (select n from share)
        for update skip locked
      ) t
    ), room as (
      -- Locked, so the room is the latest and no other claim reads it until this one commits. A crawl whose
      -- row is busy (a move holds it, and may be about to skip the very tasks picked here) waits for the next claim.
      select job_id, least(max_pages - pages_done, coalesce(max_running, max_pages)) - running as n from crawl_progress
      where job_id in (select job_id from picked) and closed_at is null
      for update skip locked
    ), key_room as (
      -- As room, per key over all its crawls: the claimed tasks' crawl_progress updates
      -- add to this row (migration 020's trigger) before the lock is let go.
      select api_key_id as key, ${cap} - running as n from crawl_key_load
      where api_key_id in (select key from picked)
      for update skip locked
    ), in_room as (
      select p.*, row_number() over (partition by p.key order by p.run_after, p.id) as turn
      from (
        select p.*, row_number() over (partition by p.job_id order by p.run_after, p.id) as in_job from picked p
      ) p join room on room.job_id = p.job_id
      where p.in_job <= room.n
    ), chosen as (
      select r.id, r.job_id, r.key, r.visit from in_room r join key_room k on k.key = r.key
      where r.turn <= k.n
      order by r.turn, r.run_after, r.id
      limit ${limit}
    ), claimed as (
      update crawl_pages t set state = 'running', attempts = t.attempts + 1, worker_id = ${p.workerId},
        heartbeat_at = now(), started_at = now()
      from chosen c where t.id = c.id
      returning t.id, t.job_id, t.api_key_id, t.url, t.url_key, t.depth, t.hops, t.attempts, c.key, c.visit
    ), counted as (
      update crawl_progress g set queued = g.queued - c.n, running = g.running + c.n, progressed_at = now()
      from (select job_id, count(*)::int as n from claimed group by job_id) c
      where g.job_id = c.job_id
    ), busy as (
      -- Due tasks left because their crawl's or key's row was held by a move (not because of a cap).
      select count(*)::int as n from picked p
      where not exists (select 1 from room r where r.job_id = p.job_id) or not exists (select 1 from key_room k where k.key = p.key)
    )
    select c.*, b.n as busy from busy b left join claimed c on true order by c.visit`;
  const claimed = rows.filter((r) => r.id !== null);
  const last = claimed.at(-1);
  return { tasks: claimed.map(toPageTask), cursor: last ? (last.key as string) : after, busy: (rows[0]?.busy as number | undefined) ?? 0 };
}
