-- Jobs processing for longer than 80% of the stale threshold, oldest first.
--
-- A processing job whose current attempt started more than
-- 0.8 x :stale_after_seconds ago is listed; stale is true once it is past the
-- threshold itself (the reaper's limit, STALE_AFTER). age_seconds counts from
-- the start of the current attempt; heartbeat_age_seconds from the worker's
-- last heartbeat (empty if it never sent one).
--
-- Parameters:
--   :stale_after_seconds  integer  the stale threshold in seconds, STALE_AFTER (default: 600)
select id as job_id,
       floor(extract(epoch from now() - started_at))::int as age_seconds,
       started_at < now() - :stale_after_seconds * interval '1 second' as stale,
       worker_id,
       attempts,
       max_attempts,
       heartbeat_at,
       floor(extract(epoch from now() - heartbeat_at))::int as heartbeat_age_seconds,
       input->>'url' as url
from jobs
where status = 'processing'
  and started_at < now() - :stale_after_seconds * 0.8 * interval '1 second'
order by started_at, id;
