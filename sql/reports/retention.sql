-- What retention removed: each pass in the window (newest first) and a final 'all' row with the totals.
--
-- One row per retention pass (retention_runs, written by the worker's
-- retention task, worker/maintenance/retention.ts) that started at or after
-- :since: jobs deleted with their events, webhook deliveries and search-index
-- chunks, the cutoff (jobs that had finished before it went), how long the
-- pass took and which worker ran it. Passes that found nothing to delete are
-- listed too, so a quiet window still shows that retention ran.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
select case when grouping(id) = 1 then 'all' else id::text end as pass,
       min(started_at) as started_at,
       max(cutoff) as cutoff,
       sum(jobs)::int as jobs,
       sum(events)::int as events,
       sum(deliveries)::int as deliveries,
       sum(chunks)::int as chunks,
       round(sum(extract(epoch from finished_at - started_at) * 1000))::int as ms,
       case when grouping(id) = 1 then null else min(worker_id) end as worker_id
from retention_runs
where started_at >= :since
group by grouping sets ((id), ())
order by grouping(id), min(started_at) desc, id desc;
