// Page tasks of a crawl: the table's only writers and readers (sql/migrations/012-014).
export * from './tasks.js';
export { claimPageTasks } from '../queue/claimPageTasks.js';
export { reapStaleCrawls, rescueAbandonedPageTasks, type RescueResult } from './maintenance.js';
export { listCrawlItems, listCrawlPages, listPageEvents, type CrawlItem, type PageEvent, type PageRow } from './pageEvents.js';
export { completeCrawlParent, crawlProgressView, crawlResult, startCrawlParent } from './parent.js';
export * from './hosts.js';
export { reserveCrawlFetch, waitForCrawlFetch } from './crawlDelay.js';
export { busyHostPauseMs, retryAfterPauseMs } from './retryAfter.js';
