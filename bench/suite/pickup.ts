// pickup: jobs submitted one at a time at a steady 20/s to an idle worker;
// latency from the moment the submitting commit returned to the moment the
// job's handler (the pipeline) starts. Both timestamps come from
// performance.now() in this one process.
import { gleanerStack } from './gleaner.js';
import { observedNoopPipeline } from './noopPipeline.js';
import { DEFAULT_CONCURRENCY } from './lifecycle.js';
import { graphilePickup } from './peers/graphileWorker.js';
import { pgBossPickup } from './peers/pgBoss.js';
import { PICKUP_PER_SECOND, PICKUP_WARMUP, pickupJobs } from './settings.js';
import { GLEANER, type Contender, type Measurement, type RunResult } from './types.js';
import { pickupResult, steadyRate, until } from './util.js';

const gleaner: Contender = {
  name: GLEANER,
  async run(ctx): Promise<RunResult> {
    const jobs = pickupJobs(ctx.quick);
    const db = await ctx.server.database('pickup', { migrated: true });
    const stack = await gleanerStack(db.url);
    const committed = new Map<string, number>();
    const started = new Map<string, number>();
    try {
      await stack.startWorker(observedNoopPipeline((id) => started.set(id, performance.now())));
      await steadyRate(jobs + PICKUP_WARMUP, PICKUP_PER_SECOND, async () => {
        const id = await stack.submit();
        committed.set(id, performance.now());
      });
      await until(() => started.size >= jobs + PICKUP_WARMUP, 30_000, 5);
      return pickupResult('gleaner', committed, started, PICKUP_WARMUP);
    } finally {
      await stack.close();
      await db.drop();
    }
  },
};

export const pickup: Measurement = {
  name: 'pickup',
  how: (quick) => `${pickupJobs(quick)} jobs (after ${PICKUP_WARMUP} uncounted) at ${PICKUP_PER_SECOND}/s to an idle worker; commit returned → handler start, same process clock.`,
  rows: [
    { name: 'pickup_p50', unit: 'ms', better: 'lower', target: '≤ 5 ms', meets: (m) => m <= 5 },
    { name: 'pickup_p99', unit: 'ms', better: 'lower', target: '≤ 25 ms', meets: (m) => m <= 25 },
  ],
  gleaner,
  peers: [graphilePickup({ concurrency: DEFAULT_CONCURRENCY }), pgBossPickup()],
};
