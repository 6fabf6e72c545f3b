// graphile-worker 0.17 (the last release for Node 20), each run on a fresh
// database of the same server. Settings are named in the contender's label:
// its concurrency (`concurrentJobs`, library default 1, here set to Gleaner's
// WORKER_CONCURRENCY or 16), and optionally the batching its performance page
// recommends for throughput: a local queue of 500 jobs fetched (and locked)
// at once, and completions batched (`completeJobBatchDelay: 0`). Prepared
// statements and LISTEN/NOTIFY are its defaults.
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { lifecycleModes, type Contender, type RunContext, type RunResult } from '../types.js';
import { lifecycleCapMs, lifecycleJobs, PICKUP_PER_SECOND, PICKUP_WARMUP, pickupJobs, PRODUCERS } from '../settings.js';
import { concurrently, cpuPerJob, pickupResult, steadyRate, until } from '../util.js';

const silent = new Logger(() => () => {});

export interface GraphileSettings {
  concurrency: number;
  /** localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0 (the library's "batching" settings). */
  batching?: boolean;
}

/** The contender's name: its settings in words. */
export const graphileLabel = (s: GraphileSettings) =>
  `graphile-worker, ${s.batching ? 'local queue 500, batched completion, ' : ''}concurrency ${s.concurrency}`;

async function graphile(ctx: RunContext, label: string, settings: GraphileSettings, task: (jobId: string) => void) {
  const db = await ctx.server.database(label);
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: db.url, logger: silent });
  await utils.migrate();
  let runner: Runner | null = null;
  return {
    utils,
    async start() {
      runner = await run({
        connectionString: db.url,
        logger: silent,
        noHandleSignals: true,
        concurrency: settings.concurrency,
        // Its documented advice: a pool of 10 or concurrency + 2, whichever is larger.
        maxPoolSize: Math.max(10, settings.concurrency + 2),
        noPreparedStatements: false,
        ...(settings.batching ? { preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } } : {}),
        taskList: { noop: async (_payload, helpers) => task(String(helpers.job.id)) },
      });
    },
    async remaining(): Promise<number> {
      return utils.withPgClient(async (c) => Number((await c.query('select count(*)::int as n from graphile_worker.jobs')).rows[0].n));
    },
    async close() {
      await runner?.stop();
      await utils.release();
      await db.drop();
    },
  };
}

/** lifecycle: 32 clients add jobs while the worker drains them; drain: the jobs are added first (one statement), then drained. */
async function graphileRun(ctx: RunContext, settings: GraphileSettings, mode: 'accept' | 'drain'): Promise<{ rate: number; note?: string }> {
  const n = lifecycleJobs(ctx.quick);
  let handled = 0;
  const g = await graphile(ctx, `graphile_${mode}`, settings, () => void handled++);
  try {
    let t0: number;
    let cpu: (jobs: number) => string;
    if (mode === 'accept') {
      await g.start();
      t0 = performance.now();
      cpu = cpuPerJob(ctx.server);
      await concurrently(n, PRODUCERS, () => g.utils.addJob('noop', {}));
    } else {
      await g.utils.withPgClient((c) => c.query(`select graphile_worker.add_job('noop', '{}'::json) from generate_series(1, ${n})`));
      t0 = performance.now();
      cpu = cpuPerJob(ctx.server);
      await g.start();
    }
    const finished = await until(() => handled >= n, lifecycleCapMs(ctx.quick), 5);
    // Batched completions are written after the task returns: the time runs until the table is empty.
    if (finished) await until(async () => (await g.remaining()) === 0, 60_000, 2);
    const rate = (finished ? n : handled) / ((performance.now() - t0) / 1000);
    const cpuNote = cpu(finished ? n : handled);
    return { rate, note: `${mode}: ${finished ? '' : `capped at ${lifecycleCapMs(ctx.quick) / 1000} s, ${handled}/${n} done; `}${cpuNote}` };
  } finally {
    await g.close();
  }
}

/** Both lifecycle rows: submit while draining (lifecycle), then submitted first and drained (lifecycle_drain). */
export function graphileLifecycle(settings: GraphileSettings): Contender {
  const name = graphileLabel(settings);
  return {
    name,
    async run(ctx): Promise<RunResult> {
      const values: Record<string, number> = {};
      const notes: string[] = [];
      for (const mode of lifecycleModes(ctx)) {
        const r = await graphileRun(ctx, settings, mode);
        values[mode === 'accept' ? 'lifecycle' : 'lifecycle_drain'] = r.rate;
        if (r.note) notes.push(r.note);
      }
      return { values, notes };
    },
  };
}

export function graphilePickup(settings: GraphileSettings): Contender {
  const name = graphileLabel(settings);
  return {
    name,
    async run(ctx): Promise<RunResult> {
      const jobs = pickupJobs(ctx.quick);
      const warmup = PICKUP_WARMUP;
      const committed = new Map<string, number>();
      const started = new Map<string, number>();
      const g = await graphile(ctx, 'graphile_pickup', settings, (id) => started.set(id, performance.now()));
      try {
        await g.start();
        await steadyRate(jobs + warmup, PICKUP_PER_SECOND, async () => {
          const job = await g.utils.addJob('noop', {});
          committed.set(String(job.id), performance.now());
        });
        await until(() => started.size >= jobs + warmup, 30_000, 5);
        return pickupResult(name, committed, started, warmup);
      } finally {
        await g.close();
      }
    },
  };
}
