// Page tasks of a crawl: the table's only writers and readers (sql/migrations/012_crawl_pages.sql).
export * from './tasks.js';
export { reapStaleCrawls, rescueAbandonedPageTasks, type RescueResult } from './maintenance.js';
export { listCrawlPages, listPageEvents, type PageEvent, type PageRow } from './pageEvents.js';
export * from './hosts.js';
