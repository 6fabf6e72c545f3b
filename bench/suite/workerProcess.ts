// A Gleaner worker in a process of its own, running the no-op pipeline (the
// lifecycle row with several worker processes): the real runtime and
// startWorker with the bench's settings (DATABASE_URL, WORKER_CONCURRENCY from
// the environment). Prints "ready" once its runtime is open, starts claiming
// when a line arrives on stdin (so every process starts at the same moment),
// and stops on SIGTERM.
import readline from 'node:readline';
import { createSilentLogger } from '../../core/platform/logger.js';
import { openRuntime } from '../../core/platform/runtime.js';
import { startWorker } from '../../worker/worker.js';
import { benchConfig } from './gleaner.js';
import { noopPipeline } from './noopPipeline.js';

const config = benchConfig(process.env.DATABASE_URL!, { WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '4' });
const runtime = await openRuntime(config, createSilentLogger(), { role: 'worker', supervise: true });
let worker: { stop(): Promise<void> } | null = null;
const lines = readline.createInterface({ input: process.stdin });
lines.once('line', () => {
  void startWorker(runtime, noopPipeline).then((w) => {
    worker = w;
  });
});
process.once('SIGTERM', () => {
  lines.close();
  void (async () => {
    await worker?.stop();
    await runtime.close();
    process.exit(0);
  })();
});
process.stdout.write('ready\n');
