// `npm run bench:reports [-- --jobs 1000000] [--without-report-indexes] [--keep]`
//
// Starts a throw-away embedded PostgreSQL in a temp dir, migrates, seeds a
// realistic data set with set-based SQL, runs VACUUM ANALYZE (--no-vacuum:
// ANALYZE only), then times every
// report (median of 5 runs after a warm-up, --since 24h) and the stale-job
// reaper's candidate query, and prints each one's plan.
//
// The data set (for N jobs): created_at in insertion order, the finished jobs
// spread evenly over 30 days (with jitter), the newest 1.5% still open and
// created in the last 40 minutes: two thirds processing (≈5% of those created
// over 12 minutes ago stuck since they started), a third pending;
// of the rest ≈93.5% completed, 6% failed (six error codes), 0.5% cancelled;
// ≈5% took 2–3 attempts; urls over 50 domains (skewed); 20 API keys (skewed);
// 30% of final jobs have a callback with webhook deliveries (≈8% retried,
// ≈1% given up, 10% of those of the last 3 hours still retrying). job_events: the creation
// event for every job; full histories (claims, retries, final event) only for
// jobs created in the last 3 days, to keep seeding fast (the reports read
// events only for jobs created in the window).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../core/platform/db.js';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrate, MIGRATIONS_DIR } from '../core/platform/migrations.js';
import { listReports, prepareReport, runReport } from '../core/reports.js';
import { startQueue } from '../core/queue/index.js';
import { reapOnce } from '../worker/maintenance/reaper.js';
import { benchOptions } from './options.js';

const USAGE = `usage: npm run bench:reports -- [--jobs N] [--runs N] [--without-report-indexes] [--keep]
  --jobs N                    jobs to seed (default 1000000)
  --runs N                    timed runs per query, after one warm-up (default 5)
  --without-report-indexes    drop the indexes of 003_report_indexes.sql after migrating, to compare
  --keep                      leave the database running and print its URL instead of removing it
  --no-vacuum                 only ANALYZE after seeding: no visibility map, as right after a bulk load
  --url URL                   time the queries on a database kept by an earlier --keep run (no seeding)`;

const values = benchOptions(USAGE, {
  jobs: { type: 'string', default: '1000000' },
  runs: { type: 'string', default: '5' },
  'without-report-indexes': { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  url: { type: 'string' },
  'no-vacuum': { type: 'boolean', default: false },
});
const JOBS = Number(values.jobs);
const RUNS = Number(values.runs);
if (!Number.isSafeInteger(JOBS) || JOBS < 1000 || !Number.isSafeInteger(RUNS) || RUNS < 1) {
  process.stderr.write(`--jobs must be a whole number ≥ 1000 and --runs ≥ 1\n${USAGE}\n`);
  process.exit(2);
}

const log = (message: string) => process.stderr.write(`${message}\n`);
const reuse = values.url;
if (reuse !== undefined && !/^postgres(ql)?:\/\//.test(reuse)) {
  process.stderr.write(`--url must be a postgres:// URL\n${USAGE}\n`);
  process.exit(2);
}
const dir = reuse ? '' : await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-'));
const server = reuse ? undefined : await startEmbeddedPostgres(dir, createSilentLogger(), 'bench');
const sql = connect(reuse ?? server!.url, 4, 'gleaner-bench');

async function cleanup() {
  await sql.end({ timeout: 5 }).catch(() => {});
  if (!server) return;
  if (values.keep) {
    log(`kept: ${server.url} (data in ${dir}; stop with pg_ctl stop -D ${path.join(dir, 'postgres')})`);
    return;
  }
  await server.stop().catch(() => {});
  await fs.rm(dir, { recursive: true, force: true });
}

const timed = async <T>(label: string, fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const out = await fn();
  const ms = performance.now() - t;
  log(`  ${label}: ${(ms / 1000).toFixed(1)} s`);
  return [out, ms];
};

// ---------------------------------------------------------------------------
// Seed

const SEED_STEPS: [string, string][] = [
  [
    'api keys',
    `insert into api_keys (id, name, key_hash, key_prefix, created_at)
     select 'key_bench' || lpad(k::text, 7, '0'), 'client-' || k, sha256(('bench-key-' || k)::bytea), 'knowledgesdk_live_' || k,
            now() - interval '60 days'
     from generate_series(1, 20) k`,
  ],
  [
    'jobs',
    `with params as (
       select $1::int as n, now() as t0, (ceil($1 * 0.015))::int as open_jobs
     ), base as (
       select i, n, t0, open_jobs,
              -- finished jobs evenly over 30 days up to 40 minutes ago, open ones over the last 40 minutes
              case when i > n - open_jobs then t0 - interval '40 minutes' * ((n - i)::float8 / open_jobs)
                   else t0 - interval '40 minutes' - (interval '30 days' - interval '40 minutes') * ((n - open_jobs - i)::float8 / (n - open_jobs)) - random() * interval '1 minute'
              end as created_at,
              random() as r_status, random() as r_attempts, random() as r_wait, random() as r_run,
              random() as r_domain, random() as r_key, random() as r_code, random() as r_callback, random() as r_stale
       from params, generate_series(1, (select n from params)) as i
     ), shaped as (
       select b.*,
              case
                when i > n - open_jobs then case when i % 3 = 0 then 'pending' else 'processing' end
                when r_status < 0.935 then 'completed'
                when r_status < 0.995 then 'failed'
                else 'cancelled'
              end as status,
              case when r_attempts < 0.95 then 1 when r_attempts < 0.985 then 2 else 3 end as tries,
              -- queue wait: mostly well under a second, a long tail to a few minutes
              interval '1 millisecond' * (50 + 200000 * power(r_wait, 8)) as wait,
              interval '1 millisecond' * (400 + 25000 * power(r_run, 3)) as run,
              1 + floor(50 * power(r_domain, 2))::int as domain,
              1 + floor(20 * power(r_key, 2))::int as key,
              i > n - open_jobs and r_stale < 0.05 and created_at < t0 - interval '12 minutes' as stale
       from base b
     )
     insert into jobs (id, api_key_id, status, input, callback_url, attempts, max_attempts, queue_job_id, progress, result, error,
                       worker_id, heartbeat_at, created_at, started_at, completed_at, updated_at)
     select 'job_' || substr(md5(i::text), 1, 22),
            'key_bench' || lpad(key::text, 7, '0'),
            status,
            jsonb_build_object('url', 'https://' || case when domain % 5 = 0 then 'www.' else '' end || 'site' || domain || '.example.com/articles/' || i),
            case when r_callback < 0.3 then 'https://hooks.client' || key || '.example.net/gleaner' end,
            case when status = 'pending' then (case when i % 9 = 0 then 1 else 0 end)
                 when status = 'processing' then least(tries, 3)
                 else tries end,
            3,
            case when status in ('pending', 'processing') then md5('q' || i)::uuid end,
            case when status in ('completed', 'failed') then jsonb_build_object('currentStep', 'done', 'pagesScraped', case when status = 'completed' then 1 + (i % 7 = 0)::int * 4 else 0 end, 'totalPages', 1) end,
            case when status = 'completed' then jsonb_build_object('title', 'Article ' || i, 'statusCode', 200, 'pagesScraped', 1 + (i % 7 = 0)::int * 4) end,
            case when status = 'failed' then
                   case when r_code < 0.35 then jsonb_build_object('code', 'fetch_timeout', 'message', 'the page did not respond within 30000 ms', 'url', 'https://site' || domain || '.example.com/articles/' || i)
                        when r_code < 0.60 then jsonb_build_object('code', 'http_error', 'message', 'the server answered 503', 'status', 503)
                        when r_code < 0.78 then jsonb_build_object('code', 'http_error', 'message', 'the server answered 404', 'status', 404)
                        when r_code < 0.88 then jsonb_build_object('code', 'dns_error', 'message', 'site' || domain || '.example.com could not be resolved')
                        when r_code < 0.95 then jsonb_build_object('code', 'empty_content', 'message', 'no text content found')
                        else jsonb_build_object('code', 'too_large', 'message', 'the page is larger than 5242880 bytes') end
                 when status = 'cancelled' then jsonb_build_object('code', 'cancelled', 'message', 'cancelled by the client')
            end,
            case when status in ('processing', 'completed', 'failed') then 'worker-' || (1 + i % 8) || ':' || (1000 + i % 8) end,
            case when status = 'processing' then
                   case when stale then created_at + wait + interval '20 seconds'
                        else t0 - r_wait * interval '3 seconds' end end,
            created_at,
            -- started_at: the latest attempt; processing jobs mostly started in the last 7 minutes,
            -- ≈5% of those created over 12 minutes ago are stuck since soon after creation
            case when status = 'processing' then
                   case when stale then created_at + wait
                        else greatest(created_at + wait, t0 - r_stale * interval '7 minutes') end
                 when status in ('completed', 'failed') then created_at + wait + (tries - 1) * interval '30 seconds'
                 when status = 'pending' and i % 9 = 0 then created_at + wait end,
            case when status in ('completed', 'failed') then created_at + wait + (tries - 1) * interval '30 seconds' + run
                 when status = 'cancelled' then created_at + wait end,
            case when status in ('completed', 'failed') then created_at + wait + (tries - 1) * interval '30 seconds' + run
                 when status = 'cancelled' then created_at + wait
                 when status = 'processing' then t0
                 else created_at end
     from shaped`,
  ],
  [
    'job events',
    `insert into job_events (job_id, from_status, to_status, at, attempt, worker_id, detail)
     select id, null, 'pending', created_at, 0, null::text, null::jsonb from jobs
     union all
     -- claims and retries of recent jobs: attempt a started at started_at - (attempts - a) * 30 s
     select j.id, 'pending', 'processing', j.started_at - (j.attempts - a) * interval '30 seconds', a, j.worker_id, null::jsonb
     from jobs j, generate_series(1, j.attempts) a
     where j.created_at > now() - interval '3 days' and j.started_at is not null
     union all
     select j.id, 'processing', 'pending', j.started_at - (j.attempts - a) * interval '30 seconds' + interval '10 seconds', a, j.worker_id,
            jsonb_build_object('reason', 'retry', 'error', jsonb_build_object('code', 'fetch_timeout', 'message', 'timed out'))
     from jobs j, generate_series(1, j.attempts - 1) a
     where j.created_at > now() - interval '3 days' and j.started_at is not null
     union all
     select j.id, case when j.status = 'cancelled' then 'pending' else 'processing' end, j.status, j.completed_at, j.attempts, j.worker_id,
            case when j.status = 'failed' then jsonb_build_object('error', j.error) end
     from jobs j
     where j.completed_at is not null and j.created_at > now() - interval '3 days'
     order by 4`,
  ],
  [
    'webhook deliveries',
    `with final as (
       select id, status, completed_at, callback_url, random() as r
       from jobs where callback_url is not null and status in ('completed', 'failed')
     ), plan as (
       select f.*, case when f.completed_at > now() - interval '3 hours' and f.r < 0.1 then 'retrying'
                        when f.r < 0.01 then 'gave_up'
                        when f.r < 0.09 then 'retried'
                        else 'first' end as shape
       from final f
     )
     insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, status_code, duration_ms, error, outcome, next_attempt_at, created_at)
     select p.id, 'job.' || p.status, 'msg_' || substr(p.id, 5), a.n, p.callback_url,
            case when a.outcome = 'delivered' then 200 when a.n % 2 = 0 then 502 end,
            (40 + 300 * p.r)::int,
            case when a.outcome <> 'delivered' then case when a.n % 2 = 0 then 'receiver answered 502' else 'connect timeout' end end,
            a.outcome,
            case when a.outcome = 'retrying' then p.completed_at + a.n * interval '5 minutes' end,
            p.completed_at + interval '50 milliseconds' + (a.n - 1) * interval '1 minute'
     from plan p
     cross join lateral (
       select n, case
                   when p.shape = 'first' then 'delivered'
                   when p.shape = 'retried' then case when n = 2 then 'delivered' else 'retrying' end
                   when p.shape = 'gave_up' then case when n = 5 then 'failed' else 'retrying' end
                   else 'retrying'
                 end as outcome
       from generate_series(1, case p.shape when 'first' then 1 when 'retried' then 2 when 'gave_up' then 5 else 1 end) n
     ) a
     order by 11`,
  ],
];

// ---------------------------------------------------------------------------
// Plans

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const describeNode = (n: PlanNode) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : n['Relation Name'] ? ` ${n['Relation Name']}` : ''}`;

function scans(node: PlanNode, out: string[] = []): string[] {
  if (/Scan/.test(node['Node Type']) && (node['Relation Name'] || node['Index Name'])) {
    const d = describeNode(node);
    if (!out.includes(d)) out.push(d);
  }
  for (const child of node.Plans ?? []) scans(child, out);
  return out;
}

async function plan(text: string, params: unknown[]): Promise<{ top: string; scans: string }> {
  const [row] = await sql.unsafe(`explain (format json) ${text}`, params as never[], { prepare: true });
  const root = (row!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
  return { top: describeNode(root), scans: scans(root).join(', ') };
}

// ---------------------------------------------------------------------------

const REAPER = `select id from jobs where status = 'processing' and started_at < now() - interval '10 minutes' order by started_at limit 1000 for update skip locked`;

interface Timing {
  name: string;
  rows: number;
  times: number[];
  top: string;
  scans: string;
}

async function bench(name: string, run: () => Promise<number>, explain: () => Promise<{ top: string; scans: string }>): Promise<Timing> {
  await run(); // warm-up
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    rows = await run();
    times.push(performance.now() - t);
  }
  return { name, rows, times, ...(await explain()) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function printTable(header: string[], rows: string[][], rightAligned: boolean[]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) {
    process.stdout.write(`${r.map((c, i) => (rightAligned[i] && r !== header ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
  }
}

try {
  let seedMs = 0;
  let analyzeMs = 0;
  if (!reuse) {
    log(`embedded PostgreSQL in ${dir}`);
    await migrate(sql);
    if (values['without-report-indexes']) {
      const text = await fs.readFile(path.join(MIGRATIONS_DIR, '003_report_indexes.sql'), 'utf8').catch(() => '');
      for (const m of text.matchAll(/create index (?:if not exists )?(\w+)/gi)) {
        await sql.unsafe(`drop index if exists ${m[1]}`);
        log(`dropped index ${m[1]}`);
      }
    }
    log(`seeding ${JOBS.toLocaleString('en')} jobs`);
    // One transaction, so setseed() applies to every step and commits are not waited for.
    await sql.begin(async (tx) => {
      await tx`set local synchronous_commit = off`;
      await tx`select setseed(0.42)`;
      for (const [label, text] of SEED_STEPS) {
        const [, ms] = await timed(label, () => tx.unsafe(text, label === 'jobs' ? [JOBS] : []));
        seedMs += ms;
      }
    });
    // VACUUM sets the visibility map as autovacuum would have by now (index-only
    // scans depend on it); --no-vacuum shows the state right after a bulk load.
    [, analyzeMs] = await timed(values['no-vacuum'] ? 'analyze' : 'vacuum analyze', () => sql.unsafe(values['no-vacuum'] ? 'analyze' : 'vacuum analyze'));
  }

  const counts = await sql`
    select (select count(*) from jobs)::int as jobs, (select count(*) from job_events)::int as events,
           (select count(*) from webhook_deliveries)::int as deliveries,
           (select count(*) from jobs where status = 'processing')::int as processing,
           (select count(*) from jobs where status = 'processing' and started_at < now() - interval '10 minutes')::int as stale,
           (select count(*) from jobs where status = 'pending')::int as pending,
           (select count(*) from jobs where created_at >= now() - interval '24 hours')::int as last_day,
           pg_size_pretty(pg_total_relation_size('jobs')) as jobs_size`;
  const c = counts[0]!;

  const timings: Timing[] = [];
  for (const report of await listReports()) {
    const params = report.parameters.some((p) => p.name === 'since') ? { since: '24h' } : {};
    const prepared = await prepareReport(report.name, params);
    timings.push(
      await bench(
        report.name,
        async () => (await runReport(sql, report.name, prepared.params)).rows.length,
        () => plan(prepared.text, prepared.values),
      ),
    );
  }
  timings.push(
    await bench(
      'reaper (candidates)',
      () => sql.begin(async (tx) => {
        const rows = await tx.unsafe(REAPER);
        throw Object.assign(new Error('rollback'), { rows: rows.length });
      }).catch((err: { rows?: number }) => {
        if (err.rows === undefined) throw err;
        return err.rows;
      }),
      () => plan(REAPER, []),
    ),
  );

  // The real reaper pass (core/jobs reapStaleJobs through worker/maintenance/reaper.ts): it changes
  // the data, so it runs last: once with the seeded stale jobs, then once with nothing left to reap.
  const boss = await startQueue(reuse ?? server!.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, createSilentLogger());
  const passes: string[][] = [];
  for (const label of ['reaper pass (real, reaps the stale jobs)', 'reaper pass (real, nothing left to reap)']) {
    const started = performance.now();
    const reaped = await reapOnce(sql, boss, createSilentLogger(), { staleAfterMs: 10 * 60_000 });
    passes.push([label, String(reaped.length), (performance.now() - started).toFixed(1)]);
  }
  await boss.stop({ graceful: false, wait: true });

  process.stdout.write(
    `\n${c.jobs.toLocaleString('en')} jobs (${c.jobs_size}), ${c.events.toLocaleString('en')} job events, ${c.deliveries.toLocaleString('en')} webhook deliveries; ` +
      `${c.processing} processing (${c.stale} stale), ${c.pending} pending, ${c.last_day.toLocaleString('en')} created in the last 24h\n` +
      `${reuse ? 'reused database' : `seeding ${(seedMs / 1000).toFixed(1)} s, ${values['no-vacuum'] ? 'analyze' : 'vacuum analyze'} ${(analyzeMs / 1000).toFixed(1)} s`}` +
      `${values['without-report-indexes'] ? '; WITHOUT the indexes of 003_report_indexes.sql' : ''}\n` +
      `median of ${RUNS} runs after one warm-up, --since 24h\n\n`,
  );
  printTable(
    ['report', 'rows', 'median ms', 'min–max ms', 'plan top node', 'scans'],
    timings.map((t) => [t.name, String(t.rows), median(t.times).toFixed(1), `${Math.min(...t.times).toFixed(1)}–${Math.max(...t.times).toFixed(1)}`, t.top, t.scans]),
    [false, true, true, true, false, false],
  );
  process.stdout.write('\n');
  printTable(['reaper pass', 'jobs reaped', 'ms'], passes, [false, true, true]);
  const slow = timings.filter((t) => median(t.times) >= 100);
  if (slow.length) process.stdout.write(`\nover 100 ms: ${slow.map((t) => t.name).join(', ')}\n`);
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

