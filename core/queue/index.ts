// Every statement that claims or settles queued work, one named module per
// operation: pg-boss's tables (the only code that reads or writes them) and
// the page-task claim. core/crawlTasks/ owns the page tasks' other moves.
export * from './schema.js';
export * from './start.js';
export * from './insertEntries.js';
export * from './wakeWorkers.js';
export * from './dueEntries.js';
export * from './claimEntries.js';
export * from './settleEntries.js';
export * from './claimPageTasks.js';
export * from './lostEntries.js';
export * from './depth.js';
export * from './claimWebhookEntries.js';
export * from './liveEntries.js';
