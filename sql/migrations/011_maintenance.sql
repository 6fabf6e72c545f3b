-- Maintenance bookkeeping (worker/maintenance/).
--
-- One row per periodic task: whoever moves started_at forward takes the pass,
-- so however many workers run, each task runs once per interval (a worker
-- that finds started_at too recent skips its turn). state carries a task's
-- cursor from one pass to the next (the orphan check's place in the backlog).
create table maintenance_passes (
  task         text primary key,
  started_at   timestamptz not null,
  finished_at  timestamptz,
  worker_id    text,
  state        jsonb
);

-- What each retention pass removed (sql/reports/retention.sql).
create table retention_runs (
  id           bigint generated always as identity primary key,
  started_at   timestamptz not null,
  finished_at  timestamptz not null,
  cutoff       timestamptz not null,             -- jobs finished before this went
  jobs         integer not null,
  events       integer not null,
  deliveries   integer not null,
  chunks       integer not null,
  worker_id    text
);
create index retention_runs_by_time on retention_runs (started_at);

-- Retention removes the chunks of the jobs it deletes: the pages whose current
-- version an expired job fetched (a later job of the same url has already
-- replaced its own). Without this index that delete reads every chunk.
create index chunks_by_job on chunks (job_id);
