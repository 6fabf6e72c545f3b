import { ConfigError } from './config.js';

/** Run an entry point's start-up; a bad config or a failed start prints one clear message and exits 1. */
export async function exitOnStartupError(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`gleaner failed to start: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  }
}
