-- Gleaner's own tables. pg-boss keeps its queue tables in the "pgboss" schema
-- and migrates them itself.

create table api_keys (
  id           text primary key,                 -- key_…
  name         text not null,
  key_hash     bytea not null unique,            -- sha256 of the full key; the key itself is never stored
  key_prefix   text not null,                    -- first characters, to tell keys apart in listings
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz
);

create table jobs (
  id               text primary key,             -- job_…
  api_key_id       text not null references api_keys (id),
  kind             text not null default 'extract',
  status           text not null check (status in ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  input            jsonb not null,
  callback_url     text,
  idempotency_key  text,
  request_hash     text,                         -- sha256 of the request body, to tell a replay from a conflict
  attempts         integer not null default 0,   -- how many times the job has been claimed
  max_attempts     integer not null,
  queue_job_id     uuid,                         -- the pg-boss job that currently carries this job
  progress         jsonb,
  result           jsonb,
  error            jsonb,                        -- {code, message, …}
  worker_id        text,
  heartbeat_at     timestamptz,
  run_after        timestamptz,                  -- earliest start of the next attempt (retry backoff)
  created_at       timestamptz not null default now(),
  started_at       timestamptz,                  -- start of the latest attempt
  completed_at     timestamptz,                  -- reached a final state
  updated_at       timestamptz not null default now()
);

create unique index jobs_idempotency_key on jobs (api_key_id, idempotency_key) where idempotency_key is not null;
create index jobs_by_owner on jobs (api_key_id, created_at desc, id desc);
create index jobs_by_owner_status on jobs (api_key_id, status, created_at desc, id desc);
-- The reaper and the rescuer scan only what is running.
create index jobs_processing on jobs (started_at) where status = 'processing';

create table job_events (
  id           bigint generated always as identity primary key,
  job_id       text not null references jobs (id) on delete cascade,
  from_status  text,                             -- null for the creation event
  to_status    text not null,
  at           timestamptz not null default now(),
  attempt      integer not null,
  worker_id    text,
  detail       jsonb
);

create index job_events_by_job on job_events (job_id, id);
