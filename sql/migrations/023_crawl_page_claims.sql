-- What a one-worker crawl keeps in memory, kept for crawls run as page tasks
-- (worker/pipeline/crawl/pageFacts.ts), so any worker sees it.

-- One page per identity: a page claims its URL after redirects, its
-- canonical URL and its text's hash before it is indexed, all or nothing
-- under a per-crawl lock; a page whose identity another page of the crawl
-- holds is a duplicate, and a task whose URL another page holds (as its
-- canonical URL) is never fetched.
create table crawl_page_claims (
  job_id   text not null references crawl_progress (job_id) on delete cascade,
  identity text not null,    -- 'url:' || normalised URL, or 'text:' || sha256 of the page's text
  owner    text not null,    -- url_key of the task that holds it
  primary key (job_id, identity)
);

-- What a crawl's result needs beyond each page's knowledge item: the site's
-- own metadata, the start page's sitemap count, and (for /v1/business jobs)
-- the pages' source for the business profile, built when the crawl closes.
create table crawl_page_facts (
  job_id  text not null references crawl_progress (job_id) on delete cascade,
  url_key text not null,
  facts   jsonb not null,
  primary key (job_id, url_key)
);
