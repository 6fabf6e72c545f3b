// Raw pg-boss 10 (no Gleaner code): one instance sends, another works, each
// with its own pool, on a fresh database of the same server.
import PgBoss from 'pg-boss';
import { lifecycleCapMs, lifecycleJobs, PICKUP_PER_SECOND, PICKUP_WARMUP, pickupJobs, PRODUCERS } from '../settings.js';
import type { Contender, RunContext, RunResult } from '../types.js';
import { concurrently, pickupResult, sleep, steadyRate, until } from '../util.js';

const QUEUE = 'bench';

async function pgBoss(ctx: RunContext, label: string) {
  const db = await ctx.server.database(label);
  const consumer = new PgBoss({ connectionString: db.url, max: 10 });
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

/**
 * work: one work() with batchSize 50 and the shortest polling interval (0.5 s);
 * fetch: one loop of fetch() batchSize 1 + complete(), sleeping 0.5 s only when
 * the queue is empty. 32 clients send() meanwhile.
 */
export function pgBossLifecycle(name: string, mode: 'work' | 'fetch'): Contender {
  return {
    name,
    async run(ctx): Promise<RunResult> {
      const n = lifecycleJobs(ctx.quick);
      const b = await pgBoss(ctx, `pgboss_${mode}`);
      let handled = 0;
      let stop = false;
      let loop: Promise<void> | null = null;
      try {
        if (mode === 'work') {
          await b.consumer.work(QUEUE, { batchSize: 50, pollingIntervalSeconds: 0.5 }, async (jobs) => void (handled += jobs.length));
        } else {
          loop = (async () => {
            while (!stop) {
              const [job] = await b.consumer.fetch(QUEUE, { batchSize: 1 });
              if (!job) {
                await sleep(500);
                continue;
              }
              handled++;
              await b.consumer.complete(QUEUE, job.id);
            }
          })();
        }
        const t0 = performance.now();
        const sending = concurrently(n, PRODUCERS, () => b.producer.send(QUEUE, {}));
        const finished = await until(() => handled >= n, lifecycleCapMs(ctx.quick), 5);
        stop = true;
        if (!finished) {
          const rate = handled / ((performance.now() - t0) / 1000);
          await sending;
          return { values: { lifecycle: rate }, notes: [`${name}: capped at ${lifecycleCapMs(ctx.quick) / 1000} s, ${handled}/${n} done`] };
        }
        await until(async () => (await b.completed()) >= n, 60_000, 2);
        return { values: { lifecycle: n / ((performance.now() - t0) / 1000) } };
      } finally {
        stop = true;
        await loop;
        await b.close();
      }
    },
  };
}

/**
 * work() with the shortest polling interval pg-boss 10 allows (0.5 s); it sleeps
 * that long after every fetch, so batchSize 50 is needed to keep up with 20/s.
 */
export function pgBossPickup(): Contender {
  return {
    name: 'pg-boss work() 0.5 s polling',
    async run(ctx): Promise<RunResult> {
      const jobs = pickupJobs(ctx.quick);
      const warmup = PICKUP_WARMUP;
      const b = await pgBoss(ctx, 'pgboss_pickup');
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
