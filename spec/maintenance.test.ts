// Reaper, rescuer and orphan re-queue against the real database and queue.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { claimNextJobs, CompletionBatcher, createJob, getJob, listJobEvents, reapStaleJobs } from '../core/jobs/index.js';
import { WEBHOOK_QUEUE } from '../core/queue/index.js';
import { reapOnce } from '../worker/maintenance/reaper.js';
import { rescueOnce } from '../worker/maintenance/rescuer.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
/** Completions as a worker writes them. */
let completions: CompletionBatcher;
before(async () => {
  stack = await startStack();
  completions = new CompletionBatcher(stack.sql, stack.logger);
});

async function processingJob(opts: { maxAttempts?: number; callbackUrl?: string } = {}) {
  const { job } = await createJob(stack.sql, {
    apiKeyId: stack.apiKeyId,
    input: { url: 'https://example.com/' },
    callbackUrl: opts.callbackUrl ?? null,
    idempotencyKey: null,
    requestHash: null,
    maxAttempts: opts.maxAttempts ?? 3,
  });
  // Claimed as a worker claims (claimNextJobs); the job must be among the due jobs claimed.
  const { claimed } = await claimNextJobs(stack.sql, { workerId: 'w-test', limit: 100 });
  const mine = claimed.find((c) => c.job.id === job.id);
  assert.ok(mine, 'the job is claimed through its queue entry');
  return { job: mine.job, queueJobId: mine.entryId };
}

const backdate = (jobId: string, column: 'started_at' | 'heartbeat_at', seconds: number) =>
  stack.sql`update jobs set ${stack.sql(column)} = now() - ${seconds} * interval '1 second' where id = ${jobId}`;

const STALE = 10 * 60_000;

test('a job processing for more than 10 minutes is reaped; a fresh one is untouched', async () => {
  const old = await processingJob({ callbackUrl: 'https://example.com/hook' });
  const fresh = await processingJob();
  await backdate(old.job.id, 'started_at', 11 * 60);
  await backdate(fresh.job.id, 'started_at', 9 * 60);

  const reaped = await reapOnce(stack.sql, stack.boss, stack.logger, { staleAfterMs: STALE });
  assert.deepEqual(reaped.map((j) => j.id), [old.job.id]);

  const after = await getJob(stack.sql, { jobId: old.job.id });
  assert.equal(after?.status, 'failed');
  assert.equal(after?.error?.code, 'stale');
  assert.match(after!.error!.message, /10 minutes/);
  const events = await listJobEvents(stack.sql, old.job.id);
  assert.deepEqual(events.at(-1)?.detail, { reason: 'stale', staleAfterMs: STALE });
  assert.equal(events.at(-1)?.fromStatus, 'processing');

  // The failure webhook is queued in the same transaction.
  const hooks = await stack.sql`select data from pgboss.job where name = ${WEBHOOK_QUEUE} and data->>'jobId' = ${old.job.id}`;
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0]!.data.eventId, events.at(-1)!.id);
  // The queue entry behind it is finished, so pg-boss cannot hand it out again.
  const [entry] = await stack.sql`select state from pgboss.job where id = ${old.queueJobId}`;
  assert.equal(entry!.state, 'completed');

  assert.equal((await getJob(stack.sql, { jobId: fresh.job.id }))?.status, 'processing');
});

test('a late completion from the hung worker is refused after reaping', async () => {
  const { job, queueJobId } = await processingJob();
  await backdate(job.id, 'started_at', 20 * 60);
  await reapOnce(stack.sql, stack.boss, stack.logger, { staleAfterMs: STALE });
  const late = await completions.complete({ jobId: job.id, attempt: 1, workerId: 'w-test', queueJobId, result: { late: true } });
  assert.equal(late, false);
  const after = await getJob(stack.sql, { jobId: job.id });
  assert.equal(after?.status, 'failed');
  assert.equal(after?.result, null);
});

test('two reapers at once reap each job exactly once', async () => {
  const jobs = [];
  for (let i = 0; i < 30; i++) jobs.push(await processingJob());
  for (const { job } of jobs) await backdate(job.id, 'started_at', 15 * 60);
  const [a, b] = await Promise.all([
    reapStaleJobs(stack.sql, stack.boss, { staleAfterMs: STALE, limit: 10 }).then(async (first) => [...first, ...(await reapOnce(stack.sql, stack.boss, stack.logger, { staleAfterMs: STALE }))]),
    reapOnce(stack.sql, stack.boss, stack.logger, { staleAfterMs: STALE }),
  ]);
  const ids = [...a!, ...b!].map((j) => j.id);
  assert.equal(new Set(ids).size, ids.length, 'no job reaped twice');
  for (const { job } of jobs) assert.ok(ids.includes(job.id));
  for (const { job } of jobs) {
    const finals = (await listJobEvents(stack.sql, job.id)).filter((e) => e.toStatus === 'failed');
    assert.equal(finals.length, 1);
  }
});

test('a job whose worker went silent is rescued to pending with a fresh queue entry', async () => {
  const { job, queueJobId } = await processingJob();
  await backdate(job.id, 'heartbeat_at', 90);
  const result = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 60_000 });
  assert.ok(result.rescued.some((j) => j.id === job.id));
  const after = await getJob(stack.sql, { jobId: job.id });
  assert.equal(after?.status, 'pending');
  assert.equal(after?.attempts, 1, 'the attempt that died counts');
  assert.notEqual(after?.queueJobId, queueJobId);
  const events = await listJobEvents(stack.sql, job.id);
  assert.equal((events.at(-1)?.detail as { reason: string }).reason, 'rescued');
  const [entry] = await stack.sql`select state from pgboss.job where id = ${after!.queueJobId}`;
  assert.equal(entry!.state, 'created');
  // The old worker's late completion is refused.
  assert.equal(await completions.complete({ jobId: job.id, attempt: 1, workerId: 'w-test', queueJobId, result: {} }), false);
});

test('a silent job on its last attempt fails as abandoned; a heartbeating one is untouched', async () => {
  const last = await processingJob({ maxAttempts: 1 });
  const alive = await processingJob();
  await backdate(last.job.id, 'heartbeat_at', 120);
  await backdate(alive.job.id, 'heartbeat_at', 10);
  const result = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 60_000 });
  assert.ok(result.failed.some((j) => j.id === last.job.id));
  assert.equal((await getJob(stack.sql, { jobId: last.job.id }))?.error?.code, 'abandoned');
  assert.equal((await getJob(stack.sql, { jobId: alive.job.id }))?.status, 'processing');
});

test('a pending job whose queue entry was lost is re-queued', async () => {
  const { job } = await createJob(stack.sql, {
    apiKeyId: stack.apiKeyId,
    input: { url: 'https://example.com/' },
    callbackUrl: null,
    idempotencyKey: null,
    requestHash: null,
    maxAttempts: 3,
  });
  // A worker fetched the entry and died before claiming the job.
  await stack.sql`update pgboss.job set state = 'active', started_on = now() - interval '5 minutes' where id = ${job.queueJobId}`;
  await stack.sql`update jobs set updated_at = now() - interval '5 minutes' where id = ${job.id}`;
  const result = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 60_000 });
  assert.ok(result.requeued.includes(job.id));
  const after = await getJob(stack.sql, { jobId: job.id });
  assert.equal(after?.status, 'pending');
  assert.notEqual(after?.queueJobId, job.queueJobId);
  const [entry] = await stack.sql`select state from pgboss.job where id = ${after!.queueJobId}`;
  assert.equal(entry!.state, 'created');
});
