// A crawl's own cap on its running page tasks (crawl_progress.max_running,
// Firecrawl's maxConcurrency) in the page-task claim: exact under claimers on
// connections of their own claiming at once, given back as tasks end, and a
// crawl at its cap does not hold up its key's other crawls queued behind it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { connect, type Sql } from '../../core/platform/db.js';
import { cancelCrawl, claimPageTasks, finishPageTask, type DiscoveredPage, type PageTask } from '../../core/crawlTasks/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { discoveredPages, openTestCrawl } from '../helpers/crawlTasks.js';
import { createTestDatabase } from '../helpers/database.js';

const db = await createTestDatabase();
const { sql } = db;

const pages = discoveredPages;

const crawl = (apiKeyId: string, seeds: DiscoveredPage[], maxRunning?: number) => openTestCrawl(sql, { apiKeyId, seeds, maxPages: 1000, maxRunning });

const claim = (s: Sql, limit: number) => claimPageTasks(s, { workerId: 'w', limit, runningPerKey: 100 });
const jobsOf = (tasks: PageTask[]) => tasks.map((t) => t.jobId);

test('a crawl at its cap takes no more, and its key\'s other crawl queued behind it still runs', async () => {
  const key = (await createApiKey(sql, 'capped')).apiKey.id;
  // The capped crawl's tasks are the key's oldest: each claim reaches them first.
  const capped = await crawl(key, pages(10, 'https://capped.test/p'), 2);
  const other = await crawl(key, pages(5, 'https://other.test/p'));

  const first = await claim(sql, 4);
  assert.deepEqual(jobsOf(first.tasks), [capped, capped], 'two of the capped crawl, its cap');
  const second = await claim(sql, 4);
  assert.deepEqual(jobsOf(second.tasks), [other, other, other, other], 'the other crawl is not stuck behind the capped one');
  const third = await claim(sql, 4);
  assert.deepEqual(jobsOf(third.tasks), [other]);
  assert.equal((await claim(sql, 4)).tasks.length, 0, 'nothing more while the capped crawl is at its cap');

  // One of its pages ends: one more of it runs, and no more.
  await finishPageTask(sql, { taskId: first.tasks[0]!.id, attempt: first.tasks[0]!.attempt, outcome: { state: 'done', chunks: 1 } });
  assert.deepEqual(jobsOf((await claim(sql, 4)).tasks), [capped]);
  assert.equal((await claim(sql, 4)).tasks.length, 0);
  await cancelCrawl(sql, capped);
  await cancelCrawl(sql, other);
});

test('claimers at once never run more of a crawl\'s tasks than its cap', async () => {
  const key = (await createApiKey(sql, 'at once')).apiKey.id;
  const capped = await crawl(key, pages(50, 'https://at-once.test/p'), 3);
  const claimers = Array.from({ length: 6 }, () => {
    const s = connect(db.url, 1, 'gleaner-test-worker');
    onCleanup(() => s.end({ timeout: 1 }));
    return s;
  });
  await Promise.all(claimers.map((c) => c`select 1`)); // connected, so the claims overlap
  const held = (await Promise.all(claimers.map((c) => claim(c, 4)))).flatMap((r) => r.tasks);
  assert.equal(held.length, 3, 'exactly the cap, over every claimer');
  const [row] = await sql`select running, (select count(*)::int from crawl_pages where job_id = ${capped} and state = 'running') as rows from crawl_progress where job_id = ${capped}`;
  assert.deepEqual({ running: row!.running, rows: row!.rows }, { running: 3, rows: 3 });
  await cancelCrawl(sql, capped);
});
