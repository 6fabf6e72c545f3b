// The only place that reads process.env. Everything else receives a Config.
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import type { OutboundOptions } from '../outbound/client.js';
import { parseSecretsKey } from '../secretBox.js';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

// "500ms", "30s", "10m", "2h", "1d" or plain milliseconds.
const toMs = (v: string, ctx: z.RefinementCtx): number => {
  const ms = parseDuration(v, { bareMilliseconds: true });
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration like 500ms, 30s, 10m or 2h' });
    return z.NEVER;
  }
  return ms;
};
const duration = (fallback: string) => z.string().default(fallback).transform(toMs);
const optionalDuration = () => z.string().transform(toMs).optional();

const envSchema = z.object({
  PORT: int(3000, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: int(10, 1, 200),
  DATABASE_STATEMENT_TIMEOUT: duration('60s'),
  ALLOW_PRIVATE_NETWORKS: bool(false),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),

  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  WORKER_METRICS_PORT: int(0, 0, 65535),
  API_BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  RATE_LIMIT_PER_MINUTE: int(1200, 0, 10_000_000),
  RATE_LIMIT_BURST: int(200, 1, 1_000_000),
  MAX_JOBS_IN_FLIGHT_PER_KEY: int(1000, 0, 10_000_000),
  CREATE_INITIAL_KEY: bool(true),

  WORKER_CONCURRENCY: int(4, 1, 256),
  WORKER_POLL_INTERVAL: duration('2s'),
  JOB_MAX_ATTEMPTS: int(3, 1, 20),
  RESULT_MAX_BYTES: int(8 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024),
  RETRY_BASE_DELAY: duration('5s'),
  RETRY_MAX_DELAY: duration('10m'),
  SHUTDOWN_GRACE: duration('30s'),
  STALE_AFTER: duration('10m'),
  // Unset: derived from STALE_AFTER (see loadConfig), so shortening STALE_AFTER alone is always valid.
  JOB_TIMEOUT: optionalDuration(),
  RESCUE_AFTER: optionalDuration(),
  HEARTBEAT_INTERVAL: optionalDuration(),
  RETENTION: duration('30d'),
  // The search index is the knowledge itself: kept when its jobs' history goes, unless asked.
  RETENTION_INCLUDES_INDEX: bool(false),

  WEBHOOK_CONCURRENCY: int(8, 1, 256),
  WEBHOOK_CONCURRENCY_PER_KEY: int(2, 1, 256),
  WEBHOOK_TIMEOUT: duration('10s'),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('5s,5m,30m,2h,5h,10h,14h,20h,24h')
    .transform((v, ctx) => {
      const parts = v.split(',').map((p) => p.trim());
      const ms = parts.map((p) => duration('0').safeParse(p));
      if (parts.length === 0 || parts.length > 50 || ms.some((r) => !r.success)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of durations, e.g. 5s,5m,30m' });
        return z.NEVER;
      }
      return ms.map((r) => r.data as number);
    }),
  WEBHOOK_SECRET_GRACE: duration('24h'),
  SECRETS_KEY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const key = parseSecretsKey(v);
      if (!key) {
        ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex characters or base64 (e.g. openssl rand -hex 32)' });
        return z.NEVER;
      }
      return key;
    }),

  FETCH_USER_AGENT: z.string().min(1).default('GleanerBot/0.1 (+https://github.com/gleaner)'),
  FETCH_CONNECT_TIMEOUT: duration('10s'),
  FETCH_HEADERS_TIMEOUT: duration('15s'),
  FETCH_BODY_TIMEOUT: duration('15s'),
  FETCH_TOTAL_TIMEOUT: duration('30s'),
  FETCH_MAX_BYTES: int(5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  FETCH_MAX_REDIRECTS: int(5, 0, 20),

  BROWSER_EXECUTABLE: z.string().min(1).optional(),
  BROWSER_WS_URL: z.string().regex(/^(wss?|https?):\/\//, 'must be a ws://, wss://, http:// or https:// URL').optional(),
  BROWSER_CONCURRENCY: int(2, 1, 64),
  BROWSER_PAGES_PER_CONTEXT: int(50, 1, 100_000),
  BROWSER_PAGE_TIMEOUT: duration('30s'),
  BROWSER_MAX_WAIT_FOR: duration('10s'),
  BROWSER_NETWORK_IDLE: duration('3s'),
  BROWSER_MAX_SCROLLS: int(5, 0, 100),

  CRAWL_USER_AGENT: z.string().min(1).default('GleanerBot'),
  CRAWL_HOST_CONCURRENCY: int(2, 1, 32),
  CRAWL_HOST_DELAY: duration('250ms'),
  MAX_PAGES_PER_JOB: int(1000, 1, 100_000),
  // Crawls that discover pages fan out into page tasks any worker claims (off: one worker runs the crawl).
  CRAWL_PAGE_TASKS: bool(true),
  // Page tasks one key may have running at once over all workers: one key's 10,000-page crawl leaves page slots for others.
  CRAWL_RUNNING_PAGES_PER_KEY: int(8, 1, 100_000),
  RESULT_INLINE_ITEMS: int(100, 1, 1000),
  JOB_MAX_DURATION: duration('6h'),

  EMBEDDING_MODEL: z.string().min(1).default('Xenova/all-MiniLM-L6-v2'),
  EMBEDDING_MODEL_DIR: z.string().min(1).optional(),
  EMBEDDING_CACHE_DIR: z.string().min(1).optional(),
  EMBEDDING_REMOTE_HOST: z.string().url('must be a URL').default('https://huggingface.co/'),
  EMBEDDING_BATCH_SIZE: int(4, 1, 256),
  EMBEDDING_THREADS: int(0, 0, 64),
  EMBEDDING_MAX_TOKENS: int(256, 16, 512),
  EMBEDDING_DTYPE: z.enum(['fp32', 'q8']).default('fp32'),
  CHUNK_TOKENS: int(200, 32, 512),
  CHUNK_OVERLAP_TOKENS: int(40, 0, 256),

  TYPESENSE_URL: z.string().url('must be a URL').optional(),
  TYPESENSE_API_KEY: z.string().min(1).optional(),
  TYPESENSE_COLLECTION: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -').default('gleaner_chunks'),

  EXTRACT_SYNC_TIMEOUT: duration('30s'),
  // A page's extraction on its pool thread (worker crawls, /v1/scrape): past this it fails too_complex and the thread is replaced.
  EXTRACT_TIME_LIMIT: duration('30s'),
  SYNC_CONCURRENCY: int(32, 1, 10_000),
  SYNC_CONCURRENCY_PER_KEY: int(4, 1, 10_000),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** statement_timeout of the app's connections; 0 turns it off. Migrations and index builds lift it for themselves. */
  databaseStatementTimeoutMs: number;
  allowPrivateNetworks: boolean;
  logLevel: string;
  api: {
    bodyLimitBytes: number;
    createInitialKey: boolean;
    /** Requests per minute per API key, per API process; 0 turns the limit off. */
    rateLimitPerMinute: number;
    rateLimitBurst: number;
    /** Pending + processing jobs one key may have; 0 turns the cap off. */
    maxJobsInFlightPerKey: number;
    /** POST /v1/scrape and POST /v1/extract requests in progress at once in this process: in all, and per key. */
    syncConcurrency: number;
    syncConcurrencyPerKey: number;
  };
  metrics: { token: string | undefined; workerPort: number };
  /** Token for the operator dashboard; the dashboard is off when unset. */
  adminToken: string | undefined;
  worker: {
    concurrency: number;
    pollIntervalMs: number;
    maxAttempts: number;
    /** Largest result a job stores inline, in bytes of JSON; a bigger one is stored shortened with `truncated: true`. */
    resultMaxBytes: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    shutdownGraceMs: number;
    staleAfterMs: number;
    /** The pipeline's own deadline, below staleAfterMs: a slow attempt fails as `timeout` before the reaper sees it. */
    jobTimeoutMs: number;
    rescueAfterMs: number;
    heartbeatIntervalMs: number;
  };
  maintenance: {
    /** Finished jobs older than this are deleted with everything of theirs; 0 keeps them forever. */
    retentionMs: number;
    /** Retention also removes the index chunks the deleted jobs produced. */
    retentionIncludesIndex: boolean;
  };
  webhooks: {
    concurrency: number;
    /** Deliveries of one API key at once in one sender (kept below `concurrency`). */
    concurrencyPerKey: number;
    timeoutMs: number;
    /** Delay before each retry; attempts = 1 + its length. */
    retryScheduleMs: number[];
    secretGraceMs: number;
    /** SECRETS_KEY: webhook secrets are encrypted at rest with it (AES-256-GCM) when set. */
    secretsKey: Buffer | undefined;
  };
  /** Rendering pages in Chromium (core/browser); started on first use. */
  browser: {
    executable: string | undefined;
    /** A remote browser over CDP; wins over `executable`. */
    wsUrl: string | undefined;
    /** Pages rendered at once per process. */
    concurrency: number;
    /** A browser context is replaced after this many pages. */
    pagesPerContext: number;
    pageTimeoutMs: number;
    maxWaitForMs: number;
    networkIdleMs: number;
    maxScrolls: number;
  };
  crawl: {
    /** The name matched against robots.txt groups. */
    robotsUserAgent: string;
    /** Requests in flight to one host within a job. */
    hostConcurrency: number;
    /** Pause between two requests to one host within a job. */
    hostDelayMs: number;
    /** The most pages one crawl job may ask for (its page tasks stop there). */
    maxPagesPerJob: number;
    /** Crawls that discover pages run as page tasks (core/crawlTasks) instead of inside one worker. */
    pageTasks: boolean;
    /** Page tasks one key may have running at once over all workers. */
    runningPagesPerKey: number;
    /** Knowledge items a crawl's result carries inline; the rest are read through GET /v1/jobs/{id}/items. */
    inlineItems: number;
    /** A crawl still open after this long is closed (the backstop; a crawl that stops moving is closed after STALE_AFTER). */
    maxDurationMs: number;
  };
  embedding: {
    /** Hub model id (e.g. Xenova/all-MiniLM-L6-v2). */
    model: string;
    /** A local folder holding the model; when set, remote loading is off. */
    modelDir: string | undefined;
    /** Where downloaded models are cached. */
    cacheDir: string;
    remoteHost: string;
    batchSize: number;
    /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
    threads: number;
    /** Longest input in model tokens; longer text is truncated. */
    maxTokens: number;
    /** Weights: fp32 (onnx/model.onnx) or q8, the int8 twin (onnx/model_quantized.onnx). */
    dtype: 'fp32' | 'q8';
  };
  chunking: { maxTokens: number; overlapTokens: number };
  /** Set when Typesense is the search index; Postgres otherwise. */
  typesense: { url: string; apiKey: string; collection: string } | undefined;
  /** How long POST /v1/extract waits for the job before answering 202. */
  extractSyncTimeoutMs: number;
  /** Longest one page's extraction may run on its thread before it fails too_complex. */
  extractTimeLimitMs: number;
  /** The outbound client's limits; the address policy comes from allowPrivateNetworks. */
  fetch: Omit<OutboundOptions, 'allowPrivateNetworks' | 'lookup' | 'isAddressAllowed'>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse configuration from an environment; empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        // Never echo secrets: DATABASE_URL may carry a password.
        const shown = ['DATABASE_URL', 'METRICS_TOKEN', 'ADMIN_TOKEN', 'TYPESENSE_API_KEY', 'SECRETS_KEY', 'BROWSER_WS_URL'].includes(name) ? '' : ` (got ${JSON.stringify(cleaned[name])})`;
        return `${name}: ${i.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  // Timing settings left unset derive from STALE_AFTER, so setting it alone is
  // always consistent (STALE_AFTER=5s gives RESCUE_AFTER 2.5 s, heartbeats every
  // 625 ms and a 4.5 s job deadline); settings given explicitly are checked.
  const rescueAfterMs = e.RESCUE_AFTER ?? Math.min(60_000, Math.floor(e.STALE_AFTER / 2));
  const heartbeatIntervalMs = e.HEARTBEAT_INTERVAL ?? Math.min(15_000, Math.floor(rescueAfterMs / 4));
  const jobTimeoutMs = e.JOB_TIMEOUT ?? e.STALE_AFTER - Math.min(60_000, Math.floor(e.STALE_AFTER / 10));
  if (e.STALE_AFTER < 1000) {
    throw new ConfigError([`STALE_AFTER: must be at least 1s (got ${e.STALE_AFTER} ms)`]);
  }
  // A live worker must never look silent: at least two heartbeats per rescue window.
  if (heartbeatIntervalMs < 1 || heartbeatIntervalMs * 2 > rescueAfterMs) {
    throw new ConfigError([`HEARTBEAT_INTERVAL: must be above 0 and at most half of RESCUE_AFTER (${rescueAfterMs} ms)`]);
  }
  if (e.WEBHOOK_TIMEOUT > 300_000) {
    throw new ConfigError([`WEBHOOK_TIMEOUT: must be at most 5m (got ${e.WEBHOOK_TIMEOUT} ms)`]);
  }
  if (rescueAfterMs >= e.STALE_AFTER) {
    throw new ConfigError([`RESCUE_AFTER: must be shorter than STALE_AFTER (${e.STALE_AFTER} ms)`]);
  }
  if (jobTimeoutMs < 1 || jobTimeoutMs >= e.STALE_AFTER) {
    throw new ConfigError([`JOB_TIMEOUT: must be above 0 and shorter than STALE_AFTER (${e.STALE_AFTER} ms), so a slow job fails as timeout before it is reaped as stale`]);
  }
  // A job is never deleted while its webhook may still be retrying.
  const webhookSpanMs = e.WEBHOOK_RETRY_SCHEDULE.reduce((a, b) => a + b, 0) + (e.WEBHOOK_RETRY_SCHEDULE.length + 1) * e.WEBHOOK_TIMEOUT;
  if (e.RETENTION !== 0 && e.RETENTION <= Math.max(3_600_000, webhookSpanMs)) {
    throw new ConfigError([`RETENTION: must be 0 (keep forever) or longer than 1h and than the webhook retry schedule (${Math.ceil(webhookSpanMs / 60_000)} min)`]);
  }
  if (e.CHUNK_OVERLAP_TOKENS * 2 > e.CHUNK_TOKENS) {
    throw new ConfigError([`CHUNK_OVERLAP_TOKENS: must be at most half of CHUNK_TOKENS (${e.CHUNK_TOKENS})`]);
  }
  if (e.CHUNK_TOKENS > e.EMBEDDING_MAX_TOKENS) {
    throw new ConfigError([`CHUNK_TOKENS: must be at most EMBEDDING_MAX_TOKENS (${e.EMBEDDING_MAX_TOKENS})`]);
  }
  if ((e.TYPESENSE_URL === undefined) !== (e.TYPESENSE_API_KEY === undefined)) {
    throw new ConfigError(['TYPESENSE_URL and TYPESENSE_API_KEY: set both to use Typesense, or neither for the Postgres index']);
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT,
    allowPrivateNetworks: e.ALLOW_PRIVATE_NETWORKS,
    logLevel: e.LOG_LEVEL,
    api: {
      bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
      createInitialKey: e.CREATE_INITIAL_KEY,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      rateLimitBurst: e.RATE_LIMIT_BURST,
      maxJobsInFlightPerKey: e.MAX_JOBS_IN_FLIGHT_PER_KEY,
      syncConcurrency: e.SYNC_CONCURRENCY,
      syncConcurrencyPerKey: e.SYNC_CONCURRENCY_PER_KEY,
    },
    metrics: { token: e.METRICS_TOKEN, workerPort: e.WORKER_METRICS_PORT },
    adminToken: e.ADMIN_TOKEN,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      pollIntervalMs: e.WORKER_POLL_INTERVAL,
      maxAttempts: e.JOB_MAX_ATTEMPTS,
      resultMaxBytes: e.RESULT_MAX_BYTES,
      retryBaseDelayMs: e.RETRY_BASE_DELAY,
      retryMaxDelayMs: e.RETRY_MAX_DELAY,
      shutdownGraceMs: e.SHUTDOWN_GRACE,
      staleAfterMs: e.STALE_AFTER,
      jobTimeoutMs,
      rescueAfterMs,
      heartbeatIntervalMs,
    },
    maintenance: { retentionMs: e.RETENTION, retentionIncludesIndex: e.RETENTION_INCLUDES_INDEX },
    webhooks: {
      concurrency: e.WEBHOOK_CONCURRENCY,
      concurrencyPerKey: e.WEBHOOK_CONCURRENCY_PER_KEY,
      timeoutMs: e.WEBHOOK_TIMEOUT,
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
      secretGraceMs: e.WEBHOOK_SECRET_GRACE,
      secretsKey: e.SECRETS_KEY,
    },
    browser: {
      executable: e.BROWSER_EXECUTABLE,
      wsUrl: e.BROWSER_WS_URL,
      concurrency: e.BROWSER_CONCURRENCY,
      pagesPerContext: e.BROWSER_PAGES_PER_CONTEXT,
      pageTimeoutMs: e.BROWSER_PAGE_TIMEOUT,
      maxWaitForMs: e.BROWSER_MAX_WAIT_FOR,
      networkIdleMs: e.BROWSER_NETWORK_IDLE,
      maxScrolls: e.BROWSER_MAX_SCROLLS,
    },
    crawl: { robotsUserAgent: e.CRAWL_USER_AGENT, hostConcurrency: e.CRAWL_HOST_CONCURRENCY, hostDelayMs: e.CRAWL_HOST_DELAY, maxPagesPerJob: e.MAX_PAGES_PER_JOB,
      pageTasks: e.CRAWL_PAGE_TASKS,
      runningPagesPerKey: e.CRAWL_RUNNING_PAGES_PER_KEY,
      inlineItems: e.RESULT_INLINE_ITEMS,
      maxDurationMs: e.JOB_MAX_DURATION,
    },
    embedding: {
      model: e.EMBEDDING_MODEL,
      modelDir: e.EMBEDDING_MODEL_DIR === undefined ? undefined : path.resolve(e.EMBEDDING_MODEL_DIR),
      cacheDir: path.resolve(e.EMBEDDING_CACHE_DIR ?? path.join(dataDir, 'models')),
      remoteHost: e.EMBEDDING_REMOTE_HOST,
      batchSize: e.EMBEDDING_BATCH_SIZE,
      threads: e.EMBEDDING_THREADS,
      maxTokens: e.EMBEDDING_MAX_TOKENS,
      dtype: e.EMBEDDING_DTYPE,
    },
    chunking: { maxTokens: e.CHUNK_TOKENS, overlapTokens: e.CHUNK_OVERLAP_TOKENS },
    typesense:
      e.TYPESENSE_URL !== undefined && e.TYPESENSE_API_KEY !== undefined
        ? { url: e.TYPESENSE_URL, apiKey: e.TYPESENSE_API_KEY, collection: e.TYPESENSE_COLLECTION }
        : undefined,
    extractSyncTimeoutMs: e.EXTRACT_SYNC_TIMEOUT,
    extractTimeLimitMs: e.EXTRACT_TIME_LIMIT,
    fetch: {
      userAgent: e.FETCH_USER_AGENT,
      connectTimeoutMs: e.FETCH_CONNECT_TIMEOUT,
      headersTimeoutMs: e.FETCH_HEADERS_TIMEOUT,
      bodyTimeoutMs: e.FETCH_BODY_TIMEOUT,
      totalTimeoutMs: e.FETCH_TOTAL_TIMEOUT,
      maxBodyBytes: e.FETCH_MAX_BYTES,
      maxRedirects: e.FETCH_MAX_REDIRECTS,
    },
  };
}

/** Names of every variable the service reads, for documentation checks. */
export const configVariableNames = Object.keys(envSchema.shape);
