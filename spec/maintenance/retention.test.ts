// Retention (worker/maintenance/retention.ts) against backdated rows: old
// finished jobs go with their events and deliveries (and, when asked, index chunks); recent and
// unfinished ones, and chunks a newer job wrote, stay; batches are bounded.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig } from '../../core/platform/config.js';
import { createJob, expiredJobIds, type JobStatus } from '../../core/jobs/index.js';
import { runReport } from '../../core/reports.js';
import { PostgresSearchIndex } from '../../core/search/postgres.js';
import type { IndexedChunk } from '../../core/search/types.js';
import { runRetention } from '../../worker/maintenance/retention.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DAY = 86_400_000;
const RETENTION = 30 * DAY;

let stack: Stack;
let index: PostgresSearchIndex;
before(async () => {
  stack = await startStack();
  index = new PostgresSearchIndex(stack.sql, stack.logger, { dimension: 4 });
  await index.init();
});

const chunk = (jobId: string, url: string): IndexedChunk => ({ id: `${url}#0`, jobId, url, title: 't', headingPath: [], content: `from ${jobId}`, category: '', position: 0, embedding: new Float32Array([1, 0, 0, 0]) });

/** A job of `status` that ended `ageDays` ago (unfinished ones were created then), with events, two deliveries and a page in the index. */
async function seed(status: JobStatus, ageDays: number, url = `https://r.example/${Math.random().toString(36).slice(2)}`) {
  const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  const finished = ['completed', 'failed', 'cancelled'].includes(status);
  await stack.sql`
    update jobs set status = ${status}, attempts = 1,
      created_at = now() - ${ageDays + 1} * interval '1 day',
      started_at = case when ${status} <> 'pending' then now() - ${ageDays + 1} * interval '1 day' end,
      heartbeat_at = case when ${status} = 'processing' then now() end,
      completed_at = case when ${finished} then now() - ${ageDays} * interval '1 day' end
    where id = ${job.id}`;
  await stack.sql`
    insert into job_events (job_id, from_status, to_status, attempt, at)
    values (${job.id}, 'pending', 'processing', 1, now() - ${ageDays} * interval '1 day')`;
  for (const attempt of [1, 2]) {
    await stack.sql`
      insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, outcome, created_at)
      values (${job.id}, 'job.completed', ${`msg_${job.id}`}, ${attempt}, 'https://hooks.example/', ${attempt === 1 ? 'retrying' : 'delivered'}, now() - ${ageDays} * interval '1 day')`;
  }
  await index.replacePage(stack.apiKeyId, url, [chunk(job.id, url)]);
  return { id: job.id, url };
}

const count = async (table: 'jobs' | 'job_events' | 'webhook_deliveries' | 'chunks', jobId: string) =>
  (await stack.sql`select count(*)::int as n from ${stack.sql(table)} where job_id = ${jobId}`)[0]!.n as number;
const exists = async (jobId: string) => (await stack.sql`select 1 from jobs where id = ${jobId}`).length === 1;

test('old finished jobs go with everything of theirs; recent, unfinished and newer pages stay; batches are bounded', async () => {
  const old = [await seed('completed', 40), await seed('failed', 35), await seed('cancelled', 31), await seed('completed', 60), await seed('failed', 90)];
  const recent = [await seed('completed', 29), await seed('failed', 1)];
  const unfinished = [await seed('pending', 45), await seed('processing', 45)];
  // A page first fetched by an old job and fetched again by a recent one: the recent job's chunks are the page now.
  const refetched = await seed('completed', 50);
  const newer = await seed('completed', 2, refetched.url);

  // One batch of two: exactly two of the expired jobs go, whatever the backlog.
  assert.equal((await expiredJobIds(stack.sql, { cutoff: new Date(Date.now() - RETENTION), limit: 2 })).length, 2);
  const first = await runRetention(stack.sql, stack.logger, { retentionMs: RETENTION, batch: 2, maxBatches: 1, removeChunks: (ids) => index.removeJobs(ids) });
  assert.equal(first?.batches, 1);
  assert.equal(first?.jobs, 2);
  assert.equal(first?.events, 2 * 2, 'the creation event and the seeded one of each');
  assert.equal(first?.deliveries, 2 * 2);

  // The next pass, in batches of two, finishes the rest.
  const second = await runRetention(stack.sql, stack.logger, { retentionMs: RETENTION, batch: 2, removeChunks: (ids) => index.removeJobs(ids) });
  assert.equal(second?.jobs, old.length + 1 - 2);
  assert.equal(second?.batches, 2, 'four jobs in batches of two');

  for (const j of [...old, refetched]) {
    assert.equal(await exists(j.id), false, j.id);
    for (const table of ['job_events', 'webhook_deliveries', 'chunks'] as const) assert.equal(await count(table, j.id), 0, `${table} of ${j.id}`);
  }
  for (const j of old) assert.equal((await stack.sql`select count(*)::int as n from chunks where url = ${j.url}`)[0]!.n, 0);
  for (const j of [...recent, ...unfinished, newer]) {
    assert.equal(await exists(j.id), true, j.id);
    assert.equal(await count('job_events', j.id), 2);
    assert.equal(await count('webhook_deliveries', j.id), 2);
    assert.equal(await count('chunks', j.id), 1);
  }
  // The page the newer job fetched again is still searchable.
  assert.deepEqual((await stack.sql`select job_id from chunks where url = ${refetched.url}`).map((r) => r.job_id), [newer.id]);

  // Nothing left to do: a pass removes nothing and is still recorded.
  const third = await runRetention(stack.sql, stack.logger, { retentionMs: RETENTION, removeChunks: (ids) => index.removeJobs(ids) });
  assert.deepEqual({ jobs: third?.jobs, batches: third?.batches }, { jobs: 0, batches: 0 });

  // The report shows each pass and the totals.
  const report = await runReport(stack.sql, 'retention', { since: new Date(Date.now() - 3_600_000) });
  const rows = report.rows as { pass: string; jobs: number; events: number; deliveries: number; chunks: number }[];
  assert.equal(rows.length, 4, 'three passes and the total');
  assert.deepEqual(rows.at(-1), { ...rows.at(-1), pass: 'all', jobs: old.length + 1, events: 2 * (old.length + 1), deliveries: 2 * (old.length + 1), chunks: old.length });
});

test('RETENTION 0 keeps everything', async () => {
  const j = await seed('completed', 400);
  assert.equal(await runRetention(stack.sql, stack.logger, { retentionMs: 0, removeChunks: (ids) => index.removeJobs(ids) }), null);
  assert.equal(await exists(j.id), true);
});

test('by default the search index outlives the jobs retention deletes', async () => {
  assert.equal(loadConfig({}).maintenance.retentionIncludesIndex, false);
  assert.equal(loadConfig({ RETENTION_INCLUDES_INDEX: 'true' }).maintenance.retentionIncludesIndex, true);
  const j = await seed('completed', 45);
  const pass = await runRetention(stack.sql, stack.logger, { retentionMs: RETENTION });
  assert.equal(await exists(j.id), false);
  assert.equal(await count('job_events', j.id), 0);
  assert.equal(pass?.chunks, 0);
  // The page the deleted job fetched is still in the index under that job's id.
  assert.equal(await count('chunks', j.id), 1);
});
