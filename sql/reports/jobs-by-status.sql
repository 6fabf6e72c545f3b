-- Jobs by status now: open jobs (pending, processing) in full, finished ones over the window, with the oldest pending age.
--
-- One row per status, in lifecycle order, 0 when none. scope says what was
-- counted: for pending and processing every job in that status now ('now');
-- for completed, failed and cancelled the jobs that reached that status in the
-- window, by completed_at ('window'). (An all-time count of finished jobs
-- means reading every row of jobs; use a wide --since for that.)
-- oldest_age_seconds: for pending, now minus the created_at of the oldest
-- pending job (a retried job counts from its creation); for processing, now
-- minus the started_at of the longest-running attempt; empty otherwise.
--
-- Parameters:
--   :since  timestamptz  start of the window for finished jobs (default: 24h ago)
with open as (
  select 'pending' as status, count(*)::int as jobs, floor(extract(epoch from now() - min(created_at)))::int as oldest_age_seconds
  from jobs where status = 'pending'
  union all
  select 'processing', count(*)::int, floor(extract(epoch from now() - min(started_at)))::int
  from jobs where status = 'processing'
), finished as (
  select status, count(*)::int as jobs
  from jobs
  where completed_at >= :since and status in ('completed', 'failed', 'cancelled')
  group by status
)
select s.status,
       case when s.position <= 2 then 'now' else 'window' end as scope,
       coalesce(o.jobs, f.jobs, 0) as jobs,
       o.oldest_age_seconds
from unnest(array['pending', 'processing', 'completed', 'failed', 'cancelled']) with ordinality as s(status, position)
left join open o on o.status = s.status
left join finished f on f.status = s.status
order by s.position;
