import type { Logger } from './logger.js';

/** Run `stop` once on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal, exiting now', { signal });
      process.exit(130);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    stop(signal).then(
      () => process.exit(0),
      (err: Error) => {
        logger.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
