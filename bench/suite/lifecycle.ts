// lifecycle: N no-op jobs from accept to `completed`, with their events.
// Gleaner: 32 concurrent clients create jobs through the real createJob path
// while the real worker drains them; the time runs from the first submission
// to the last job seen completed. lifecycle_drain: the same jobs created
// first, then the time from the worker's start to the last completion. Every
// contender (Gleaner at WORKER_CONCURRENCY, at 16, and as two worker
// processes; the peers at the same concurrencies) is measured both ways, and
// its label names its settings.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { loadConfig } from '../../core/platform/config.js';
import { childEnv, projectRoot } from '../../testing/serviceProcess.js';
import { gleanerStack } from './gleaner.js';
import { observedNoopPipeline } from './noopPipeline.js';
import { graphileLabel, graphileLifecycle } from './peers/graphileWorker.js';
import { pgBossLifecycle } from './peers/pgBoss.js';
import { lifecycleJobs, PRODUCERS } from './settings.js';
import { GLEANER, lifecycleModes, type Contender, type Measurement, type RunContext, type RunResult } from './types.js';
import { concurrently, cpuPerJob, round, until } from './util.js';

/** Gleaner's default WORKER_CONCURRENCY: the concurrency every peer is matched to. */
export const DEFAULT_CONCURRENCY = loadConfig({ DATABASE_URL: 'postgres://localhost/unused' }).worker.concurrency;

interface GleanerSettings {
  concurrency: number;
  /** Worker processes (1: the worker runs in this process, like the peers). */
  processes: number;
}

/** Worker processes (bench/suite/workerProcess.ts), each ready and waiting for a line on stdin to start claiming. */
async function workerProcesses(databaseUrl: string, s: GleanerSettings) {
  const children: ChildProcess[] = [];
  for (let i = 0; i < s.processes; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/suite/workerProcess.ts'], {
      cwd: projectRoot,
      env: childEnv({ DATABASE_URL: databaseUrl, WORKER_CONCURRENCY: String(s.concurrency), LOG_LEVEL: 'error' }),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
  }
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          c.once('exit', (code) => reject(new Error(`a worker process exited (${code}) before it was ready`)));
          readline.createInterface({ input: c.stdout! }).once('line', () => resolve());
        }),
    ),
  );
  return {
    start: () => children.forEach((c) => c.stdin!.write('start\n')),
    async stop() {
      await Promise.all(
        children.map((c) => {
          c.removeAllListeners('exit');
          if (c.exitCode !== null) return;
          const exited = new Promise((r) => c.once('exit', r));
          c.kill('SIGTERM');
          const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
          return exited.then(() => clearTimeout(killer));
        }),
      );
    },
  };
}

async function gleanerLifecycle(ctx: RunContext, s: GleanerSettings, mode: 'accept' | 'drain'): Promise<RunResult> {
  const n = lifecycleJobs(ctx.quick);
  const db = await ctx.server.database(`lifecycle_${mode}`, { migrated: true });
  const stack = await gleanerStack(db.url, { WORKER_CONCURRENCY: String(s.concurrency) });
  const sql = stack.api.sql;
  let handled = 0;
  const pipeline = observedNoopPipeline(() => void handled++);
  const children = s.processes > 1 ? await workerProcesses(db.url, s) : null;
  const startWorkers = async () => (children ? children.start() : stack.startWorker(pipeline));
  const completed = async () => Number((await sql`select count(*)::int as n from jobs where status = 'completed'`)[0]!.n);
  try {
    let t0: number;
    let acceptMs: number;
    let cpu: (jobs: number) => string;
    if (mode === 'accept') {
      await startWorkers();
      t0 = performance.now();
      cpu = cpuPerJob(ctx.server);
      await concurrently(n, PRODUCERS, () => stack.submit());
      acceptMs = performance.now() - t0;
    } else {
      const tc = performance.now();
      await concurrently(n, PRODUCERS, () => stack.submit());
      acceptMs = performance.now() - tc;
      t0 = performance.now();
      cpu = cpuPerJob(ctx.server);
      await startWorkers();
    }
    // In this process the pipeline counts its jobs; other processes' progress is read from the table.
    if (!children) await until(() => handled >= n, 600_000, 5);
    await until(async () => (await completed()) >= n, 600_000, children ? 10 : 2);
    const t1 = performance.now();
    const cpuNote = cpu(n);
    // What the run must have produced: every job completed once, with its three events.
    const [check] = await sql`
      select (select count(*)::int from jobs where status = 'completed' and attempts = 1) as completed,
             (select count(*)::int from job_events) as events`;
    const notes = [`${mode}: ${n} jobs submitted in ${round(acceptMs / 1000, 2)} s${mode === 'accept' ? ' while the worker ran' : ' before the worker started'}; ${cpuNote}${children ? ' (the workers are other processes)' : ''}`];
    if (check!.completed !== n || check!.events !== 3 * n) notes.push(`CHECK FAILED: ${check!.completed}/${n} completed once, ${check!.events}/${3 * n} events`);
    return { values: { [mode === 'accept' ? 'lifecycle' : 'lifecycle_drain']: n / ((t1 - t0) / 1000) }, notes };
  } finally {
    await children?.stop();
    await stack.close();
    await db.drop();
  }
}

function gleanerContender(name: string, s: GleanerSettings): Contender {
  return {
    name,
    async run(ctx) {
      const results = [];
      for (const mode of lifecycleModes(ctx)) results.push(await gleanerLifecycle(ctx, s, mode));
      return { values: Object.assign({}, ...results.map((r) => r.values)), notes: results.flatMap((r) => r.notes ?? []) };
    },
  };
}

const C = DEFAULT_CONCURRENCY;
/** The peer each target is measured against: graphile-worker at Gleaner's concurrency, library defaults otherwise. */
const GRAPHILE_EQUAL = graphileLabel({ concurrency: C });

export const lifecycle: Measurement = {
  name: 'lifecycle',
  how: (quick) =>
    `${lifecycleJobs(quick).toLocaleString('en')} no-op jobs: ${PRODUCERS} clients submit while the worker drains (lifecycle), or submitted first and then drained (lifecycle_drain); jobs/s from the first submission (or the worker's start) to the last completion. Gleaner at WORKER_CONCURRENCY ${C} (its default), at 16, and as two worker processes of ${C}; peers at the same concurrencies, each named with its settings. Peers that cannot finish are rated on what they completed within the cap.`,
  rows: [
    { name: 'lifecycle', unit: 'jobs/s', better: 'higher', target: `≥ 1.0× ${GRAPHILE_EQUAL}`, meets: (m, peers) => m >= (peers[GRAPHILE_EQUAL] ?? Infinity) },
    { name: 'lifecycle_drain', unit: 'jobs/s', better: 'higher', target: `≥ 1.0× ${GRAPHILE_EQUAL}`, meets: (m, peers) => m >= (peers[GRAPHILE_EQUAL] ?? Infinity) },
  ],
  gleaner: gleanerContender(GLEANER, { concurrency: C, processes: 1 }),
  peers: [
    graphileLifecycle({ concurrency: C }),
    gleanerContender(`gleaner, 2 worker processes, concurrency ${C} each`, { concurrency: C, processes: 2 }),
    graphileLifecycle({ concurrency: 2 * C }),
    gleanerContender('gleaner, concurrency 16', { concurrency: 16, processes: 1 }),
    graphileLifecycle({ concurrency: 16 }),
    graphileLifecycle({ concurrency: 16, batching: true }),
    pgBossLifecycle({ concurrency: C, mode: 'fetch' }),
    pgBossLifecycle({ concurrency: 16, mode: 'fetch' }),
    pgBossLifecycle({ concurrency: C, mode: 'work' }),
  ],
};
