-- Politeness shared by every worker and job (core/crawlTasks/hosts.ts): per
-- host, at most N requests in flight (leases, one row per slot) and a pause
-- between two request starts, decided on the database's clock; a 429/503 with
-- Retry-After slows the host for everyone. robots.txt is cached per origin.

create table crawl_hosts (
  host           text primary key,
  next_start_at  timestamptz not null default now(),       -- earliest start of the next request
  delay_ms       integer,                                 -- robots.txt Crawl-delay, a floor on the configured delay
  slowed_until   timestamptz,                             -- Retry-After: no request before this
  updated_at     timestamptz not null default now()
);

-- A slot held past expires_at belongs to a worker that died mid-request: free again.
create table crawl_host_leases (
  host        text not null,
  slot        integer not null,
  holder      text not null,
  expires_at  timestamptz not null,
  primary key (host, slot)
);

-- RFC 9309 §2.4: a robots.txt may be cached up to 24 hours. Only answers that
-- decide the rules (a body, or a 4xx meaning "no rules") are kept; an
-- unreachable robots.txt is asked again.
create table crawl_robots (
  origin      text primary key,
  status      integer not null,                -- HTTP status of the answer
  body        text not null,                   -- the file (first 500 KiB), '' for a 4xx
  fetched_at  timestamptz not null default now()
);
