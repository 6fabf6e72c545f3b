import http from 'node:http';
import type { Config } from '../core/platform/config.js';
import { metricsAccessAllowed, metricsRegistry } from '../core/platform/metrics.js';
import { createOutboundClient, outboundOptions } from '../core/outbound/index.js';
import type { Runtime } from '../core/platform/runtime.js';
import { startMaintenance } from './maintenance/index.js';
import { knowledgePipeline, type KnowledgePipelineOptions } from './pipeline/knowledge.js';
import type { Pipeline } from './pipeline/types.js';
import { JobRunner, type RunnerOptions } from './runner.js';
import { pageTaskCrawls } from './pipeline/crawl/pageTasks.js';
import { randomBase62 } from '../core/ids.js';
import os from 'node:os';
import { WebhookSender, type WebhookSenderOptions } from './webhooks.js';
import { secretBox } from '../core/secretBox.js';
import { createBrowserService, setSharedBrowser } from '../core/browser/index.js';
import { setSharedExtractLimits } from '../core/extractPool.js';
import { hostLimitsOf, SharedHostLimiter } from '../core/crawlTasks/hosts.js';

export { outboundOptions };

export const runnerOptions = (config: Config): RunnerOptions => ({
  concurrency: config.worker.concurrency,
  pollIntervalMs: config.worker.pollIntervalMs,
  shutdownGraceMs: config.worker.shutdownGraceMs,
  retryBaseDelayMs: config.worker.retryBaseDelayMs,
  retryMaxDelayMs: config.worker.retryMaxDelayMs,
  heartbeatIntervalMs: config.worker.heartbeatIntervalMs,
  jobTimeoutMs: config.worker.jobTimeoutMs,
  resultMaxBytes: config.worker.resultMaxBytes,
});

export const webhookSenderOptions = (config: Config): WebhookSenderOptions => ({
  concurrency: config.webhooks.concurrency,
  concurrencyPerKey: config.webhooks.concurrencyPerKey,
  secrets: secretBox(config.webhooks.secretsKey),
  pollIntervalMs: config.worker.pollIntervalMs,
  timeoutMs: config.webhooks.timeoutMs,
  retryScheduleMs: config.webhooks.retryScheduleMs,
  userAgent: config.fetch.userAgent,
});

export const knowledgePipelineOptions = (config: Config): KnowledgePipelineOptions => ({
  crawl: { robotsUserAgent: config.crawl.robotsUserAgent, hostConcurrency: config.crawl.hostConcurrency, hostDelayMs: config.crawl.hostDelayMs },
  chunking: config.chunking,
  batchSize: config.embedding.batchSize,
});

/** A started worker: the runner plus what it owns. */
export async function startWorker(runtime: Runtime, pipeline?: Pipeline): Promise<{ runner: JobRunner; stop(): Promise<void> }> {
  const { config } = runtime;
  // Load the model and open the index before claiming anything: a missing model fails here, not in every job.
  if (!pipeline) await runtime.knowledge.index();
  const client = createOutboundClient(outboundOptions(config));
  // Crawled pages are extracted on the shared pool's threads (core/extractPool.ts), each within EXTRACT_TIME_LIMIT.
  setSharedExtractLimits({ timeLimitMs: config.extractTimeLimitMs });
  // Rendering (core/browser): logs which browser is in use; Chromium itself starts on the first page that needs it.
  const browser = createBrowserService({ browser: config.browser, outbound: outboundOptions(config), logger: runtime.logger });
  setSharedBrowser(browser);
  const workerId = `${os.hostname()}:${process.pid}:${randomBase62(4)}`;
  const heartbeatSql = runtime.database.dedicated('heartbeat', 2, { statementTimeoutMs: Math.max(1000, config.worker.heartbeatIntervalMs) });
  // CRAWL_PAGE_TASKS: a crawl that discovers pages is handed to page tasks (any worker's) once claimed.
  const crawls =
    config.crawl.pageTasks && !pipeline
      ? pageTaskCrawls({ sql: runtime.sql, boss: runtime.boss, logger: runtime.logger, client, knowledge: runtime.knowledge, browser }, config, { workerId, heartbeatSql })
      : undefined;
  const pages = crawls?.runner;
  const handOff = crawls?.handOff;
  const runner = new JobRunner(
    runtime.sql,
    runtime.boss,
    runtime.logger,
    // Every request of a job's crawl (a one-page job's too) holds a slot of the host limits all workers share, as page tasks do.
    pipeline ?? knowledgePipeline({ client, knowledge: runtime.knowledge, options: knowledgePipelineOptions(config), browser, hosts: new SharedHostLimiter(runtime.sql, workerId, hostLimitsOf(config)) }),
    {
      ...runnerOptions(config),
      workerId,
      // Two connections of their own, each statement capped at one interval: a late heartbeat is worthless, the next one is on its way.
      heartbeatSql,
      ...(handOff ? { handOff } : {}),
    },
  );
  await runner.start();
  await pages?.start();
  const { sql, boss, logger } = runtime;
  const stopMaintenance = await startMaintenance({
    sql,
    boss,
    logger,
    config,
    workerId: runner.workerId,
    // The index (and its model) loads only when a retention pass has jobs to delete.
    removeChunks: async (jobIds) => (await runtime.knowledge.index()).removeJobs(jobIds),
    embedder: () => runtime.knowledge.embedder(),
  });
  const webhooks = new WebhookSender(sql, boss, logger, client, webhookSenderOptions(config));
  await webhooks.start();
  return {
    runner,
    async stop() {
      await stopMaintenance();
      await Promise.all([runner.stop(), pages?.stop(config.worker.shutdownGraceMs)]);
      await webhooks.stop();
      await client.close();
      await browser.close();
    },
  };
}

/** A worker run on its own exposes its metrics on WORKER_METRICS_PORT (GET /metrics, same token rule as the API). */
export async function serveWorkerMetrics(runtime: Runtime, port: number): Promise<http.Server> {
  const registry = metricsRegistry(runtime.sql);
  const token = runtime.config.metrics.token;
  // A bare http handler: nothing catches for it, so it must never throw or reject (an unhandled rejection stops the process).
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      if (!metricsAccessAllowed(req.headers.authorization, token)) return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    } catch (err) {
      runtime.logger.error('worker metrics request failed', { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, runtime.config.host, resolve));
  runtime.logger.info('worker metrics listening', { port });
  return server;
}
