// A page's link hops (crawl_pages.hops, Firecrawl's maxDiscoveryDepth) are its
// shortest route: a URL given twice in one discovery, or found again while
// still queued, keeps the fewest hops, whichever route a worker found first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { cancelCrawl, claimPageTasks, discoverPages, finishPageTask, type DiscoveredPage } from '../../core/crawlTasks/index.js';
import { normalizeUrl } from '../../worker/pipeline/crawl/urls.js';
import { openTestCrawl } from '../helpers/crawlTasks.js';
import { createTestDatabase } from '../helpers/database.js';

const { sql } = await createTestDatabase();

const page = (url: string, hops: number, depth = 1): DiscoveredPage => ({ url, key: normalizeUrl(url)!, depth, hops });

async function crawl(seeds: DiscoveredPage[]): Promise<string> {
  return openTestCrawl(sql, { apiKeyId: (await createApiKey(sql, 'hops')).apiKey.id, seeds, maxPages: 100 });
}

const hopsOf = async (jobId: string) =>
  Object.fromEntries((await sql<{ url: string; hops: number }[]>`select url, hops from crawl_pages where job_id = ${jobId} order by url`).map((r) => [new URL(r.url).pathname, r.hops]));

test('a URL given twice in one discovery keeps its fewest hops (a link listed before the same sitemap URL)', async () => {
  const jobId = await crawl([page('https://hops.test/', 0, 0)]);
  await discoverPages(sql, { jobId, pages: [page('https://hops.test/s', 1), page('https://hops.test/a', 1), page('https://hops.test/s', 0)] });
  assert.deepEqual(await hopsOf(jobId), { '/': 0, '/a': 1, '/s': 0 });
  await cancelCrawl(sql, jobId);
});

test('a queued page found again by a shorter route takes the fewer hops; a claimed one keeps its own', async () => {
  const jobId = await crawl([page('https://hops2.test/', 0, 0)]);
  await discoverPages(sql, { jobId, pages: [page('https://hops2.test/deep', 3)] });
  await discoverPages(sql, { jobId, pages: [page('https://hops2.test/deep', 1)] });
  assert.equal((await hopsOf(jobId))['/deep'], 1, 'the queued page took the shorter route');
  await discoverPages(sql, { jobId, pages: [page('https://hops2.test/deep', 2)] });
  assert.equal((await hopsOf(jobId))['/deep'], 1, 'a longer route changes nothing');

  const { tasks } = await claimPageTasks(sql, { workerId: 'w', limit: 10, runningPerKey: 100 });
  const deep = tasks.find((t) => t.url.endsWith('/deep'));
  assert.ok(deep, `the claim took /deep: ${tasks.map((t) => t.url).join(', ')}`);
  assert.equal(deep.hops, 1);
  await discoverPages(sql, { jobId, pages: [page('https://hops2.test/deep', 0)] });
  assert.equal((await hopsOf(jobId))['/deep'], 1, 'a running page keeps the hops it was claimed with (its links are counted from them)');
  await finishPageTask(sql, { taskId: deep.id, attempt: deep.attempt, outcome: { state: 'done', chunks: 1 } });
  await cancelCrawl(sql, jobId);
});
