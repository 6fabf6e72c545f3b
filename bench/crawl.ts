// Crawls as page tasks on 1, 2 and 4 worker processes against one embedded
// PostgreSQL: a generated site of PAGES pages on 127.0.0.1 answering after
// LATENCY ms, CRAWL_HOST_CONCURRENCY=8, the stand-in model. Per run: pages/s
// (job start to completion), the most connections the site saw at once,
// whether every page was fetched once and indexed once, the workers' peak RSS;
// on the last run, fairness: one-page jobs of a second key submitted while the
// crawl runs, from creation to start (p50/p95). --tiny serves pages of one
// short sentence (the crawl's own cost per page); --max-seconds stops waiting
// for a crawl after that long and reports how far it got.
//
//   npx tsx bench/crawl.ts [--pages 1000] [--latency 100] [--workers 1,2,4] [--fair 20] [--api-rss] [--tiny] [--max-seconds N]
//   npm run bench:crawl-10k   (10,000 tiny pages, 3 workers: the #15 scale test; spec/crawl-tasks/tenThousandPages.test.ts runs it in CI)
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../core/apiKeys.js';
import { connect } from '../core/platform/db.js';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createJob, getJob } from '../core/jobs/index.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrate } from '../core/platform/migrations.js';
import { startQueue } from '../core/queue/index.js';
import { startGeneratedSite } from '../testing/generatedSite.js';
import { spawnService, type ServiceProcess } from '../testing/serviceProcess.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const PAGES = Number(arg('pages', '1000'));
const LATENCY = Number(arg('latency', '100'));
const WORKERS = arg('workers', '1,2,4').split(',').map(Number);
const FAIR = Number(arg('fair', '20'));
/** After each crawl: the API's RSS serving its job and items (--api-rss). */
const API_RSS = process.argv.includes('--api-rss');
const TINY = process.argv.includes('--tiny');
const MAX_SECONDS = Number(arg('max-seconds', '0'));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function peakRssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

function rssMb(pid: number): number {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/**
 * The API's memory while it serves a finished crawl: an API process on the
 * crawl's database answers GET /v1/jobs/{id} 50 times and pages through
 * every item of GET /v1/jobs/{id}/items 5 times (100 a page).
 */
async function apiRss(env: Record<string, string>, key: string, jobId: string): Promise<Record<string, unknown>> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const api = spawnService('server/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', CREATE_INITIAL_KEY: 'false' }, { label: 'api' });
  try {
    await api.waitForLog((l) => l.message === 'API listening', 120_000, "'API listening'");
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`, { headers: { 'x-api-key': key } });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    await get(`/v1/jobs/${jobId}`);
    const idleMb = rssMb(api.child.pid!);
    let items = 0;
    for (let i = 0; i < 50; i++) await get(`/v1/jobs/${jobId}`);
    for (let round = 0; round < 5; round++) {
      items = 0;
      let cursor: string | undefined;
      do {
        const page = await get(`/v1/jobs/${jobId}/items?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        items += (page.items as unknown[]).length;
        cursor = (page.nextCursor as string | null | undefined) ?? undefined;
      } while (cursor);
    }
    return { apiRssAfterFirstGetMb: idleMb, apiRssAfterServingMb: rssMb(api.child.pid!), apiPeakRssMb: peakRssMb(api.child.pid!), itemsPagedPerRound: items };
  } finally {
    await api.stop('SIGTERM');
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function run(workers: number, fair: number): Promise<Record<string, unknown>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-crawl-'));
  const logger = createSilentLogger();
  const pg = await startEmbeddedPostgres(dir, logger, 'gleaner');
  const sql = connect(pg.url, 5, 'bench-crawl');
  const procs: ServiceProcess[] = [];
  const site = await startGeneratedSite({ pages: PAGES, latencyMs: LATENCY, tiny: TINY });
  try {
    await migrate(sql);
    const boss = await startQueue(pg.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
    const env = {
      DATABASE_URL: pg.url,
      CRAWL_PAGE_TASKS: 'true',
      CRAWL_HOST_CONCURRENCY: '8',
      CRAWL_HOST_DELAY: '0',
      MAX_PAGES_PER_JOB: String(PAGES),
      WORKER_CONCURRENCY: '8',
      // The crawl's key may fill every page slot: this measures throughput, not the per-key cap.
      CRAWL_RUNNING_PAGES_PER_KEY: String(8 * workers),
      WORKER_POLL_INTERVAL: '200ms',
      ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'info',
    };
    for (let i = 0; i < workers; i++) procs.push(spawnService('worker/main.ts', env, { label: `worker-${i}` }));
    for (const p of procs) await p.waitForLog((l) => l.message === 'worker started', 180_000, "'worker started'");
    const crawlerKey = await createApiKey(sql, 'crawler');
    const crawler = crawlerKey.apiKey.id;
    const other = (await createApiKey(sql, 'other')).apiKey.id;
    // Through core, as the API's POST /v1/extract/async would.
    const { job } = await createJob(sql, { apiKeyId: crawler, input: { url: `${site.baseUrl}/`, maxPages: PAGES }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
    const waits: number[] = [];
    if (fair > 0) {
      // One-page jobs of another key while the crawl runs: creation → start.
      await sleep(3000);
      for (let i = 0; i < fair; i++) {
        const single = await createJob(sql, { apiKeyId: other, input: { url: `${site.baseUrl}/p/${i}?single=${i}` }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
        for (;;) {
          const j = await getJob(sql, { jobId: single.job.id, withResult: false });
          if (j && j.status !== 'pending' && j.startedAt) {
            waits.push(j.startedAt.getTime() - j.createdAt.getTime());
            break;
          }
          await sleep(20);
        }
        await sleep(200);
      }
    }
    let done = await getJob(sql, { jobId: job.id, withResult: false });
    const giveUpAt = MAX_SECONDS > 0 ? Date.now() + MAX_SECONDS * 1000 : Infinity;
    while (done && (done.status === 'pending' || done.status === 'processing') && Date.now() < giveUpAt) {
      await sleep(250);
      done = await getJob(sql, { jobId: job.id, withResult: false });
    }
    // Unfinished (--max-seconds): how far it got, and its rate so far.
    const [progress] = await sql`
      select pages_done, pages_failed, chunks_indexed, extract(epoch from (coalesce(closed_at, now()) - created_at)) as seconds from crawl_progress where job_id = ${job.id}`;
    const [indexed] = await sql`select count(distinct url)::int as urls, count(*)::int as chunks from chunks where job_id = ${job.id}`;
    const pageHits = [...site.hits].filter(([p]) => p === '/' || /^\/p\/\d+$/.test(p));
    const seconds = Number(progress!.seconds);
    // Pages fetched more than once, with their tasks' rows (what moved them twice).
    const twice = pageHits.filter(([, n]) => n > 1).map(([p]) => `${site.baseUrl}${p}`);
    if (twice.length > 0) {
      const rows = await sql`select url, state, attempts, error, worker_id from crawl_pages where job_id = ${job.id} and url = any(${twice}::text[])`;
      console.error('fetched more than once', JSON.stringify(rows));
    }
    const result = {
      workers,
      status: done?.status,
      pages: progress!.pages_done,
      failed: progress!.pages_failed,
      seconds: Math.round(seconds * 10) / 10,
      pagesPerSecond: Math.round((Number(progress!.pages_done) / seconds) * 10) / 10,
      maxConcurrentConnections: site.maxInFlight(),
      fetchedOnce: pageHits.every(([, n]) => n === 1),
      ...(twice.length > 0 ? { fetchedTwice: twice } : {}),
      pagesFetched: pageHits.length,
      indexedOnce: indexed!.urls === progress!.pages_done && indexed!.chunks === progress!.chunks_indexed,
      workerPeakRssMb: procs.map((p) => peakRssMb(p.child.pid!)),
      ...(API_RSS ? await apiRss(env, crawlerKey.key, job.id) : {}),
      ...(waits.length > 0 ? { fairnessStartMs: { p50: percentile(waits, 50), p95: percentile(waits, 95), max: Math.max(...waits) } } : {}),
    };
    await boss.stop({ graceful: false, wait: true });
    return result;
  } finally {
    await Promise.all(procs.filter((p) => p.alive).map((p) => p.stop('SIGTERM')));
    await site.close();
    await sql.end({ timeout: 1 });
    await pg.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const [i, n] of WORKERS.entries()) {
  const r = await run(n, i === WORKERS.length - 1 ? FAIR : 0);
  console.log(JSON.stringify(r));
  results.push(r);
}
const base = results[0]?.pagesPerSecond as number;
for (const r of results) console.log(`${String(r.workers)} worker(s): ${String(r.pagesPerSecond)} pages/s (×${Math.round(((r.pagesPerSecond as number) / base) * 100) / 100})`);
