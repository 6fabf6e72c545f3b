// `npm run reap`: one reaper pass, for cron. Prints what it reaped; exits 1 on a database error.
// Safe to run from several hosts at once (stale rows are taken with SKIP LOCKED).
import { loadConfig } from '../core/platform/config.js';
import { createLogger } from '../core/platform/logger.js';
import { openRuntime } from '../core/platform/runtime.js';
import { exitOnStartupError } from '../core/platform/startup.js';
import { reapOnce } from '../worker/maintenance/reaper.js';

await exitOnStartupError(async () => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, { service: 'gleaner-reap' });
  const runtime = await openRuntime(config, logger, { role: 'reap', supervise: false });
  try {
    const reaped = await reapOnce(runtime.sql, runtime.boss, logger, { staleAfterMs: config.worker.staleAfterMs });
    for (const job of reaped) process.stdout.write(`reaped ${job.id} (processing since ${job.startedAt?.toISOString()})\n`);
    process.stdout.write(`${reaped.length} stale job(s) reaped (stale after ${config.worker.staleAfterMs / 1000} s)\n`);
  } catch (err) {
    process.stderr.write(`reap failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await runtime.close();
  }
});
