// The parent of a page-task crawl completes with the same result however its
// crawl closed, and nothing slow runs while the crawl's row is held:
//   - a /v1/business crawl's profile (several pages embedded) is built after
//     the transaction that closed the crawl has committed, then written in the
//     transaction that completes the job with its event and webhook;
//   - a crawl that maintenance closes (here the JOB_MAX_DURATION backstop,
//     with a page still hanging) gives its parent `business` (profile
//     included) and `sitemapUrls`, as a worker-closed crawl does.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { getCrawlProgress } from '../../core/crawlTasks/index.js';
import { maintainCrawls } from '../../worker/maintenance/crawls.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startFixtureSite } from '../helpers/fixtureSite.js';
import { startStack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const stack = await startStack({ worker: true, config: { CRAWL_PAGE_TASKS: 'true', CRAWL_HOST_DELAY: '0' } });

async function submitBusiness(url: string, maxPages: number): Promise<string> {
  const res = await stack.request('POST', '/v1/business/async', { body: { url, maxPages } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.jobId as string;
}

test('a business crawl’s profile is built after the crawl’s closing transaction, and written with the completion', async () => {
  const site = await startFixtureSite();
  onCleanup(() => site.close());
  const jobId = await submitBusiness(`${site.baseUrl}/`, 4);
  const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 120_000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const result = done.result as Record<string, any>;
  assert.equal(result.business.businessName, 'Orchard Ledger');
  assert.ok(Array.isArray(result.business.keyInsights), 'the profile is in the result');
  assert.ok(result.sitemapUrls > 0, `sitemapUrls counted: ${result.sitemapUrls}`);
  const [t] = await stack.sql`
    select c.closed_at, j.completed_at from crawl_progress c join jobs j on j.id = c.job_id where c.job_id = ${jobId}`;
  // Both are their transaction's now(): equal when the profile was built inside the closing transaction.
  assert.ok((t!.completed_at as Date).getTime() > (t!.closed_at as Date).getTime(), `completed (${String(t!.completed_at)}) in a transaction after the closing one (${String(t!.closed_at)})`);
  const [events] = await stack.sql`select count(*)::int as n from job_events where job_id = ${jobId} and to_status = 'completed'`;
  assert.equal(events!.n, 1, 'one completion event');
});

test('a crawl closed by maintenance (the JOB_MAX_DURATION backstop) gives its parent business and sitemapUrls like a worker-closed one', async () => {
  const hanging: http.ServerResponse[] = [];
  const site = await startFixtureSite({
    routes: {
      // Never answers while the test runs: the crawl cannot close by itself.
      '/docs/quickstart': (_req, res) => void hanging.push(res),
    },
  });
  onCleanup(async () => {
    for (const res of hanging) res.destroy();
    await site.close();
  });
  const jobId = await submitBusiness(`${site.baseUrl}/`, 8);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const p = await getCrawlProgress(stack.sql, jobId);
    const [hang] = await stack.sql`select 1 from crawl_pages where job_id = ${jobId} and state = 'running' and url like '%/docs/quickstart'`;
    if (p && p.pagesDone >= 2 && hang) break;
    assert.ok(Date.now() < deadline, `the crawl reached two pages and the hanging one: ${JSON.stringify(p)}`);
    await sleep(50);
  }
  const out = await maintainCrawls(stack.sql, stack.boss, stack.logger, {
    rescueAfterMs: 60_000,
    staleAfterMs: 600_000,
    maxDurationMs: 1,
    inlineItems: stack.config.crawl.inlineItems,
    resultMaxBytes: stack.config.worker.resultMaxBytes,
    intervalMs: 1000,
    embedder: () => stack.knowledge.embedder(),
  });
  assert.ok(out.closed.includes(jobId), 'maintenance closed the crawl');
  const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 10_000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const result = done.result as Record<string, any>;
  assert.ok(result.sitemapUrls > 0, `sitemapUrls in the result: ${JSON.stringify(Object.keys(result))}`);
  assert.equal(result.business?.businessName, 'Orchard Ledger', `business in the result: ${JSON.stringify(result.business)}`);
  assert.ok(Array.isArray(result.business.keyInsights), 'the business profile, as a worker gives it');
  assert.ok((result.failedPages as { url: string; reason: string }[]).some((f) => f.url.endsWith('/docs/quickstart') && f.reason === 'stale'), JSON.stringify(result.failedPages));
});
