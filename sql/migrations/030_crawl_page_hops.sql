-- A page task's discovery depth (Firecrawl's maxDiscoveryDepth): link hops
-- from the start page, where the start page and its sitemaps' URLs are 0.
-- `depth` stays the KnowledgeSDK's (sitemap URLs one below the start page),
-- so the two differ from a sitemap URL on. A constant default: no rewrite.
alter table crawl_pages add column hops integer not null default 0;

-- A crawl's own cap on its running page tasks (Firecrawl's maxConcurrency),
-- null for none: the claim (core/queue/claimPageTasks.ts) takes no more than
-- max_running − running from the crawl's row it locks, as it does maxPages.
alter table crawl_progress add column max_running integer check (max_running > 0);
