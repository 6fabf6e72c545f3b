// The service assembled in-process for a test file: a fresh database, the
// queue, the API on a real port, and optionally a worker. Workers run the
// production pipeline (knowledgePipeline on the stand-in model) unless a test
// of the runner itself passes another one.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup } from './cleanup.js';
import { createApiKey } from '../../core/apiKeys.js';
import type { Config } from '../../core/platform/config.js';
import { getJob, type Job, type JobStatus } from '../../core/jobs/index.js';
import { createSilentLogger, type Logger } from '../../core/platform/logger.js';
import { startQueue, type Boss } from '../../core/queue/index.js';
import { appBrowser, createApp } from '../../server/app.js';
import type { Sql } from '../../core/platform/db.js';
import { createOutboundClient, type OutboundClient, type ResolveFn } from '../../core/outbound/index.js';
import { openKnowledge, type Knowledge } from '../../core/modelAndIndex.js';
import type { Pipeline } from '../../worker/pipeline/types.js';
import { JobRunner } from '../../worker/runner.js';
import { WebhookSender } from '../../worker/webhooks.js';
import { knowledgePipeline } from '../../worker/pipeline/knowledge.js';
import { pageTaskCrawls, type PageTaskRunner } from '../../worker/pipeline/crawl/pageTasks.js';
import { randomBase62 } from '../../core/ids.js';
import { knowledgePipelineOptions, outboundOptions, runnerOptions, webhookSenderOptions } from '../../worker/worker.js';
import { testConfig } from './config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface Stack {
  config: Config;
  sql: Sql;
  url: string;
  boss: Boss;
  logger: Logger;
  baseUrl: string;
  key: string;
  apiKeyId: string;
  runner: JobRunner | null;
  /** The API's model and index (loaded on first use). */
  knowledge: Knowledge;
  /** The API's guarded outbound client. */
  client: OutboundClient;
  /** A job runner; by default on the service's own pipeline (`knowledgePipeline`). `lookup` resolves host names for its crawls (subdomains of localhost to 127.0.0.1, say). */
  startWorker(opts?: { pipeline?: Pipeline; config?: Config; lookup?: ResolveFn }): Promise<JobRunner>;
  /** The service's pipeline (crawl, chunk, embed, index) on this stack's model, index and a client of its own. */
  knowledgePipeline(config?: Config, lookup?: ResolveFn): Pipeline;
  startWebhookSender(opts?: { config?: Config; random?: () => number }): Promise<WebhookSender>;
  request(method: string, path: string, opts?: { body?: unknown; key?: string | null; headers?: Record<string, string>; rawBody?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  waitForStatus(jobId: string, statuses: JobStatus[], timeoutMs?: number): Promise<Job>;
  /** POST /v1/extract/async with `body` as `key` (the stack's own by default); asserts the 202 and returns the job id. */
  submitJob(body: Record<string, unknown>, key?: string): Promise<string>;
}

/** `database`: run on this (migrated) database instead of a fresh one. */
export async function startStack(opts: { config?: Record<string, string>; worker?: boolean; database?: TestDatabase } = {}): Promise<Stack> {
  const config = testConfig(opts.config);
  const db = opts.database ?? (await createTestDatabase());
  const logger = createSilentLogger();
  const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 3 }, logger);
  // Loaded only if a test searches or indexes: most files never touch the model.
  const knowledge = openKnowledge(config, db.sql, logger);
  const client = createOutboundClient(outboundOptions(config));
  const browser = appBrowser(config, logger);
  const app = createApp({ config, sql: db.sql, boss, logger, knowledge, client, browser });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { key, apiKey } = await createApiKey(db.sql, 'test');
  const runners: JobRunner[] = [];
  const pageRunners: PageTaskRunner[] = [];
  const senders: { sender: WebhookSender; close(): Promise<void> }[] = [];
  const pipelineClients: OutboundClient[] = [];

  onCleanup(async () => {
    for (const runner of runners) await runner.stop(0);
    for (const pages of pageRunners) await pages.stop(0);
    for (const s of senders) {
      await s.sender.stop();
      await s.close();
    }
    for (const c of pipelineClients) await c.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await browser.close();
    await client.close();
    await knowledge.close();
    await boss.stop({ graceful: false, wait: true });
  });

  const stack: Stack = {
    config,
    sql: db.sql,
    url: db.url,
    boss,
    logger,
    baseUrl,
    key,
    apiKeyId: apiKey.id,
    runner: null,
    knowledge,
    client,
    async startWorker(w = {}) {
      const workerConfig = w.config ?? config;
      // As worker/worker.ts does: load the model and open the index before claiming anything.
      if (!w.pipeline) await knowledge.index();
      // As worker/worker.ts does: with CRAWL_PAGE_TASKS, crawls that discover pages run as page tasks.
      const workerId = `test:${process.pid}:${randomBase62(4)}`;
      let crawls: ReturnType<typeof pageTaskCrawls> | undefined;
      if (workerConfig.crawl.pageTasks && !w.pipeline) {
        const crawlClient = createOutboundClient({ ...outboundOptions(workerConfig), ...(w.lookup ? { lookup: w.lookup } : {}) });
        pipelineClients.push(crawlClient);
        crawls = pageTaskCrawls({ sql: db.sql, boss, logger, client: crawlClient, knowledge }, workerConfig, { workerId, heartbeatIntervalMs: 500 });
      }
      const runner = new JobRunner(db.sql, boss, logger, w.pipeline ?? stack.knowledgePipeline(workerConfig, w.lookup), {
        ...runnerOptions(workerConfig),
        heartbeatIntervalMs: 500,
        workerId,
        ...(crawls ? { handOff: crawls.handOff } : {}),
      });
      await runner.start();
      if (crawls) {
        await crawls.runner.start();
        pageRunners.push(crawls.runner);
      }
      runners.push(runner);
      stack.runner ??= runner;
      return runner;
    },
    knowledgePipeline(pipelineConfig = config, lookup) {
      const pipelineClient = createOutboundClient({ ...outboundOptions(pipelineConfig), ...(lookup ? { lookup } : {}) });
      pipelineClients.push(pipelineClient);
      return knowledgePipeline({ client: pipelineClient, knowledge, options: knowledgePipelineOptions(pipelineConfig) });
    },
    async startWebhookSender(w = {}) {
      const senderConfig = w.config ?? config;
      const client = createOutboundClient(outboundOptions(senderConfig));
      const sender = new WebhookSender(db.sql, boss, logger, client, {
        ...webhookSenderOptions(senderConfig),
        userAgent: 'gleaner-test',
        ...(w.random ? { random: w.random } : {}),
      });
      await sender.start();
      senders.push({ sender, close: () => client.close() });
      return sender;
    },
    async request(method, path, r = {}) {
      const headers: Record<string, string> = { ...(r.headers ?? {}) };
      const key = r.key === undefined ? stack.key : r.key;
      if (key !== null) headers['x-api-key'] = key;
      let body: string | undefined = r.rawBody;
      if (r.body !== undefined) {
        body = JSON.stringify(r.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(baseUrl + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async submitJob(body, key = stack.key) {
      const res = await stack.request('POST', '/v1/extract/async', { body, key });
      if (res.status !== 202) throw new Error(`POST /v1/extract/async answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.jobId as string;
    },
    async waitForStatus(jobId, statuses, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await getJob(db.sql, { jobId });
        if (job && statuses.includes(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${jobId} is ${job?.status ?? 'missing'}, expected ${statuses.join('|')} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  if (opts.worker) await stack.startWorker();
  return stack;
}
