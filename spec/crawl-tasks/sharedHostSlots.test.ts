// Every fetch a worker makes to a site holds a slot of the host limits shared
// through PostgreSQL (core/crawlTasks/hosts.ts): one-page jobs and the
// one-worker crawl too, not only page tasks. Real worker processes on the
// stack's database, a real site on 127.0.0.1 counting the requests it serves
// at once: a crawl of one key plus one-page jobs of another on the same host
// never have more than CRAWL_HOST_CONCURRENCY requests there, and every slot
// is given back (a failed page's too). A one-page job's request waiting for
// the host gets its next free slot ahead of a crawl's, and a robots.txt read
// holds a slot without waiting for or moving the host's delay clock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { acquireHostSlot, releaseHostSlot, setHostCrawlDelay } from '../../core/crawlTasks/index.js';
import type { GeneratedSite } from '../../testing/generatedSite.js';
import { spawnScript, type ServiceProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../../testing/waitUntil.js';
import { generatedTestSite } from '../helpers/crawlTasks.js';

const HOST_CONCURRENCY = 2;

describe('host slots shared by every fetch of every worker', () => {
  let stack: Stack;
  let otherKey: string;
  let workers: ServiceProcess[] = [];

  async function startWorkers(n: number, pageTasks: boolean): Promise<void> {
    await Promise.all(workers.filter((w) => w.alive).map((w) => w.stop('SIGTERM')));
    workers = await Promise.all(
      Array.from({ length: n }, async () => {
        const w = spawnScript('worker/main.ts', [], {
          DATABASE_URL: stack.url,
          CRAWL_PAGE_TASKS: String(pageTasks),
          CRAWL_HOST_CONCURRENCY: String(HOST_CONCURRENCY),
          CRAWL_HOST_DELAY: '0',
          WORKER_CONCURRENCY: '6',
          WORKER_POLL_INTERVAL: '200ms',
          ALLOW_PRIVATE_NETWORKS: 'true',
          LOG_LEVEL: 'info',
        });
        await w.waitForLog((l) => l.message === 'worker started', 120_000, "'worker started'");
        return w;
      }),
    );
  }

  /** One-page jobs of the second key: pages of the site, and one that answers 404 (its slot must come back too). */
  async function onePageJobs(s: GeneratedSite, pages: number[]): Promise<{ ok: string[]; missing: string }> {
    const ok = await Promise.all(pages.map((n) => stack.submitJob({ url: `${s.baseUrl}/p/${n}` }, otherKey)));
    const missing = await stack.submitJob({ url: `${s.baseUrl}/p/99999` }, otherKey);
    return { ok, missing };
  }

  async function assertSettled(s: GeneratedSite, jobs: { ok: string[]; missing: string }, crawls: string[]): Promise<void> {
    for (const id of [...jobs.ok, ...crawls]) {
      const done = await stack.waitForStatus(id, ['completed', 'failed'], 60_000);
      assert.equal(done.status, 'completed', `${id}: ${JSON.stringify(done.error)}`);
    }
    const missing = await stack.waitForStatus(jobs.missing, ['completed', 'failed'], 60_000);
    assert.equal(missing.status, 'failed', 'the 404 page fails');
    assert.ok(s.maxInFlight() <= HOST_CONCURRENCY, `at most CRAWL_HOST_CONCURRENCY=${HOST_CONCURRENCY} requests at the site at once, saw ${s.maxInFlight()}`);
    const host = new URL(s.baseUrl).host;
    const [held] = await stack.sql`select count(*)::int as n from crawl_host_leases where host = ${host}`;
    assert.equal(held!.n, 0, 'every slot of the host given back, the failed page’s too');
    const [seen] = await stack.sql`select count(*)::int as n from crawl_hosts where host = ${host}`;
    assert.equal(seen!.n, 1, 'the host went through the shared limits');
  }

  before(async () => {
    stack = await startStack({ config: { CRAWL_PAGE_TASKS: 'true' } });
    otherKey = (await createApiKey(stack.sql, 'second')).key;
  });

  after(async () => {
    await Promise.all(workers.filter((w) => w.alive).map((w) => w.stop('SIGTERM')));
  });

  test('a waiting one-page request gets the next free slot; a robots.txt read holds a slot outside the delay clock', async () => {
    const limits = { concurrency: 1, delayMs: 0, leaseMs: 30_000 };
    const host = 'urgent.test';
    const crawl = await acquireHostSlot(stack.sql, { host, holder: 'crawl', limits });
    assert.equal(crawl.granted, true, 'the crawl holds the one slot');
    const asked = await acquireHostSlot(stack.sql, { host, holder: 'one-page', limits, urgent: true });
    assert.equal(asked.granted, false, 'the one-page request waits: the slot is taken');
    if (crawl.granted) await releaseHostSlot(stack.sql, crawl.lease);
    assert.equal((await acquireHostSlot(stack.sql, { host, holder: 'crawl', limits })).granted, false, 'the crawl leaves the free slot to the waiting one-page request');
    const urgent = await acquireHostSlot(stack.sql, { host, holder: 'one-page', limits, urgent: true });
    assert.equal(urgent.granted, true, 'the one-page request takes it');
    if (urgent.granted) await releaseHostSlot(stack.sql, urgent.lease);
    assert.equal((await acquireHostSlot(stack.sql, { host, holder: 'crawl', limits })).granted, true, 'served, it no longer holds the host back');

    const paced = 'paced.test';
    await setHostCrawlDelay(stack.sql, paced, 60_000);
    const slow = { concurrency: 2, delayMs: 0, leaseMs: 30_000 };
    const first = await acquireHostSlot(stack.sql, { host: paced, holder: 'a', limits: slow, paced: false });
    assert.equal(first.granted, true, 'robots.txt does not wait for the delay');
    const page = await acquireHostSlot(stack.sql, { host: paced, holder: 'a', limits: slow });
    assert.equal(page.granted, true, 'nor does it start the delay clock: the first page goes at once');
    assert.equal((await acquireHostSlot(stack.sql, { host: paced, holder: 'b', limits: slow, paced: false })).granted, false, 'yet it counts toward the concurrency');
    const next = await acquireHostSlot(stack.sql, { host: paced, holder: 'b', limits: { ...slow, concurrency: 3 } });
    assert.ok(!next.granted && next.waitMs > 50_000, `the page after waits out the Crawl-delay: ${JSON.stringify(next)}`);
  });

  test('page tasks of a crawl and one-page jobs of another key on two workers share the host’s slots', async () => {
    await startWorkers(2, true);
    const s = await generatedTestSite(120, 100);
    const crawl = await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 16 });
    await waitUntil('the crawl under way', () => s.requests() >= 3);
    const jobs = await onePageJobs(s, [60, 61, 62, 63]);
    await assertSettled(s, jobs, [crawl]);
    assert.equal(s.hits.get('/p/60'), 1, 'the one-page job’s page was fetched');
  });

  test('one-worker crawls (CRAWL_PAGE_TASKS=false) of two keys and one-page jobs share the host’s slots', async () => {
    // One worker, six jobs at once: each in-process crawl used to keep only its own host limits.
    await startWorkers(1, false);
    const s = await generatedTestSite(120, 100);
    const crawls = [await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 8 }), await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 8 }, otherKey)];
    await waitUntil('the crawls under way', () => s.requests() >= 3);
    const jobs = await onePageJobs(s, [60, 61, 62]);
    await assertSettled(s, jobs, crawls);
  });

  test('robots.txt is read once a day for every job of every worker: one-page jobs and one-worker crawls use the shared answer', async () => {
    // Each job used to read the host's robots.txt again (page tasks alone shared it through crawl_robots).
    await startWorkers(1, false);
    const s = await generatedTestSite(20, 0);
    const completed = async (ids: string[]) => {
      for (const id of ids) {
        const done = await stack.waitForStatus(id, ['completed', 'failed'], 60_000);
        assert.equal(done.status, 'completed', `${id}: ${JSON.stringify(done.error)}`);
      }
    };
    await completed([await stack.submitJob({ url: `${s.baseUrl}/p/1` }, otherKey)]);
    assert.equal(s.hits.get('/robots.txt'), 1, 'the first job reads robots.txt');
    await completed([...(await Promise.all([2, 3, 4].map((n) => stack.submitJob({ url: `${s.baseUrl}/p/${n}` }, otherKey)))), await stack.submitJob({ url: `${s.baseUrl}/`, maxPages: 4 })]);
    assert.equal(s.hits.get('/robots.txt'), 1, 'three one-page jobs and a crawl of two keys read none: the answer (a 404, no rules) is shared');
    // RFC 9309 §2.4: an answer older than 24 hours is read again.
    await stack.sql`update crawl_robots set fetched_at = now() - interval '25 hours' where origin = ${new URL(s.baseUrl).origin}`;
    await completed([await stack.submitJob({ url: `${s.baseUrl}/p/9` })]);
    assert.equal(s.hits.get('/robots.txt'), 2, 'a day-old answer is read again');
  });
});
