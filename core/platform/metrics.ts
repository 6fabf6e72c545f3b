// Prometheus metrics (prom-client). Counters and histograms are recorded where
// things happen, in whichever process that is; gauges over the jobs table are
// read at scrape time.
import client from 'prom-client';
import type { Sql } from './db.js';
import { sameSecret } from '../sameSecret.js';
import { EXTRACT_QUEUE, queueDepth } from '../queue/index.js';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'gleaner_' });

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const metrics = {
  httpDuration: new client.Histogram({
    name: 'gleaner_http_request_duration_seconds',
    help: 'API request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  jobDuration: new client.Histogram({ name: 'gleaner_job_run_seconds', help: 'Time from claim to the end of an attempt', labelNames: ['outcome'], buckets: seconds, registers: [registry] }),
  queueWait: new client.Histogram({ name: 'gleaner_job_queue_wait_seconds', help: 'Time from creation (or due retry) to claim', buckets: seconds, registers: [registry] }),
  jobsFinished: new client.Counter({ name: 'gleaner_job_attempts_total', help: 'Attempts finished, by outcome', labelNames: ['outcome'], registers: [registry] }),
  reaped: new client.Counter({ name: 'gleaner_jobs_reaped_total', help: 'Jobs failed as stale by the reaper', registers: [registry] }),
  rescued: new client.Counter({ name: 'gleaner_jobs_rescued_total', help: 'Jobs sent back to pending after their worker went silent', registers: [registry] }),
  retained: new client.Counter({ name: 'gleaner_retention_deleted_total', help: 'Rows removed by retention passes, by kind (jobs, events, deliveries, chunks)', labelNames: ['what'], registers: [registry] }),
  webhooks: new client.Counter({ name: 'gleaner_webhook_attempts_total', help: 'Webhook delivery attempts, by outcome', labelNames: ['outcome'], registers: [registry] }),
};

const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'];

/** Up to this many jobs, every status is counted exactly. */
export const EXACT_COUNT_LIMIT = 100_000;

/**
 * Jobs by status at a cost that does not grow with history: pending and
 * processing are counted exactly through their partial indexes (they are the
 * live work); the finished statuses are counted exactly while the table is
 * small and taken from the planner's statistics (row estimate × status
 * frequency, refreshed by autovacuum's ANALYZE) once it is large.
 */
export async function jobCounts(sql: Sql, exactBelow = EXACT_COUNT_LIMIT): Promise<{ status: string; n: number }[]> {
  const [size] = await sql`select reltuples::float8 as n from pg_class where oid = 'jobs'::regclass`;
  const estimated = Number(size?.n ?? -1);
  const all = (rows: readonly Record<string, unknown>[]) => JOB_STATUSES.map((status) => ({ status, n: Number(rows.find((r) => r.status === status)?.n ?? 0) }));
  if (estimated < exactBelow) return all(await sql`select status, count(*)::int as n from jobs group by status`);
  const live = await sql`
    select 'pending' as status, (select count(*) from jobs where status = 'pending')::int as n
    union all select 'processing', (select count(*) from jobs where status = 'processing')::int`;
  const finished = await sql`
    select s.status, round(s.freq * ${estimated})::int as n
    from pg_stats p, unnest(p.most_common_vals::text::text[], p.most_common_freqs) as s(status, freq)
    where p.schemaname = current_schema() and p.tablename = 'jobs' and p.attname = 'status'
      and s.status in ('completed', 'failed', 'cancelled')`;
  return all([...live, ...finished]);
}

/** Job counts by status (jobCounts) and queue depth of one database, read at scrape time and cached 5 s. */
function databaseRegistry(sql: Sql): client.Registry {
  const own = new client.Registry();
  let cache: { at: number; rows: { status: string; n: number }[]; depth: number } | null = null;
  const figures = async () => {
    if (cache && Date.now() - cache.at < 5000) return cache;
    const rows = await jobCounts(sql);
    cache = { at: Date.now(), rows, depth: await queueDepth(sql, EXTRACT_QUEUE) };
    return cache;
  };
  new client.Gauge({
    name: 'gleaner_jobs',
    help: 'Jobs by status',
    labelNames: ['status'],
    registers: [own],
    async collect() {
      const f = await figures();
      this.reset();
      for (const r of f.rows) this.set({ status: r.status }, r.n);
    },
  });
  new client.Gauge({
    name: 'gleaner_queue_depth',
    help: 'Queue entries due and waiting for a worker',
    registers: [own],
    async collect() {
      this.set((await figures()).depth);
    },
  });
  return own;
}

/** This process's metrics plus the figures of its database. */
export function metricsRegistry(sql: Sql): client.Registry {
  return client.Registry.merge([registry, databaseRegistry(sql)]);
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it is. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
}

/** True when no token is configured, or the Authorization header carries it (compared in constant time). */
export function metricsAccessAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const presented = bearerToken(authorization);
  return presented !== undefined && sameSecret(presented, token);
}
