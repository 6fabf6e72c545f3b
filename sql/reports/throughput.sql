-- Jobs created, completed and failed per hour over the window.
--
-- One row per hour (session time zone) from the hour containing :since up to
-- the current hour, 0 for hours without activity; the first and last hours are
-- partial. created counts jobs by created_at; completed and failed count jobs
-- by the time they reached that final state (completed_at) and their current
-- status, so a failed job the client later retried is no longer counted as
-- failed.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
with created as (
  select date_trunc('hour', created_at) as hour, count(*)::int as n
  from jobs
  where created_at >= :since
  group by 1
), finished as (
  select date_trunc('hour', completed_at) as hour,
         count(*) filter (where status = 'completed')::int as completed,
         count(*) filter (where status = 'failed')::int as failed
  from jobs
  where completed_at >= :since and status in ('completed', 'failed')
  group by 1
)
select h.hour,
       coalesce(c.n, 0) as created,
       coalesce(f.completed, 0) as completed,
       coalesce(f.failed, 0) as failed
from generate_series(date_trunc('hour', :since), date_trunc('hour', now()), interval '1 hour') as h(hour)
left join created c on c.hour = h.hour
left join finished f on f.hour = h.hour
order by h.hour;
