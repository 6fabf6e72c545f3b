// Worker process: claims and runs jobs. Run any number of these against one database.
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { openRuntime } from '../core/runtime.js';
import { onShutdownSignal } from '../core/shutdown.js';
import { exitOnStartupError } from '../core/startup.js';
import { serveWorkerMetrics, startWorker } from './worker.js';

await exitOnStartupError(async () => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { service: 'gleaner-worker' });
  const runtime = await openRuntime(config, logger, { role: 'worker', supervise: true });
  const worker = await startWorker(runtime);
  const metricsServer = config.metrics.workerPort ? await serveWorkerMetrics(runtime, config.metrics.workerPort) : null;
  onShutdownSignal(logger, async () => {
    metricsServer?.close();
    await worker.stop();
    await runtime.close();
  });
});
