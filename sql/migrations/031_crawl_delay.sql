-- A crawl's own delay between its page requests (Firecrawl's delay), null for
-- none, and the earliest start of its next page request: each page task
-- reserves its start on the crawl's row (core/crawlTasks/crawlDelay.ts), so
-- the spacing holds over every worker.
alter table crawl_progress add column delay_ms integer check (delay_ms > 0);
alter table crawl_progress add column next_fetch_at timestamptz;
