// A page-task crawl's parent is left to its closer and crawl maintenance
// while its crawl is open or freshly closed; one still processing
// CLOSED_PARENT_GRACE after its crawl closed (its profile or completion kept
// failing) is the stale reaper's like any other job, never processing forever.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCrawl } from '../../core/crawlTasks/index.js';
import { CLOSED_PARENT_GRACE_MS } from '../../core/jobs/maintenance.js';
import { claimNextJobs, createJob, getJob, reapStaleJobs } from '../../core/jobs/index.js';
import { normalizeUrl } from '../../worker/pipeline/crawl/urls.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack();
const STALE = 10 * 60_000;

async function parent(url: string): Promise<string> {
  const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  const { claimed } = await claimNextJobs(stack.sql, { workerId: 'w-grace', limit: 100 });
  assert.ok(claimed.some((c) => c.job.id === job.id), 'the parent is claimed');
  await openCrawl(stack.sql, { jobId: job.id, apiKeyId: stack.apiKeyId, maxPages: 10, maxDepth: 2, maxAttempts: 3, seeds: [{ url, key: normalizeUrl(url)!, depth: 0 }] });
  await stack.sql`update jobs set started_at = now() - interval '1 hour' where id = ${job.id}`;
  return job.id;
}

const closeCrawl = (jobId: string, agoMs: number | null) =>
  stack.sql`update crawl_progress set closed_at = ${agoMs === null ? null : stack.sql`now() - ${agoMs} * interval '1 millisecond'`} where job_id = ${jobId}`;

test('the stale reaper leaves open and freshly closed crawls to their own rules, and takes a parent left processing past the grace', async () => {
  const open = await parent('https://grace.test/open');
  const fresh = await parent('https://grace.test/fresh');
  const stuck = await parent('https://grace.test/stuck');
  await closeCrawl(fresh, 60_000);
  await closeCrawl(stuck, CLOSED_PARENT_GRACE_MS + 60_000);

  const reaped = (await reapStaleJobs(stack.sql, stack.boss, { staleAfterMs: STALE })).map((j) => j.id);
  assert.deepEqual(reaped.filter((id) => [open, fresh, stuck].includes(id)), [stuck], 'only the parent stuck past the grace is reaped');
  assert.equal((await getJob(stack.sql, { jobId: stuck }))!.status, 'failed');
  assert.equal((await getJob(stack.sql, { jobId: fresh }))!.status, 'processing');
  assert.equal((await getJob(stack.sql, { jobId: open }))!.status, 'processing');
});
