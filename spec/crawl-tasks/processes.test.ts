// Crawls run as page tasks (CRAWL_PAGE_TASKS=true) by three real worker
// processes against one PostgreSQL, through the API: maxPages reached exactly
// with every page fetched and indexed once and the host's concurrency held
// across workers; a worker SIGKILLed mid-crawl (its pages rescued, none lost
// or indexed twice); cancel mid-crawl; and a second key's one-page job
// finishing while a crawl runs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { getCrawlProgress, listCrawlItems } from '../../core/crawlTasks/index.js';
import { spawnScript, type ServiceProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../../testing/waitUntil.js';
import { generatedTestSite } from '../helpers/crawlTasks.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('crawls as page tasks on three worker processes', () => {
  let stack: Stack;
  const workers: ServiceProcess[] = [];

  const workerEnv = {
    CRAWL_PAGE_TASKS: 'true',
    CRAWL_HOST_CONCURRENCY: '2',
    CRAWL_HOST_DELAY: '0',
    // Rescue after 2 s of silence, heartbeats every 500 ms: a killed worker's pages move on quickly.
    STALE_AFTER: '30s',
    RESCUE_AFTER: '2s',
    HEARTBEAT_INTERVAL: '500ms',
    WORKER_POLL_INTERVAL: '200ms',
    WORKER_CONCURRENCY: '3',
    ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'info',
  };

  async function startWorker(): Promise<ServiceProcess> {
    const w = spawnScript('worker/main.ts', [], { DATABASE_URL: stack.url, ...workerEnv });
    await w.waitForLog((l) => l.message === 'worker started', 120_000, "'worker started'");
    workers.push(w);
    return w;
  }

  /** Chunks in the index per page URL of this job. */
  async function chunksByUrl(jobId: string): Promise<Map<string, number>> {
    const rows = await stack.sql`select url, count(*)::int as n from chunks where job_id = ${jobId} group by url`;
    return new Map(rows.map((r) => [r.url as string, r.n as number]));
  }

  before(async () => {
    stack = await startStack({ config: { CRAWL_PAGE_TASKS: 'true' } });
    await Promise.all([startWorker(), startWorker(), startWorker()]);
  });

  after(async () => {
    await Promise.all(workers.filter((w) => w.alive).map((w) => w.stop('SIGTERM')));
  });

  test('maxPages is reached exactly; every page is fetched and indexed once; the host’s concurrency holds across workers', async () => {
    const s = await generatedTestSite(200, 30);
    const jobId = await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 20 });
    const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const result = done.result as { pagesScraped: number; knowledgeItems: { source: string }[]; itemsTruncated: boolean; chunksIndexed: number };
    assert.equal(result.pagesScraped, 20);
    assert.equal(result.knowledgeItems.length, 20);
    assert.equal(result.itemsTruncated, false);
    const pagePaths = [...s.hits].filter(([p]) => p === '/' || p.startsWith('/p/'));
    assert.equal(pagePaths.length, 20, 'no page fetched beyond maxPages');
    for (const [p, n] of pagePaths) assert.equal(n, 1, `${p} fetched once`);
    assert.ok(s.maxInFlight() <= 2, `at most CRAWL_HOST_CONCURRENCY=2 requests at once across the workers, saw ${s.maxInFlight()}`);
    const chunks = await chunksByUrl(jobId);
    assert.equal(chunks.size, 20, 'every page indexed');
    assert.equal([...chunks.values()].reduce((a, b) => a + b, 0), result.chunksIndexed, 'indexed once: the chunks counted are the chunks stored');
    const progress = (await getCrawlProgress(stack.sql, jobId))!;
    assert.deepEqual([progress.pagesDone, progress.queued, progress.running], [20, 0, 0]);
    assert.equal((await listCrawlItems(stack.sql, { jobId, limit: 1000 })).length, 20);
    const workersUsed = await stack.sql`select count(distinct worker_id)::int as n from job_events where job_id = ${jobId}`;
    assert.ok((workersUsed[0]!.n as number) >= 1);
  });

  test('a worker SIGKILLed mid-crawl loses no page: its pages are rescued and each is indexed once', async () => {
    // Pages take a second to answer: a page claimed in the last half second is still its worker’s when the worker is killed.
    const s = await generatedTestSite(200, 1000);
    const jobId = await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 15 });
    await waitUntil('two pages done', async () => ((await getCrawlProgress(stack.sql, jobId))?.pagesDone ?? 0) >= 2);
    let victim: ServiceProcess | undefined;
    let held = '';
    await waitUntil('a page running on a worker', async () => {
      const running = await stack.sql`select id, worker_id from crawl_pages where job_id = ${jobId} and state = 'running' and started_at > now() - interval '500 milliseconds'`;
      for (const r of running) {
        victim = workers.find((w) => w.alive && w.child.pid === Number(String(r.worker_id).split(':')[1]));
        held = String(r.id);
        if (victim) return true;
      }
      return false;
    });
    victim!.kill('SIGKILL');
    await victim!.exited;
    const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const progress = (await getCrawlProgress(stack.sql, jobId))!;
    assert.equal(progress.pagesDone, 15, 'no page lost');
    assert.equal(progress.pagesFailed, 0);
    const [page] = await stack.sql`select state, attempts from crawl_pages where id = ${held}`;
    assert.ok(page!.state === 'done' || page!.state === 'skipped', `the killed worker’s page ended ${String(page!.state)}`);
    assert.ok((page!.attempts as number) >= 2, 'the killed worker’s page was run again by another worker, in its place in line');
    const chunks = await chunksByUrl(jobId);
    assert.equal(chunks.size, 15);
    assert.equal([...chunks.values()].reduce((a, b) => a + b, 0), progress.chunksIndexed, 'no page indexed twice');
    await startWorker(); // back to three for the next tests
  });

  test('cancel mid-crawl closes its pages and the workers stop fetching', async () => {
    const s = await generatedTestSite(200, 200);
    const jobId = await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 20 });
    await waitUntil('two pages done', async () => ((await getCrawlProgress(stack.sql, jobId))?.pagesDone ?? 0) >= 2);
    const res = await stack.request('POST', `/v1/jobs/${jobId}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const progress = (await getCrawlProgress(stack.sql, jobId))!;
    assert.notEqual(progress.closedAt, null);
    assert.deepEqual([progress.queued, progress.running], [0, 0]);
    // Within a heartbeat (500 ms) the workers drop what they had; after a few more nothing new starts.
    await sleep(1500);
    const settled = s.requests();
    await sleep(1500);
    assert.equal(s.requests(), settled, 'no request after the cancel settled');
    assert.equal((await stack.sql`select status from jobs where id = ${jobId}`)[0]!.status, 'cancelled');
  });

  test('a second key’s one-page job completes while a big crawl of the first runs', async () => {
    const s = await generatedTestSite(200, 200);
    const other = await createApiKey(stack.sql, 'second');
    const crawl = await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 20 });
    await waitUntil('the crawl under way', async () => ((await getCrawlProgress(stack.sql, crawl))?.pagesDone ?? 0) >= 1);
    const single = await stack.submitJob({ url: `${s.baseUrl}/p/150` }, other.key);
    const done = await stack.waitForStatus(single, ['completed', 'failed'], 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const [crawlNow] = await stack.sql`select status from jobs where id = ${crawl}`;
    assert.equal(crawlNow!.status, 'processing', 'the one-page job did not wait for the crawl');
    await stack.waitForStatus(crawl, ['completed', 'failed'], 120_000);
  });
});
