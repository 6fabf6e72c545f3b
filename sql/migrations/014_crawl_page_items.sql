-- A crawled page's knowledge item lives in its task's row (one item per page),
-- so a crawl's result is read in pages (GET /v1/jobs/{id}/items) instead of
-- one JSON value growing with the crawl.
alter table crawl_pages
  add column title        text,
  add column description  text,
  add column content      text,
  add column category     text;

-- Items of a crawl in the order they were indexed.
create index crawl_pages_items on crawl_pages (job_id, event_id) where state = 'done';
