import express, { type Express } from 'express';
import type { Config } from '../core/platform/config.js';
import type { Sql } from '../core/platform/db.js';
import type { Logger } from '../core/platform/logger.js';
import { migrationsApplied } from '../core/platform/migrations.js';
import type { Boss } from '../core/queue/index.js';
import { errorHandler, HttpError } from './errors.js';
import { requestLog, requireApiKey, requireJson } from './middleware.js';
import { dashboardRouter } from './dashboard/index.js';
import { metricsHandler } from './metricsRoute.js';
import { openapiRouter } from './openapi.js';
import { maxPagesLimit } from './schemas.js';
import { rateLimit } from './rateLimit.js';
import { extractRouter, jobSubmitter, submittedJobs } from './routes/extract.js';
import { installAcceptPath } from './acceptPath.js';
import { KeyCache } from '../core/apiKeys.js';
import { knowledgeSdkRouter } from './routes/knowledgesdk.js';
import { takeScreenshot } from '../core/browser/index.js';
import { jobsRouter } from './routes/jobs.js';
import { crawlPagesRouter } from './routes/crawlPages.js';
import { webhooksRouter } from './routes/webhooks.js';
import { scrapeRouter } from './routes/scrape.js';
import { searchRouter } from './routes/search.js';
import type { Knowledge } from '../core/modelAndIndex.js';
import { outboundOptions, type OutboundClient } from '../core/outbound/index.js';
import { createBrowserService, setSharedBrowser, type BrowserService } from '../core/browser/index.js';
import { ExtractPool } from '../core/extractPool.js';
import type { Extractor } from '../core/page/scrape.js';
import { SyncLimit } from './syncLimit.js';
import { firecrawlRouter } from './firecrawl/index.js';
import { JobCreator } from '../core/jobs/index.js';
import { secretBox } from '../core/secretBox.js';

export interface AppDeps {
  config: Config;
  sql: Sql;
  boss: Boss;
  logger: Logger;
  /** The model and index for /v1/search. */
  knowledge: Knowledge;
  /** The guarded client for /v1/scrape. */
  client: OutboundClient;
  /** How /v1/scrape extracts a page; by default on a pool of worker threads, never on the API's event loop. */
  extract?: Extractor;
  /** Rendering for /v1/scrape and the screenshot routes; by default from the config (the browser starts on first use). */
  browser?: BrowserService;
}

/** Idle pool threads are unref'd: the pool needs no closing and never holds the process open. */
function poolExtractor(timeLimitMs: number): Extractor {
  const pool = new ExtractPool(undefined, { timeLimitMs });
  return (html, baseUrl, owner) => pool.extract(html, baseUrl, owner);
}

/** The process's browser service, from this app's config; takeScreenshot (core/browser) uses the same one. Whoever starts a listening app closes it (a launched Chromium is a child process). */
export function appBrowser(config: Config, logger: Logger): BrowserService {
  const browser = createBrowserService({ browser: config.browser, outbound: outboundOptions(config), logger });
  setSharedBrowser(browser);
  return browser;
}

export function createApp({ config, sql, boss, logger, knowledge, client, extract = poolExtractor(config.extractTimeLimitMs), browser = appBrowser(config, logger) }: AppDeps): Express {
  // One job writer for the process: submissions of every route that arrive together share a statement.
  const jobs = new JobCreator(sql);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use(requestLog(logger));

  app.get('/metrics', metricsHandler(sql, config.metrics.token));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await sql`select 1`;
      if (!(await migrationsApplied(sql))) {
        res.status(503).json({ status: 'unavailable', reason: 'migrations not applied' });
        return;
      }
      res.json({ status: 'ready' });
    } catch {
      res.status(503).setHeader('retry-after', '5').json({ status: 'unavailable', reason: 'database unreachable' });
    }
  });

  if (config.adminToken) app.use('/dashboard', dashboardRouter({ config, sql, boss, logger, adminToken: config.adminToken }));
  else logger.info('dashboard disabled: set ADMIN_TOKEN to enable it');
  app.use(openapiRouter({ allowPrivateNetworks: config.allowPrivateNetworks, maxPages: maxPagesLimit(config.crawl) })); // public: GET /v1/openapi.json, GET /docs

  const limiter = rateLimit({ perMinute: config.api.rateLimitPerMinute, burst: config.api.rateLimitBurst });
  const syncLimit = new SyncLimit(config.api.syncConcurrency, config.api.syncConcurrencyPerKey);
  // Firecrawl's API shapes (own auth and error bodies), on the same key limits as /v1.
  app.use(
    '/firecrawl',
    firecrawlRouter({ sql, boss, jobs, logger, client, extract, syncLimit, rateLimit: limiter, allowPrivateNetworks: config.allowPrivateNetworks, maxAttempts: config.worker.maxAttempts, maxJobsInFlight: config.api.maxJobsInFlightPerKey, maxPagesPerJob: maxPagesLimit(config.crawl), bodyLimitBytes: config.api.bodyLimitBytes, secrets: secretBox(config.webhooks.secretsKey) }),
  );
  const keys = new KeyCache(sql);
  app.use('/v1', requireApiKey(sql, keys), limiter, requireJson, express.json({ limit: config.api.bodyLimitBytes, strict: true }));
  const extractDeps = { sql, boss, jobs, allowPrivateNetworks: config.allowPrivateNetworks, maxPages: maxPagesLimit(config.crawl), maxAttempts: config.worker.maxAttempts, maxJobsInFlight: config.api.maxJobsInFlightPerKey, syncTimeoutMs: config.extractSyncTimeoutMs, syncLimit };
  app.use(extractRouter(extractDeps));
  app.use(jobsRouter({ sql, boss, maxAttempts: config.worker.maxAttempts, maxJobsInFlight: config.api.maxJobsInFlightPerKey }));
  app.use(crawlPagesRouter({ sql }));
  app.use(scrapeRouter({ client, logger, allowPrivateNetworks: config.allowPrivateNetworks, limit: syncLimit, extract, browser }));
  app.use(searchRouter({ knowledge }));
  app.use(
    knowledgeSdkRouter({
      sql,
      submit: jobSubmitter({ jobs, allowPrivateNetworks: config.allowPrivateNetworks, maxPages: maxPagesLimit(config.crawl), maxAttempts: config.worker.maxAttempts, maxJobsInFlight: config.api.maxJobsInFlightPerKey }),
      knowledge,
      client,
      extract,
      logger,
      allowPrivateNetworks: config.allowPrivateNetworks,
      syncTimeoutMs: config.extractSyncTimeoutMs,
      syncLimit,
      screenshot: takeScreenshot,
    }),
  );
  app.use(webhooksRouter({ sql, boss, secretGraceMs: config.webhooks.secretGraceMs, secrets: secretBox(config.webhooks.secretsKey), allowPrivateNetworks: config.allowPrivateNetworks }));

  app.use((req, _res) => {
    throw new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`);
  });
  const onError = errorHandler(logger);
  app.use(onError);
  // POST /v1/extract/async ahead of express, through the same steps as the chain above.
  installAcceptPath(app, { logger, keys, limiter, create: submittedJobs(extractDeps), bodyLimitBytes: config.api.bodyLimitBytes, errorHandler: onError });
  return app;
}
