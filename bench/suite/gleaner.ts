// Gleaner's own parts, composed for a measurement the way the service composes
// them: an "API" runtime that creates jobs through the real createJob path, and
// a worker runtime running the real JobRunner (startWorker: runner, reaper
// schedule, rescuer, webhook sender) on its own connection pool, as when API
// and worker run as separate processes. Default settings throughout.
import { createApiKey } from '../../core/apiKeys.js';
import { loadConfig, type Config } from '../../core/platform/config.js';
import { JobCreator } from '../../core/jobs/index.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { openRuntime, type Runtime } from '../../core/platform/runtime.js';
import type { Pipeline } from '../../worker/pipeline/types.js';
import { startWorker } from '../../worker/worker.js';

export function benchConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'error', MAX_JOBS_IN_FLIGHT_PER_KEY: '0', ...overrides });
}

export interface GleanerStack {
  api: Runtime;
  apiKeyId: string;
  /** One job through the real createJob path (what POST /v1/extract/async does after validation). */
  submit(url?: string): Promise<string>;
  startWorker(pipeline: Pipeline): Promise<void>;
  close(): Promise<void>;
}

export async function gleanerStack(databaseUrl: string, overrides: Record<string, string> = {}): Promise<GleanerStack> {
  const config = benchConfig(databaseUrl, overrides);
  const logger = createSilentLogger();
  const api = await openRuntime(config, logger, { role: 'api', supervise: false });
  const { apiKey } = await createApiKey(api.sql, 'bench');
  let worker: { runtime: Runtime; stop(): Promise<void> } | null = null;
  // Submitted as the API submits: concurrent submissions share statements.
  const jobs = new JobCreator(api.sql);
  return {
    api,
    apiKeyId: apiKey.id,
    async submit(url = 'https://example.com/') {
      const { job } = await jobs.create({
        apiKeyId: apiKey.id,
        input: { url },
        callbackUrl: null,
        idempotencyKey: null,
        requestHash: null,
        maxAttempts: config.worker.maxAttempts,
        maxInFlight: config.api.maxJobsInFlightPerKey,
      });
      return job.id;
    },
    async startWorker(pipeline) {
      const runtime = await openRuntime(config, logger, { role: 'worker', supervise: true });
      const started = await startWorker(runtime, pipeline);
      worker = { runtime, stop: started.stop };
    },
    async close() {
      if (worker) {
        await worker.stop();
        await worker.runtime.close();
      }
      await api.close();
    },
  };
}
