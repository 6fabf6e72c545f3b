// Raw pg-boss 10 (no Gleaner code): one instance sends, another works, each
// with its own pool, on a fresh database of the same server. The contender's
// label names its settings. pg-boss 10 has no concurrency option: a worker
// (`work()`) sleeps its polling interval (0.5 s at the shortest) after every
// fetch, so at a given concurrency N the fastest thing a user can write is N
// loops of fetch() (batchSize 1) + complete() that sleep only when the queue
// is empty; work() with batchSize N (N jobs every 0.5 s) is the other row.
import PgBoss from 'pg-boss';
import { lifecycleCapMs, lifecycleJobs, PICKUP_PER_SECOND, PICKUP_WARMUP, pickupJobs, PRODUCERS } from '../settings.js';
import { lifecycleModes, type Contender, type RunContext, type RunResult } from '../types.js';
import { concurrently, pickupResult, sleep, steadyRate, until } from '../util.js';

const QUEUE = 'bench';

async function pgBoss(ctx: RunContext, label: string, poolSize: number) {
  const db = await ctx.server.database(label);
  const consumer = new PgBoss({ connectionString: db.url, max: poolSize });
  consumer.on('error', () => {});
  await consumer.start();
  await consumer.createQueue(QUEUE);
  const producer = new PgBoss({ connectionString: db.url, max: 10, supervise: false, schedule: false, migrate: false });
  producer.on('error', () => {});
  await producer.start();
  return {
    consumer,
    producer,
    async completed(): Promise<number> {
      const rows = await consumer.getDb().executeSql(`select count(*)::int as n from pgboss.job where name = $1 and state = 'completed'`, [QUEUE]);
      return Number(rows.rows[0].n);
    },
    async close() {
      await producer.stop({ graceful: false, wait: true });
      await consumer.stop({ graceful: false, wait: true });
      await db.drop();
    },
  };
}

export interface PgBossSettings {
  concurrency: number;
  mode: 'fetch' | 'work';
}

export const pgBossLabel = (s: PgBossSettings) =>
  s.mode === 'fetch' ? `pg-boss, ${s.concurrency} fetch() + complete() loops (batchSize 1), concurrency ${s.concurrency}` : `pg-boss, work() batchSize ${s.concurrency}, 0.5 s polling`;

async function pgBossRun(ctx: RunContext, s: PgBossSettings, phase: 'accept' | 'drain'): Promise<{ rate: number; note?: string }> {
  const n = lifecycleJobs(ctx.quick);
  const b = await pgBoss(ctx, `pgboss_${s.mode}_${phase}`, Math.max(10, s.concurrency + 2));
  let handled = 0;
  let stop = false;
  const loops: Promise<void>[] = [];
  let sending: Promise<void> = Promise.resolve();
  try {
    if (phase === 'drain') {
      for (let i = 0; i < n; i += 1000) await b.producer.insert(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: QUEUE, data: {} })));
    }
    const t0 = performance.now();
    if (s.mode === 'work') {
      await b.consumer.work(QUEUE, { batchSize: s.concurrency, pollingIntervalSeconds: 0.5 }, async (jobs) => void (handled += jobs.length));
    } else {
      for (let i = 0; i < s.concurrency; i++) {
        loops.push(
          (async () => {
            while (!stop) {
              const [job] = await b.consumer.fetch(QUEUE, { batchSize: 1 });
              if (!job) {
                await sleep(500);
                continue;
              }
              handled++;
              await b.consumer.complete(QUEUE, job.id);
            }
          })(),
        );
      }
    }
    if (phase === 'accept') sending = concurrently(n, PRODUCERS, () => b.producer.send(QUEUE, {}));
    const finished = await until(() => handled >= n, lifecycleCapMs(ctx.quick), 5);
    stop = true;
    if (!finished) return { rate: handled / ((performance.now() - t0) / 1000), note: `${phase}: capped at ${lifecycleCapMs(ctx.quick) / 1000} s, ${handled}/${n} done` };
    await until(async () => (await b.completed()) >= n, 60_000, 2);
    return { rate: n / ((performance.now() - t0) / 1000) };
  } finally {
    stop = true;
    await Promise.all(loops);
    await sending;
    await b.close();
  }
}

/** Both lifecycle rows: submit while draining (lifecycle), then submitted first and drained (lifecycle_drain). */
export function pgBossLifecycle(s: PgBossSettings): Contender {
  return {
    name: pgBossLabel(s),
    async run(ctx): Promise<RunResult> {
      const values: Record<string, number> = {};
      const notes: string[] = [];
      for (const phase of lifecycleModes(ctx)) {
        const r = await pgBossRun(ctx, s, phase);
        values[phase === 'accept' ? 'lifecycle' : 'lifecycle_drain'] = r.rate;
        if (r.note) notes.push(r.note);
      }
      return { values, notes };
    },
  };
}

/**
 * work() with the shortest polling interval pg-boss 10 allows (0.5 s); it sleeps
 * that long after every fetch, so batchSize 50 is needed to keep up with 20/s.
 */
export function pgBossPickup(): Contender {
  return {
    name: 'pg-boss, work() batchSize 50, 0.5 s polling',
    async run(ctx): Promise<RunResult> {
      const jobs = pickupJobs(ctx.quick);
      const warmup = PICKUP_WARMUP;
      const b = await pgBoss(ctx, 'pgboss_pickup', 10);
      const committed = new Map<string, number>();
      const started = new Map<string, number>();
      try {
        await b.consumer.work(QUEUE, { batchSize: 50, pollingIntervalSeconds: 0.5 }, async (batch) => {
          const now = performance.now();
          for (const job of batch) started.set(job.id, now);
        });
        await steadyRate(jobs + warmup, PICKUP_PER_SECOND, async () => {
          const id = await b.producer.send(QUEUE, {});
          committed.set(id!, performance.now());
        });
        await until(() => started.size >= jobs + warmup, 30_000, 5);
        return pickupResult('pg-boss', committed, started, warmup);
      } finally {
        await b.close();
      }
    },
  };
}
