// `npm start`: the API and a worker in one process (embedded PostgreSQL unless DATABASE_URL is set).
import { loadConfig } from '../core/platform/config.js';
import { createLogger } from '../core/platform/logger.js';
import { openRuntime } from '../core/platform/runtime.js';
import { runService } from '../core/platform/shutdown.js';
import { exitOnStartupError } from '../core/platform/startup.js';
import { startServer } from '../server/server.js';
import { startWorker } from '../worker/worker.js';

await exitOnStartupError(async () => {
  const started = Date.now();
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { service: 'gleaner' });
  await runService(logger, async (onStop) => {
    const runtime = await openRuntime(config, logger, { role: 'all', supervise: true });
    onStop(() => runtime.close());
    const worker = await startWorker(runtime);
    onStop(() => worker.stop());
    const api = await startServer(runtime);
    onStop(() => api.stop());
    logger.info('ready', { startupMs: Date.now() - started, embeddedDatabase: runtime.database.embedded !== undefined });
  });
});
