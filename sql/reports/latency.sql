-- Queue wait and run time percentiles (p50, p95, p99, in milliseconds) over the window.
--
-- queue_wait: for jobs created in the window that have been claimed at least
-- once, the time from creation to the first claim. For a job on its first
-- attempt that is started_at - created_at; for a job claimed more than once it
-- is the first pending -> processing event in job_events (a job whose events
-- are gone is left out).
-- run_time: for jobs that completed in the window, completed_at - started_at,
-- i.e. the duration of the successful (last) attempt.
-- Percentiles are interpolated (percentile_cont); empty when no job qualifies.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
with waits as materialized (
  -- first attempt: started_at is the first claim
  select date_part('epoch', started_at - created_at) * 1000 as ms
  from jobs
  where created_at >= :since and attempts = 1 and started_at is not null
  union all
  -- claimed more than once: the first pending -> processing event
  select date_part('epoch', (select min(e.at) from job_events e
                             where e.job_id = j.id and e.from_status = 'pending' and e.to_status = 'processing') - j.created_at) * 1000
  from jobs j
  where j.created_at >= :since and j.attempts > 1
), runs as materialized (
  select date_part('epoch', completed_at - started_at) * 1000 as ms
  from jobs
  where completed_at >= :since and status = 'completed' and started_at is not null
), percentiles as (
  select 'queue_wait' as metric, count(ms)::int as jobs,
         percentile_cont(array[0.50, 0.95, 0.99]) within group (order by ms) as p
  from waits
  union all
  select 'run_time', count(ms)::int, percentile_cont(array[0.50, 0.95, 0.99]) within group (order by ms)
  from runs
)
select metric,
       jobs,
       round(p[1]::numeric, 1)::float8 as p50_ms,
       round(p[2]::numeric, 1)::float8 as p95_ms,
       round(p[3]::numeric, 1)::float8 as p99_ms
from percentiles
order by metric;
