// API process. Run it alone (workers elsewhere) or use `npm start` for both.
import { loadConfig } from '../core/platform/config.js';
import { createLogger } from '../core/platform/logger.js';
import { openRuntime } from '../core/platform/runtime.js';
import { runService } from '../core/platform/shutdown.js';
import { exitOnStartupError } from '../core/platform/startup.js';
import { startServer } from './server.js';

await exitOnStartupError(async () => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { service: 'gleaner-api' });
  await runService(logger, async (onStop) => {
    const runtime = await openRuntime(config, logger, { role: 'api', supervise: false });
    onStop(() => runtime.close());
    const api = await startServer(runtime);
    onStop(() => api.stop());
  });
});
