// The worker's own deadline (JOB_TIMEOUT), heartbeats on their own connection,
// and index writes fenced by the attempt that makes them.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { connect } from '../../core/platform/db.js';
import { AttemptOverError, createJob, getJob, listJobEvents, type Job } from '../../core/jobs/index.js';
import { PostgresSearchIndex } from '../../core/search/postgres.js';
import type { IndexedChunk } from '../../core/search/types.js';
import { reapOnce } from '../../worker/maintenance/reaper.js';
import { rescueOnce } from '../../worker/maintenance/rescuer.js';
import type { Pipeline } from '../../worker/pipeline/types.js';
import { JobRunner } from '../../worker/runner.js';
import { runnerOptions } from '../../worker/worker.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

async function submit(): Promise<Job> {
  const { job } = await createJob(stack.sql, {
    apiKeyId: stack.apiKeyId,
    input: { url: 'https://example.com/' },
    callbackUrl: null,
    idempotencyKey: null,
    requestHash: null,
    maxAttempts: 3,
  });
  return job;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a slow but alive job fails as timeout at JOB_TIMEOUT, before the reaper would call it stale', async () => {
  // STALE_AFTER alone: JOB_TIMEOUT derives as 3 s minus 10 %, 2.7 s.
  const config = testConfig({ STALE_AFTER: '3s' });
  assert.equal(config.worker.jobTimeoutMs, 2700);
  // Alive (it reports progress, so it heartbeats) but slower than STALE_AFTER.
  const slow: Pipeline = async (_input, ctx) => {
    for (let i = 0; i < 50 && !ctx.signal.aborted; i++) {
      ctx.progress({ step: i });
      await sleep(100, ctx.signal);
    }
    return { finished: true };
  };
  const job = await submit();
  const runner = await stack.startWorker({ pipeline: slow, config });
  // The reaper, as every worker runs it, throughout.
  const reaped: string[] = [];
  const done = await until('the job to end', async () => {
    for (const j of await reapOnce(stack.sql, stack.boss, stack.logger, { staleAfterMs: config.worker.staleAfterMs })) reaped.push(j.id);
    const current = await getJob(stack.sql, { jobId: job.id });
    return current?.status === 'failed' || current?.status === 'completed' ? current : null;
  });
  await runner.stop(0);
  assert.deepEqual(reaped, [], 'nothing was reaped as stale');
  assert.equal(done.status, 'failed');
  assert.equal(done.error?.code, 'timeout');
  assert.match(done.error!.message, /more than 2700 ms \(JOB_TIMEOUT\)/);
  assert.equal(done.attempts, 1, 'a timeout is final, like stale');
  const last = (await listJobEvents(stack.sql, job.id)).at(-1)!;
  assert.equal(last.fromStatus, 'processing');
  assert.equal((last.detail as { error: { code: string } }).error.code, 'timeout');
});

test('heartbeats on their own connection keep a job alive while the main pool is saturated', async () => {
  const config = testConfig();
  const main = connect(stack.url, 2, 'gleaner-test-main');
  const beats = connect(stack.url, 1, 'gleaner-test-heartbeat', { statementTimeoutMs: 1000 });
  onCleanup(async () => {
    await main.end({ timeout: 1 });
    await beats.end({ timeout: 1 });
  });
  // The pipeline holds every connection of the main pool for 6 s, three rescue windows.
  const hog: Pipeline = async () => {
    await Promise.all([main`select pg_sleep(6)`, main`select pg_sleep(6)`]);
    return { ok: true };
  };
  const runner = new JobRunner(main, stack.boss, stack.logger, hog, { ...runnerOptions(config), concurrency: 1, heartbeatIntervalMs: 250, heartbeatSql: beats });
  onCleanup(() => runner.stop(0));
  const job = await submit();
  await runner.start();
  const rescued: string[] = [];
  const done = await until('the job to complete', async () => {
    // A rescuer in another process (its own connections) with a 2 s window.
    const r = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 2000 });
    for (const j of r.rescued) rescued.push(j.id);
    const current = await getJob(stack.sql, { jobId: job.id });
    return current?.status === 'completed' || current?.status === 'failed' || (current?.status === 'pending' && current.attempts > 0) ? current : null;
  });
  await runner.stop(0);
  assert.deepEqual(rescued, [], 'the live job was never rescued');
  assert.equal(done.status, 'completed');
  assert.equal(done.attempts, 1);
});

test("a stale attempt's index write is refused; the next attempt's stands", async () => {
  const index = new PostgresSearchIndex(stack.sql, stack.logger, { dimension: 4 });
  await index.init();
  const url = 'https://fence.example/page';
  const gates = new Map<number, () => void>();
  const outcomes = new Map<number, string>();
  let calls = 0;
  // Ignores its signal on purpose: a stale attempt that has not noticed yet.
  const pipeline: Pipeline = async (_input, ctx) => {
    const call = ++calls;
    await new Promise<void>((resolve) => gates.set(call, resolve));
    const chunk: IndexedChunk = { id: `fence-0`, jobId: ctx.jobId, url, title: `call ${call}`, headingPath: [], content: `written by call ${call}`, category: '', position: 0, embedding: new Float32Array([1, 0, 0, call]) };
    try {
      await index.replacePage(stack.apiKeyId, url, [chunk], ctx.fence);
      outcomes.set(call, 'written');
    } catch (err) {
      outcomes.set(call, err instanceof AttemptOverError ? 'refused' : `error: ${(err as Error).message}`);
    }
    return { call };
  };
  const job = await submit();
  const runner = await stack.startWorker({ pipeline, config: testConfig({ WORKER_CONCURRENCY: '2' }) });
  onCleanup(() => runner.stop(0));
  await until('attempt 1 to start', async () => gates.has(1));
  // Its worker looks dead: the rescuer hands the job to attempt 2.
  await stack.sql`update jobs set heartbeat_at = now() - interval '5 minutes' where id = ${job.id}`;
  const { rescued } = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 60_000 });
  assert.ok(rescued.some((j) => j.id === job.id));
  await until('attempt 2 to start', async () => gates.has(2));
  gates.get(2)!();
  await until('attempt 2 to write', async () => outcomes.has(2));
  gates.get(1)!();
  await until('attempt 1 to try', async () => outcomes.has(1));
  assert.equal(outcomes.get(2), 'written');
  assert.equal(outcomes.get(1), 'refused');
  const rows = await stack.sql`select content from chunks where api_key_id = ${stack.apiKeyId} and url = ${url}`;
  assert.deepEqual(rows.map((r) => r.content), ['written by call 2']);
  const done = await stack.waitForStatus(job.id, ['completed']);
  assert.equal(done.attempts, 2);
});
