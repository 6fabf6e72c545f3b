// The reaper's cron registration and the rescuer's timer as production runs
// them: a real worker process at the default STALE_AFTER (10 min), RESCUE_AFTER
// (60 s) and HEARTBEAT_INTERVAL (15 s), with pg-boss supervision and cron on.
// The in-process stacks of the other files run with supervision off and call
// reapOnce / rescueOnce directly, so only this file proves the schedules fire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimNextJobs, createJob, getJob, listJobEvents } from '../../core/jobs/index.js';
import { REAPER_QUEUE } from '../../core/queue/index.js';
import { REAPER_CRON } from '../../worker/maintenance/reaper.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { spawnScript } from '../helpers/processes.js';
import { startStack } from '../helpers/stack.js';

test('a worker at the default settings reaps a 10-minute job from its cron tick and rescues a silent one from its timer', { timeout: 240_000 }, async (t) => {
  const site = await startHttpServer(fixtureSite({ '/page': articlePage('Rescued', 'A page fetched again after its first worker went silent.') }));
  const stack = await startStack();

  // Two jobs held by workers that are not there: both claimed by "w-gone".
  const held = async (path: string) => {
    const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url: `${site.url}${path}` }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
    const { claimed } = await claimNextJobs(stack.sql, { workerId: 'w-gone', limit: 10 });
    assert.ok(claimed.some((c) => c.job.id === job.id), 'the new job is claimed through its queue entry');
    return job.id;
  };
  // Hung but alive: running for 11 minutes and still heartbeating (kept fresh below), so only the reaper may take it.
  const hung = await held('/page?hung');
  await stack.sql`update jobs set started_at = now() - interval '11 minutes' where id = ${hung}`;
  // Silent: no heartbeat for 2 minutes, started 2 minutes ago; the rescuer's business, not the reaper's.
  const silent = await held('/page');
  await stack.sql`update jobs set started_at = now() - interval '2 minutes', heartbeat_at = now() - interval '2 minutes' where id = ${silent}`;
  const heartbeats = setInterval(() => void stack.sql`update jobs set heartbeat_at = now() where id = ${hung} and status = 'processing'`.catch(() => {}), 5000);
  t.after(() => clearInterval(heartbeats));

  // Only what the worker needs to reach the fixture site; every timing setting at its default.
  const started = Date.now();
  const worker = spawnScript('worker/main.ts', [], { DATABASE_URL: stack.url, ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'info' });
  await worker.waitForLog((l) => l.message === 'worker started', 60_000, "'worker started'");

  // Registered during start-up (possibly just after the runner's 'worker started' line).
  let schedule: { cron: string } | undefined;
  for (const deadline = Date.now() + 30_000; !schedule && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    schedule = (await stack.sql`select cron from pgboss.schedule where name = ${REAPER_QUEUE}`)[0] as { cron: string } | undefined;
  }
  assert.equal(schedule?.cron, REAPER_CRON, 'the worker registered the reaper with pg-boss cron');
  assert.equal(REAPER_CRON, '* * * * *', 'every minute, as the README says');

  // Rescue: the timer runs every RESCUE_AFTER / 4 = 15 s; the job goes back to pending and this worker completes it.
  const rescued = await stack.waitForStatus(silent, ['completed', 'failed'], 90_000);
  assert.equal(rescued.status, 'completed', JSON.stringify(rescued.error));
  const silentEvents = await listJobEvents(stack.sql, silent);
  assert.deepEqual(silentEvents.map((e) => e.toStatus), ['pending', 'processing', 'pending', 'processing', 'completed']);
  assert.equal((silentEvents[2]!.detail as { reason?: string }).reason, 'rescued');
  await worker.waitForLog((l) => l.message === 'job rescued from a silent worker' && l.jobId === silent, 30_000, 'the rescue log line');
  t.diagnostic(`silent job rescued and completed ${((Date.now() - started) / 1000).toFixed(1)} s after the worker was spawned`);

  // Reap: pg-boss's cron puts a tick on the queue each minute; the worker's handler fails the job as stale.
  const reaped = await stack.waitForStatus(hung, ['failed'], 180_000);
  assert.equal(reaped.error?.code, 'stale');
  const last = (await listJobEvents(stack.sql, hung)).at(-1)!;
  assert.deepEqual([last.fromStatus, last.toStatus], ['processing', 'failed']);
  assert.deepEqual(last.detail, { reason: 'stale', staleAfterMs: 600_000 });
  // The log line follows the reaper's commit, so it may arrive just after the status is seen.
  await worker.waitForLog((l) => l.message === 'job reaped as stale' && l.jobId === hung, 30_000, 'the worker process reaping the job (not this test)');
  t.diagnostic(`hung job reaped ${((Date.now() - started) / 1000).toFixed(1)} s after the worker was spawned`);
  assert.equal((await getJob(stack.sql, { jobId: silent }))?.status, 'completed');

  const exit = await worker.stop('SIGTERM');
  assert.equal(exit.code, 0, worker.stderr());
});
