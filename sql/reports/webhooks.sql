-- Webhook delivery health over the window: success rate, attempts per delivered event, failures, oldest still retrying.
--
-- Looks at the delivery attempts made in the window (webhook_deliveries rows
-- by created_at), grouped into events by webhook_id, one row per event type
-- and a final 'all' row. An event is delivered when an attempt succeeded,
-- gave_up when its last attempt is 'failed', retrying when its last attempt is
-- 'retrying'. success_rate_pct = delivered / (delivered + gave_up), events
-- still retrying left out. failed_attempts counts every attempt that did not
-- deliver. oldest_retrying_* describe the still-retrying event whose first
-- attempt (in the window) is oldest, and when it will be tried next.
--
-- Parameters:
--   :since  timestamptz  start of the window (default: 24h ago)
with attempts as (
  select webhook_id, event, attempt, outcome, next_attempt_at, created_at, id
  from webhook_deliveries
  where created_at >= :since
), events as (
  select webhook_id,
         min(event) as event,
         count(*)::int as attempts,
         count(*) filter (where outcome <> 'delivered')::int as failed_attempts,
         bool_or(outcome = 'delivered') as delivered,
         (array_agg(outcome order by attempt desc, id desc))[1] as last_outcome,
         (array_agg(next_attempt_at order by attempt desc, id desc))[1] as next_attempt_at,
         min(created_at) as first_attempt_at
  from attempts
  group by webhook_id
), classified as (
  select *,
         case when delivered then 'delivered' when last_outcome = 'failed' then 'gave_up' else 'retrying' end as state
  from events
)
select coalesce(event, 'all') as event,
       count(*)::int as events,
       count(*) filter (where state = 'delivered')::int as delivered,
       count(*) filter (where state = 'gave_up')::int as gave_up,
       count(*) filter (where state = 'retrying')::int as retrying,
       round(100.0 * count(*) filter (where state = 'delivered')
             / nullif(count(*) filter (where state in ('delivered', 'gave_up')), 0), 1)::float8 as success_rate_pct,
       round(avg(attempts) filter (where state = 'delivered'), 2)::float8 as attempts_per_delivered,
       coalesce(sum(failed_attempts), 0)::int as failed_attempts,
       (array_agg(webhook_id order by first_attempt_at, webhook_id) filter (where state = 'retrying'))[1] as oldest_retrying_webhook_id,
       min(first_attempt_at) filter (where state = 'retrying') as oldest_retrying_since,
       (array_agg(next_attempt_at order by first_attempt_at, webhook_id) filter (where state = 'retrying'))[1] as oldest_retrying_next_attempt_at
from classified
group by rollup (event)
order by event is null, event;
