-- Page tasks of a crawl (core/crawlTasks/): the client's job is the parent,
-- each page is a row any worker can claim (FOR UPDATE SKIP LOCKED), and the
-- parent's counters live in crawl_progress, kept in the tasks' own transactions.

create table crawl_progress (
  job_id          text primary key references jobs (id) on delete cascade,
  api_key_id      text not null,
  max_pages       integer not null,              -- pages done never exceed it
  max_depth       integer not null,              -- link distance from the start page
  max_tasks       integer not null,              -- tasks created in all (failures included), so broken links cannot keep a crawl busy
  max_attempts    integer not null,              -- per page task
  tasks           integer not null default 0,    -- tasks created
  queued          integer not null default 0,
  running         integer not null default 0,
  pages_done      integer not null default 0,
  pages_failed    integer not null default 0,
  pages_skipped   integer not null default 0,
  pages_cancelled integer not null default 0,
  chunks_indexed  integer not null default 0,
  progressed_at   timestamptz not null default now(), -- last task moved: "stale" means no progress, not a long crawl
  closed_at       timestamptz,                   -- no task open any more (or cancelled): nothing more is created or claimed
  created_at      timestamptz not null default now(),
  check (queued >= 0 and running >= 0 and tasks <= max_tasks)
);

create sequence crawl_page_events;

create table crawl_pages (
  id            bigint generated always as identity primary key,
  job_id        text not null references crawl_progress (job_id) on delete cascade,
  api_key_id    text not null,                   -- the parent's, for claims that take turns between keys
  url_key       text not null,                   -- normalised URL: one task per page of a crawl
  url           text not null,                   -- the URL to fetch
  depth         integer not null,
  state         text not null check (state in ('queued', 'running', 'done', 'failed', 'skipped', 'cancelled')),
  attempts      integer not null default 0,
  worker_id     text,
  heartbeat_at  timestamptz,
  run_after     timestamptz not null default now(),
  error         jsonb,                           -- {code, message, …} of a failed or skipped page
  final_url     text,                            -- after redirects
  chunks        integer,
  event_id      bigint,                          -- set from crawl_page_events when the page reaches its outcome
  created_at    timestamptz not null default now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  unique (job_id, url_key)
);

-- Claims visit keys in order, then each key's due tasks; only queued rows are indexed.
create index crawl_pages_claim on crawl_pages (api_key_id, run_after, id) where state = 'queued';
-- The rescuer scans only what is running.
create index crawl_pages_running on crawl_pages (heartbeat_at) where state = 'running';
-- Page events of a crawl in order (a client following it page by page).
create index crawl_pages_events on crawl_pages (job_id, event_id) where event_id is not null;
