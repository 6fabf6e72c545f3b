// Worker process: claims and runs jobs. Run any number of these against one database.
import { loadConfig } from '../core/platform/config.js';
import { createLogger } from '../core/platform/logger.js';
import { openRuntime } from '../core/platform/runtime.js';
import { runService } from '../core/platform/shutdown.js';
import { exitOnStartupError } from '../core/platform/startup.js';
import { serveWorkerMetrics, startWorker } from './worker.js';

await exitOnStartupError(async () => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { service: 'gleaner-worker' });
  await runService(logger, async (onStop) => {
    const runtime = await openRuntime(config, logger, { role: 'worker', supervise: true });
    onStop(() => runtime.close());
    const worker = await startWorker(runtime);
    onStop(() => worker.stop());
    if (config.metrics.workerPort) {
      const server = await serveWorkerMetrics(runtime, config.metrics.workerPort);
      onStop(async () => void server.close());
    }
  });
});
