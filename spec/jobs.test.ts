// The job state machine against the real database and queue.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  cancelJob,
  claimNextJobs,
  CompletionBatcher,
  createJob,
  failAttempt,
  getJob,
  heartbeat,
  listJobEvents,
  releaseJob,
  retryDelayMs,
  retryJob,
  TRANSITIONS,
} from '../core/jobs/index.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
/** Completions as a worker writes them. */
let completions: CompletionBatcher;
before(async () => {
  stack = await startStack();
  completions = new CompletionBatcher(stack.sql, stack.logger);
});

const newJob = async (maxAttempts = 3) =>
  (
    await createJob(stack.sql, {
      apiKeyId: stack.apiKeyId,
      input: { url: 'https://example.com/' },
      callbackUrl: null,
      idempotencyKey: null,
      requestHash: null,
      maxAttempts,
    })
  ).job;

/** Claim through the queue, as a worker does (claimNextJobs); the job must be among the due jobs claimed. */
async function claimNext(jobId: string, workerId = 'w1') {
  const { claimed } = await claimNextJobs(stack.sql, { workerId, limit: 100 });
  const mine = claimed.find((c) => c.job.id === jobId);
  assert.ok(mine, 'the job is claimed through its queue entry');
  return { job: mine.job, queueJobId: mine.entryId };
}

test('the transition table is the documented lifecycle', () => {
  assert.deepEqual(TRANSITIONS, {
    pending: ['processing', 'cancelled'],
    processing: ['completed', 'failed', 'pending', 'cancelled'],
    completed: [],
    failed: ['pending'],
    cancelled: ['pending'],
  });
});

test('create writes the job, its event and its queue entry in one transaction', async () => {
  const job = await newJob();
  assert.equal(job.status, 'pending');
  assert.ok(job.queueJobId);
  const [entry] = await stack.sql`select state, data from pgboss.job where id = ${job.queueJobId}`;
  assert.equal(entry!.state, 'created');
  assert.deepEqual(entry!.data, { jobId: job.id, apiKeyId: stack.apiKeyId });
  const events = await listJobEvents(stack.sql, job.id);
  assert.deepEqual(events.map((e) => [e.fromStatus, e.toStatus, e.attempt]), [[null, 'pending', 0]]);
});

test('a failure inside the enqueue transaction leaves neither the job nor the queue entry', async () => {
  const before = await stack.sql`select count(*)::int as n from jobs`;
  const queued = await stack.sql`select count(*)::int as n from pgboss.job`;
  await assert.rejects(
    createJob(stack.sql, {
      apiKeyId: 'key_does_not_exist', // foreign key violation after nothing else has failed
      input: { url: 'https://example.com/' },
      callbackUrl: null,
      idempotencyKey: null,
      requestHash: null,
      maxAttempts: 3,
    }),
  );
  assert.equal((await stack.sql`select count(*)::int as n from jobs`)[0]!.n, before[0]!.n);
  assert.equal((await stack.sql`select count(*)::int as n from pgboss.job`)[0]!.n, queued[0]!.n);
});

test('claim, complete: attempts counted, events in order, queue entry completed', async () => {
  const created = await newJob();
  const { job, queueJobId } = await claimNext(created.id);
  assert.equal(job.status, 'processing');
  assert.equal(job.attempts, 1);
  assert.equal(job.workerId, 'w1');
  assert.equal(await completions.complete({ jobId: job.id, attempt: 1, workerId: 'w1', queueJobId, result: { ok: true } }), true);
  const done = await getJob(stack.sql, { jobId: job.id });
  assert.equal(done?.status, 'completed');
  assert.deepEqual(done?.result, { ok: true });
  assert.ok(done?.completedAt);
  const [entry] = await stack.sql`select state from pgboss.job where id = ${queueJobId}`;
  assert.equal(entry!.state, 'completed');
  const events = await listJobEvents(stack.sql, job.id);
  assert.deepEqual(
    events.map((e) => [e.fromStatus, e.toStatus, e.attempt, e.workerId]),
    [
      [null, 'pending', 0, null],
      ['pending', 'processing', 1, 'w1'],
      ['processing', 'completed', 1, 'w1'],
    ],
  );
});

test('illegal moves are refused and change nothing: completing a failed job, failing a completed one', async () => {
  const created = await newJob(1);
  const { job, queueJobId } = await claimNext(created.id);
  const failed = await failAttempt(stack.sql, stack.boss, stack.logger, {
    jobId: job.id,
    attempt: 1,
    workerId: 'w1',
    queueJobId,
    error: { code: 'boom', message: 'it broke' },
    retryable: true,
    retryDelayMs: 0,
  });
  assert.equal(failed?.status, 'failed', 'no attempts left: final failure even though retryable');
  const late = await completions.complete({ jobId: job.id, attempt: 1, workerId: 'w1', queueJobId, result: { late: true } });
  assert.equal(late, false);
  const after = await getJob(stack.sql, { jobId: job.id });
  assert.equal(after?.status, 'failed');
  assert.equal(after?.result, null);
  assert.deepEqual(after?.error, { code: 'boom', message: 'it broke' });
  assert.equal((await listJobEvents(stack.sql, job.id)).length, 3);
  assert.equal(await cancelJob(stack.sql, stack.boss, { jobId: job.id, apiKeyId: stack.apiKeyId }), null);
});

test('a stale worker (older attempt) cannot complete a job another worker now holds', async () => {
  const created = await newJob();
  const first = await claimNext(created.id, 'w1');
  await releaseJob(stack.sql, stack.logger, { jobId: created.id, attempt: 1, workerId: 'w1', queueJobId: first.queueJobId, reason: 'test' });
  const second = await claimNext(created.id, 'w2');
  assert.equal(second.job.attempts, 2);
  const stale = await completions.complete({ jobId: created.id, attempt: 1, workerId: 'w1', queueJobId: first.queueJobId, result: {} });
  assert.equal(stale, false);
  assert.equal(await completions.complete({ jobId: created.id, attempt: 2, workerId: 'w2', queueJobId: second.queueJobId, result: { by: 'w2' } }), true);
  const fresh = await getJob(stack.sql, { jobId: created.id });
  assert.deepEqual(fresh?.result, { by: 'w2' });
});

test('a superseded queue entry cannot claim the job', async () => {
  const created = await newJob();
  const { queueJobId } = await claimNext(created.id);
  await releaseJob(stack.sql, stack.logger, { jobId: created.id, attempt: 1, workerId: 'w1', queueJobId, reason: 'test' });
  // The released job is claimed once more, through its new entry only: the old one was finished at the release.
  const again = await claimNext(created.id, 'w3');
  assert.notEqual(again.queueJobId, queueJobId);
  const [old] = await stack.sql`select state from pgboss.job where id = ${queueJobId}`;
  assert.equal(old!.state, 'completed');
});

test('release gives the job back as pending without charging the attempt', async () => {
  const created = await newJob(1);
  const { queueJobId } = await claimNext(created.id);
  const released = await releaseJob(stack.sql, stack.logger, { jobId: created.id, attempt: 1, workerId: 'w1', queueJobId, reason: 'worker shutdown' });
  assert.equal(released?.status, 'pending');
  assert.equal(released?.attempts, 1);
  assert.equal(released?.maxAttempts, 2);
  assert.notEqual(released?.queueJobId, queueJobId);
  const events = await listJobEvents(stack.sql, created.id);
  assert.deepEqual(events.at(-1)?.detail, { reason: 'worker shutdown' });
});

test('a retryable failure with attempts left goes back to pending with a delayed queue entry', async () => {
  const created = await newJob(3);
  const { queueJobId } = await claimNext(created.id);
  const retried = await failAttempt(stack.sql, stack.boss, stack.logger, {
    jobId: created.id,
    attempt: 1,
    workerId: 'w1',
    queueJobId,
    error: { code: 'timeout', message: 'slow' },
    retryable: true,
    retryDelayMs: 60_000,
  });
  assert.equal(retried?.status, 'pending');
  assert.equal(retried?.attempts, 1);
  assert.ok(retried!.runAfter!.getTime() > Date.now() + 50_000);
  const [entry] = await stack.sql`select state, start_after from pgboss.job where id = ${retried!.queueJobId}`;
  assert.equal(entry!.state, 'retry', 'waiting out its backoff; the claim makes it claimable once due');
  assert.ok((entry!.start_after as Date).getTime() > Date.now() + 50_000);
  const events = await listJobEvents(stack.sql, created.id);
  assert.equal(events.at(-1)?.fromStatus, 'processing');
  assert.equal(events.at(-1)?.toStatus, 'pending');
  assert.equal((events.at(-1)?.detail as { reason: string }).reason, 'retry');
  await cancelJob(stack.sql, stack.boss, { jobId: created.id, apiKeyId: stack.apiKeyId });
});

test('a non-retryable failure fails at once', async () => {
  const created = await newJob(3);
  const { queueJobId } = await claimNext(created.id);
  const failed = await failAttempt(stack.sql, stack.boss, stack.logger, {
    jobId: created.id,
    attempt: 1,
    workerId: 'w1',
    queueJobId,
    error: { code: 'blocked_address', message: 'no' },
    retryable: false,
    retryDelayMs: 0,
  });
  assert.equal(failed?.status, 'failed');
});

test('cancel is scoped to the owner; heartbeat reports the cancel to the worker', async () => {
  const created = await newJob();
  const { job } = await claimNext(created.id);
  assert.deepEqual(await heartbeat(stack.sql, { jobId: job.id, attempt: 1, progress: { currentStep: "fetch" } }), { held: true, status: "processing" });
  assert.deepEqual((await getJob(stack.sql, { jobId: job.id }))?.progress, { currentStep: 'fetch' });
  assert.equal(await cancelJob(stack.sql, stack.boss, { jobId: job.id, apiKeyId: 'key_someone_else' }), null);
  const cancelled = await cancelJob(stack.sql, stack.boss, { jobId: job.id, apiKeyId: stack.apiKeyId });
  assert.equal(cancelled?.status, 'cancelled');
  assert.deepEqual(await heartbeat(stack.sql, { jobId: job.id, attempt: 1 }), { held: false, status: "cancelled" });
  const retried = await retryJob(stack.sql, { jobId: job.id, apiKeyId: stack.apiKeyId, extraAttempts: 3 });
  assert.equal(retried?.status, 'pending');
  assert.equal(retried?.maxAttempts, 4);
  await cancelJob(stack.sql, stack.boss, { jobId: job.id, apiKeyId: stack.apiKeyId });
});

test('retry delay grows exponentially with jitter and is capped', () => {
  assert.equal(retryDelayMs(1, 1000, 60_000, () => 1), 1000);
  assert.equal(retryDelayMs(1, 1000, 60_000, () => 0), 500);
  assert.equal(retryDelayMs(3, 1000, 60_000, () => 1), 4000);
  assert.equal(retryDelayMs(20, 1000, 60_000, () => 1), 60_000);
});
