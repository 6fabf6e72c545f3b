-- Jobs that failed in the window, grouped by error code and domain, with an example message.
--
-- Counts jobs whose status is failed and whose completed_at (the time of the
-- final failure) is in the window. domain is the lower-cased host of the job's
-- input url; code is error->>'code' ('unknown' when missing). example_message
-- is the message of the most recent failure in the group. Largest groups first.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
with failed as (
  select coalesce(error->>'code', 'unknown') as code,
         coalesce(lower(substring(input->>'url' from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^]]*\]|[^:/?#]+)')), '?') as domain,
         error->>'message' as message,
         completed_at
  from jobs
  where completed_at >= :since and status = 'failed'
)
select code,
       domain,
       count(*)::int as failures,
       (array_agg(message order by completed_at desc))[1] as example_message,
       max(completed_at) as last_failed_at
from failed
group by code, domain
order by failures desc, code, domain;
