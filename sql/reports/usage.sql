-- Usage per API key over the window: jobs created, completed, failed, pages, last activity.
--
-- Counts the jobs each key created in the window and, of those, how many are
-- now completed and failed, and the pages they scraped (progress or result
-- pagesScraped; 0 when absent). last_activity is the key's most recent job
-- submission at any time, not only in the window. Lists every active key
-- (0 when idle) and revoked keys that created jobs in the window; busiest first.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
with windowed as (
  select api_key_id,
         count(*)::int as jobs_created,
         count(*) filter (where status = 'completed')::int as completed,
         count(*) filter (where status = 'failed')::int as failed,
         sum(coalesce(
           case when jsonb_typeof(progress->'pagesScraped') = 'number' then (progress->>'pagesScraped')::numeric end,
           case when jsonb_typeof(result->'pagesScraped') = 'number' then (result->>'pagesScraped')::numeric end,
           0))::bigint as pages
  from jobs
  where created_at >= :since
  group by api_key_id
)
select k.name as key_name,
       k.id as key_id,
       coalesce(w.jobs_created, 0) as jobs_created,
       coalesce(w.completed, 0) as completed,
       coalesce(w.failed, 0) as failed,
       coalesce(w.pages, 0)::float8 as pages,
       (select j.created_at from jobs j where j.api_key_id = k.id order by j.created_at desc limit 1) as last_activity,
       k.revoked_at is not null as revoked
from api_keys k
left join windowed w on w.api_key_id = k.id
where k.revoked_at is null or w.api_key_id is not null
order by jobs_created desc, k.name, k.id;
