// A one-page job's fetch holds a shared host slot under its worker's id. When
// that worker is killed, the job rescuer frees the slot with the job, as the
// page-task rescuer does: otherwise the host stayed short of a slot for every
// job until the lease ran out (fetch timeout + 30 s; 48 s in the chaos
// worker-kill scenario).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { acquireHostSlot } from '../../core/crawlTasks/index.js';
import { claimNextJobs, createJob, rescueAbandonedJobs } from '../../core/jobs/index.js';
import { startStack } from '../helpers/stack.js';

test("rescuing a silent worker's job frees the host slots that worker held", async () => {
  const stack = await startStack();
  const apiKeyId = (await createApiKey(stack.sql, 'slots')).apiKey.id;
  const { job } = await createJob(stack.sql, { apiKeyId, input: { url: 'https://slots.test/a' }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  const claimed = await claimNextJobs(stack.sql, { workerId: 'dead-worker', limit: 1 });
  assert.deepEqual(claimed.claimed.map((c) => c.job.id), [job.id]);

  const slot = { host: 'slots.test', limits: { concurrency: 1, delayMs: 0, leaseMs: 600_000 } };
  assert.equal((await acquireHostSlot(stack.sql, { ...slot, holder: 'dead-worker' })).granted, true, "the job's worker holds the host's one slot");
  assert.equal((await acquireHostSlot(stack.sql, { ...slot, holder: 'live-worker' })).granted, false, 'another worker waits for it');

  // A worker that still heartbeats keeps its slots through a rescue pass.
  const { rescued: none } = await rescueAbandonedJobs(stack.sql, stack.boss, { rescueAfterMs: 60_000 });
  assert.deepEqual(none, [], 'nothing is silent yet');
  assert.equal((await acquireHostSlot(stack.sql, { ...slot, holder: 'live-worker' })).granted, false, 'a live worker keeps its slot');

  await stack.sql`update jobs set heartbeat_at = now() - interval '1 hour' where id = ${job.id}`;
  const { rescued } = await rescueAbandonedJobs(stack.sql, stack.boss, { rescueAfterMs: 60_000 });
  assert.deepEqual(rescued.map((j) => j.id), [job.id]);
  assert.equal((await acquireHostSlot(stack.sql, { ...slot, holder: 'live-worker' })).granted, true, 'the silent worker’s slot is free at once, not when its lease runs out');
});
