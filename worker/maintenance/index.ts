// The worker's maintenance tasks, one file each (River's internal/maintenance
// is the model): the stale-job reaper (pg-boss cron, reaper.ts), crash rescue
// (rescuer.ts), orphaned pending jobs (orphans.ts), dead senders' webhook
// entries (queueExpiry.ts) and retention (retention.ts). Every worker starts
// them; pass.ts makes each run once per interval across all workers.
import type { Config } from '../../core/platform/config.js';
import type { Sql } from '../../core/platform/db.js';
import type { Embedder } from '../../core/embeddings/types.js';
import type { Logger } from '../../core/platform/logger.js';
import type { Boss } from '../../core/queue/index.js';
import { crawlMaintenanceTask } from './crawls.js';
import { orphanTask } from './orphans.js';
import { startPeriodic } from './pass.js';
import { queueExpiryTask } from './queueExpiry.js';
import { REAPER_QUEUE, scheduleReaper } from './reaper.js';
import { rescueInterval, rescueTask } from './rescuer.js';
import { retentionTask } from './retention.js';

export interface MaintenanceDeps {
  sql: Sql;
  boss: Boss;
  logger: Logger;
  config: Config;
  workerId: string;
  /** Index chunks of deleted jobs (the search index's removeJobs), under RETENTION_INCLUDES_INDEX. */
  removeChunks(jobIds: string[]): Promise<number>;
  /** The embedding model, for business profiles of crawls that maintenance closes. */
  embedder?: () => Promise<Embedder>;
}

/** Start every task; returns a function that stops them and waits for running passes. */
export async function startMaintenance(d: MaintenanceDeps): Promise<() => Promise<void>> {
  const { sql, boss, logger, config, workerId } = d;
  await scheduleReaper(sql, boss, logger, { staleAfterMs: config.worker.staleAfterMs });
  const rescue = { rescueAfterMs: config.worker.rescueAfterMs };
  const tasks = [
    rescueTask(sql, boss, logger, rescue),
    orphanTask(sql, logger, { orphanAfterMs: config.worker.rescueAfterMs, intervalMs: rescueInterval(rescue) }),
    queueExpiryTask(boss),
    ...(config.crawl.pageTasks
      ? [
          crawlMaintenanceTask(sql, boss, logger, {
            rescueAfterMs: config.worker.rescueAfterMs,
            staleAfterMs: config.worker.staleAfterMs,
            maxDurationMs: config.crawl.maxDurationMs,
            inlineItems: config.crawl.inlineItems,
            resultMaxBytes: config.worker.resultMaxBytes,
            intervalMs: rescueInterval(rescue),
            embedder: d.embedder,
          }),
        ]
      : []),
    ...(config.maintenance.retentionMs > 0 ? [retentionTask(sql, logger, { retentionMs: config.maintenance.retentionMs, ...(config.maintenance.retentionIncludesIndex ? { removeChunks: d.removeChunks } : {}), workerId })] : []),
  ];
  const stops = tasks.map((task) => startPeriodic(sql, logger, workerId, task));
  return async () => {
    await boss.offWork(REAPER_QUEUE).catch(() => {});
    await Promise.all(stops.map((stop) => stop()));
  };
}
