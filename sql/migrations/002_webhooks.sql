-- Signed callback delivery (Standard Webhooks). The secret must be kept in
-- clear to sign; after a rotation the previous one also signs until it expires.
alter table api_keys
  add column webhook_secret text,
  add column previous_webhook_secret text,
  add column previous_webhook_secret_expires_at timestamptz;

-- One row per delivery attempt.
create table webhook_deliveries (
  id               bigint generated always as identity primary key,
  job_id           text not null references jobs (id) on delete cascade,
  event            text not null,                 -- job.completed | job.failed
  webhook_id       text not null,                 -- same on every attempt of one event: receivers de-duplicate on it
  attempt          integer not null,
  url              text not null,
  status_code      integer,
  duration_ms      integer,
  error            text,
  outcome          text not null check (outcome in ('delivered', 'retrying', 'failed')),
  next_attempt_at  timestamptz,                   -- set when outcome = 'retrying'
  created_at       timestamptz not null default now()
);

create index webhook_deliveries_by_job on webhook_deliveries (job_id, id);
create index webhook_deliveries_by_time on webhook_deliveries (created_at);
