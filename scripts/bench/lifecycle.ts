// lifecycle: N no-op jobs from accept to `completed`, with their events.
// Gleaner: 32 concurrent clients create jobs through the real createJob path
// while the real worker (default settings) drains them; the time runs from the
// first submission to the last job seen completed. lifecycle_drain: the same
// jobs created first, then the time from the worker's start to the last
// completion. Peers are measured both ways where it makes sense.
import { gleanerStack } from './gleaner.js';
import { observedNoopPipeline } from './noopPipeline.js';
import { graphileLifecycle } from './peers/graphileWorker.js';
import { pgBossLifecycle } from './peers/pgBoss.js';
import { lifecycleCapMs, lifecycleJobs, PRODUCERS } from './settings.js';
import { GLEANER, type Measurement, type RunContext, type RunResult } from './types.js';
import { concurrently, round, until } from './util.js';


async function gleanerLifecycle(ctx: RunContext, mode: 'accept' | 'drain'): Promise<RunResult> {
  const n = lifecycleJobs(ctx.quick);
  const db = await ctx.server.database(`lifecycle_${mode}`, { migrated: true });
  const stack = await gleanerStack(db.url);
  let handled = 0;
  const pipeline = observedNoopPipeline(() => void handled++);
  try {
    let t0: number;
    let acceptMs: number;
    if (mode === 'accept') {
      await stack.startWorker(pipeline);
      t0 = performance.now();
      await concurrently(n, PRODUCERS, () => stack.submit());
      acceptMs = performance.now() - t0;
    } else {
      const tc = performance.now();
      await concurrently(n, PRODUCERS, () => stack.submit());
      acceptMs = performance.now() - tc;
      t0 = performance.now();
      await stack.startWorker(pipeline);
    }
    const sql = stack.api.sql;
    await until(() => handled >= n, 600_000, 5);
    await until(async () => Number((await sql`select count(*)::int as n from jobs where status = 'completed'`)[0]!.n) >= n, 60_000, 2);
    const t1 = performance.now();
    // What the run must have produced: every job completed once, with its three events.
    const [check] = await sql`
      select (select count(*)::int from jobs where status = 'completed' and attempts = 1) as completed,
             (select count(*)::int from job_events) as events`;
    const notes = [`${mode}: ${n} jobs submitted in ${round(acceptMs / 1000, 2)} s${mode === 'accept' ? ' while the worker ran' : ' before the worker started'}`];
    if (check!.completed !== n || check!.events !== 3 * n) notes.push(`CHECK FAILED: ${check!.completed}/${n} completed once, ${check!.events}/${3 * n} events`);
    return { values: { [mode === 'accept' ? 'lifecycle' : 'lifecycle_drain']: n / ((t1 - t0) / 1000) }, notes };
  } finally {
    await stack.close();
    await db.drop();
  }
}

const GRAPHILE_DRAIN = 'graphile-worker (drain)';

export const lifecycle: Measurement = {
  name: 'lifecycle',
  how: (quick) =>
    `${lifecycleJobs(quick).toLocaleString('en')} no-op jobs: ${PRODUCERS} clients submit while the worker drains (lifecycle), or submitted first and then drained (lifecycle_drain); jobs/s from the first submission (or the worker's start) to the last completion. Peers that cannot finish are rated on what they completed within ${lifecycleCapMs(quick) / 1000} s.`,
  rows: [
    { name: 'lifecycle', unit: 'jobs/s', better: 'higher', target: '≥ 1.0× graphile-worker (drain)', meets: (m, peers) => m >= (peers[GRAPHILE_DRAIN] ?? Infinity) },
    { name: 'lifecycle_drain', unit: 'jobs/s', better: 'higher' },
  ],
  gleaner: {
    name: GLEANER,
    async run(ctx) {
      const accept = await gleanerLifecycle(ctx, 'accept');
      const drain = await gleanerLifecycle(ctx, 'drain');
      return { values: { ...accept.values, ...drain.values }, notes: [...(accept.notes ?? []), ...(drain.notes ?? [])] };
    },
  },
  peers: [
    graphileLifecycle('graphile-worker (submit while draining)', 'accept'),
    graphileLifecycle(GRAPHILE_DRAIN, 'drain'),
    pgBossLifecycle('pg-boss work() batchSize 50', 'work'),
    pgBossLifecycle('pg-boss fetch() loop batchSize 1', 'fetch'),
  ],
};
