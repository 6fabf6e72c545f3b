-- Indexes for the operational reports (sql/reports/*.sql, `npm run report`).
-- Measured with `npm run bench:reports` on 1M jobs: without them throughput,
-- latency, failures and the finished part of jobs-by-status read all of jobs.
--
-- Cost on the write path: a job's state moves are never HOT updates (status is
-- in jobs_by_owner_status), so every index gets an entry per move whatever its
-- columns; heartbeats (heartbeat_at, updated_at, progress) stay HOT because no
-- index here covers those columns. Keep it that way.

-- Jobs created in a window: throughput (created), latency (queue wait of
-- first attempts, index-only), usage.
create index jobs_by_created on jobs (created_at) include (attempts, started_at);

-- Jobs that reached a final state in a window, by status: throughput
-- (completed, failed), latency (run time, index-only), failures,
-- jobs-by-status (finished). Only finished jobs are in it.
create index jobs_by_finished on jobs (status, completed_at) include (started_at) where completed_at is not null;

-- Jobs claimed more than once, by creation: latency finds their first claim in
-- job_events without visiting every job of the window. A few % of jobs.
create index jobs_retried_by_created on jobs (created_at) where attempts > 1;
