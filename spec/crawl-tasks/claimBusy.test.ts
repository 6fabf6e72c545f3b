// A claim that finds due pages behind a crawl row held by a move (a page
// finishing, a crawl closing) says so (`busy`), so the worker asks again in
// milliseconds instead of idling its free slots until the poll interval (no
// NOTIFY follows a move that queues nothing: with tiny pages, a slot in five
// sat idle this way). Pages left by a cap (maxPages, the per-key cap) are not
// busy: asking again would not change the answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { claimPageTasks, openCrawl, type DiscoveredPage } from '../../core/crawlTasks/index.js';
import { newJobId } from '../../core/ids.js';
import { createTestDatabase } from '../helpers/database.js';

const db = await createTestDatabase();
const { sql } = db;

const pages = (n: number): DiscoveredPage[] => Array.from({ length: n }, (_, i) => ({ url: `https://busy.test/p${i}`, key: `https://busy.test/p${i}`, depth: 1 }));

async function crawl(apiKeyId: string, maxPages: number): Promise<string> {
  const id = newJobId();
  await sql`insert into jobs (id, api_key_id, status, input, max_attempts) values (${id}, ${apiKeyId}, 'processing', ${sql.json({ url: 'https://busy.test/' })}, 3)`;
  await openCrawl(sql, { jobId: id, apiKeyId, maxPages, maxDepth: 5, maxAttempts: 3, seeds: pages(3) });
  return id;
}

test('a claim behind a crawl row held by a move reports the due pages as busy, and takes them once it is free', async () => {
  const key = (await createApiKey(sql, 'busy')).apiKey.id;
  const jobId = await crawl(key, 10);
  let during: Awaited<ReturnType<typeof claimPageTasks>> | undefined;
  await sql.begin(async (tx) => {
    // As finishPageTask does: the crawl's progress row held for the move.
    await tx`select 1 from crawl_progress where job_id = ${jobId} for update`;
    during = await claimPageTasks(sql, { workerId: 'w1', limit: 2, runningPerKey: 100 });
  });
  assert.deepEqual([during!.tasks.length, during!.busy > 0], [0, true], `nothing taken, busy reported: ${JSON.stringify(during)}`);
  const after = await claimPageTasks(sql, { workerId: 'w1', limit: 2, runningPerKey: 100 });
  assert.deepEqual([after.tasks.length, after.busy], [2, 0]);
});

test('pages left by a cap are not busy', async () => {
  const key = (await createApiKey(sql, 'capped')).apiKey.id;
  const jobId = await crawl(key, 1);
  const mine = (r: Awaited<ReturnType<typeof claimPageTasks>>) => r.tasks.filter((t) => t.jobId === jobId).length;
  const first = await claimPageTasks(sql, { workerId: 'w2', limit: 3, runningPerKey: 100 });
  assert.equal(mine(first), 1, 'maxPages 1: one page at a time');
  const second = await claimPageTasks(sql, { workerId: 'w2', limit: 3, runningPerKey: 100 });
  assert.deepEqual([mine(second), second.busy], [0, 0], 'maxPages reached by the running page: nothing to ask again for');
});
