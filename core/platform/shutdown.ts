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

/**
 * Start a service's parts in order, each registering how to stop it. On a
 * signal, or when a later part fails to start, the parts already started are
 * stopped in reverse order, so nothing (an embedded database, say) is left behind.
 */
export async function runService(logger: Logger, start: (onStop: (stop: () => Promise<void>) => void) => Promise<void>): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | null = null;
  const starting = start((stop) => stops.push(stop));
  const stopAll = () =>
    (stopped ??= (async () => {
      // A signal during start-up waits for the part being started (pg_ctl, say), then stops it too.
      await starting.catch(() => {});
      for (const stop of stops.reverse()) await stop();
    })());
  onShutdownSignal(logger, stopAll);
  // A connection dropped in an outage can leave a rejected promise nobody
  // awaits; that must not take a running service down. Anything else is a bug:
  // stop in order and exit non-zero so a supervisor restarts the process.
  process.on('unhandledRejection', (reason) => {
    const code = (reason as { code?: unknown } | null)?.code;
    const connectionError = typeof code === 'string' && /^(CONNECTION_|CONNECT_TIMEOUT|ECONNRESET|ECONNREFUSED|EPIPE|57P0|08)/.test(code);
    logger.error('unhandled promise rejection', { error: reason instanceof Error ? reason.message : String(reason), code });
    if (!connectionError) void stopAll().finally(() => process.exit(1));
  });
  try {
    await starting;
  } catch (err) {
    await stopAll().catch((e: Error) => logger.error('stopping after a failed start failed', { error: e.message }));
    throw err;
  }
}
