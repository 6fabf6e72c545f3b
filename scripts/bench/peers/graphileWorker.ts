// graphile-worker 0.17 (the last release for Node 20) with its default
// settings (concurrency 1, LISTEN/NOTIFY, prepared statements), each run on a
// fresh database of the same server.
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import type { Contender, RunContext, RunResult } from '../types.js';
import { lifecycleCapMs, lifecycleJobs, PICKUP_PER_SECOND, PICKUP_WARMUP, pickupJobs, PRODUCERS } from '../settings.js';
import { concurrently, pickupResult, steadyRate, until } from '../util.js';

const silent = new Logger(() => () => {});

async function graphile(ctx: RunContext, label: string, task: (jobId: string) => void) {
  const db = await ctx.server.database(label);
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: db.url, logger: silent });
  await utils.migrate();
  let runner: Runner | null = null;
  return {
    utils,
    async start() {
      runner = await run({ connectionString: db.url, logger: silent, noHandleSignals: true, taskList: { noop: async (_payload, helpers) => task(String(helpers.job.id)) } });
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

/** accept: 32 clients add jobs while the worker drains them; drain: the jobs are added first (one statement), then drained. */
export function graphileLifecycle(name: string, mode: 'accept' | 'drain'): Contender {
  return {
    name,
    async run(ctx): Promise<RunResult> {
      const n = lifecycleJobs(ctx.quick);
      let handled = 0;
      const g = await graphile(ctx, `graphile_${mode}`, () => void handled++);
      try {
        let t0: number;
        if (mode === 'accept') {
          await g.start();
          t0 = performance.now();
          await concurrently(n, PRODUCERS, () => g.utils.addJob('noop', {}));
        } else {
          await g.utils.withPgClient((c) => c.query(`select graphile_worker.add_job('noop', '{}'::json) from generate_series(1, ${n})`));
          t0 = performance.now();
          await g.start();
        }
        const finished = await until(() => handled >= n, lifecycleCapMs(ctx.quick), 5);
        if (finished) await until(async () => (await g.remaining()) === 0, 60_000, 2);
        const rate = (finished ? n : handled) / ((performance.now() - t0) / 1000);
        const notes = finished ? [] : [`${name}: capped at ${lifecycleCapMs(ctx.quick) / 1000} s, ${handled}/${n} done`];
        return { values: mode === 'accept' ? { lifecycle: rate } : { lifecycle: rate, lifecycle_drain: rate }, notes };
      } finally {
        await g.close();
      }
    },
  };
}

export function graphilePickup(): Contender {
  return {
    name: 'graphile-worker',
    async run(ctx): Promise<RunResult> {
      const jobs = pickupJobs(ctx.quick);
      const warmup = PICKUP_WARMUP;
      const committed = new Map<string, number>();
      const started = new Map<string, number>();
      const g = await graphile(ctx, 'graphile_pickup', (id) => started.set(id, performance.now()));
      try {
        await g.start();
        await steadyRate(jobs + warmup, PICKUP_PER_SECOND, async () => {
          const job = await g.utils.addJob('noop', {});
          committed.set(String(job.id), performance.now());
        });
        await until(() => started.size >= jobs + warmup, 30_000, 5);
        return pickupResult('graphile-worker', committed, started, warmup);
      } finally {
        await g.close();
      }
    },
  };
}
