// A page task claimed while its worker's heartbeat is in flight is not the
// heartbeat's to judge: the heartbeat only speaks for the tasks it sent. Before
// this was so, a heartbeat held up (here by a row lock, as a busy finish or a
// slow round trip would) came back without the tasks claimed meanwhile and
// aborted them as "cancelled or rescued": each was handed back and fetched a
// second time (seen as /p/10 and /p/14 fetched twice in the 1,000-page bench).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getCrawlProgress } from '../../core/crawlTasks/index.js';
import { startGeneratedSite } from '../../testing/generatedSite.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startStack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

test('tasks claimed while a heartbeat is held up are not aborted by it: every page is fetched once', async () => {
  const stack = await startStack({
    config: { CRAWL_PAGE_TASKS: 'true', CRAWL_HOST_CONCURRENCY: '4', CRAWL_HOST_DELAY: '0', WORKER_CONCURRENCY: '4', CRAWL_RUNNING_PAGES_PER_KEY: '4' },
    worker: true,
  });
  const site = await startGeneratedSite({ pages: 60, latencyMs: 250 });
  onCleanup(() => site.close());
  const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.baseUrl}/`, maxPages: 30 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const jobId = res.body.jobId as string;
  await waitUntil('three pages running', async () => ((await getCrawlProgress(stack.sql, jobId))?.running ?? 0) >= 3);

  // Hold the oldest running task's row: the next heartbeat (every 500 ms here) waits on it while the other pages finish and new ones are claimed.
  let claimedMeanwhile = 0;
  await stack.sql.begin(async (tx) => {
    const [oldest] = await tx`
      select id, now() as at from crawl_pages where job_id = ${jobId} and state = 'running' order by started_at, id limit 1 for update`;
    assert.ok(oldest, 'a running task to hold');
    await waitUntil('the heartbeat waiting on the held row', async () => {
      const [w] = await stack.sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%set heartbeat_at = now()%'`;
      return (w!.n as number) > 0;
    });
    await waitUntil('pages claimed while the heartbeat waits', async () => {
      const [c] = await stack.sql`select count(*)::int as n from crawl_pages where job_id = ${jobId} and started_at > ${oldest.at as Date}`;
      claimedMeanwhile = c!.n as number;
      return claimedMeanwhile >= 2;
    });
  });
  assert.ok(claimedMeanwhile >= 2, `pages were claimed while the heartbeat waited (${claimedMeanwhile})`);

  const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 120_000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const twice = [...site.hits].filter(([p, n]) => (p === '/' || p.startsWith('/p/')) && n > 1);
  assert.deepEqual(twice, [], 'no page fetched twice');
  const [again] = await stack.sql`select count(*)::int as n from crawl_pages where job_id = ${jobId} and attempts > 1`;
  assert.equal(again!.n, 0, 'no page task ran twice');
});
