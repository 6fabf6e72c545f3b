// Maintenance passes are coordinated across workers (worker/maintenance/pass.ts),
// the orphan check reads a bounded slice of the backlog per pass
// (orphans.ts), and /metrics counts only live jobs exactly (core/platform/metrics.ts).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createJob, type BacklogCursor } from '../../core/jobs/index.js';
import { jobCounts } from '../../core/platform/metrics.js';
import { requeueOrphans } from '../../worker/maintenance/orphans.js';
import { startPeriodic, takePass } from '../../worker/maintenance/pass.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const submit = async () =>
  (await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url: 'https://example.com/' }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 })).job;

test('of five workers asking at once, one takes the pass; the next interval is free again', async () => {
  const takers = await Promise.all([1, 2, 3, 4, 5].map((w) => takePass(stack.sql, 'test-task', 60_000, `w${w}`)));
  assert.equal(takers.filter((t) => t !== null).length, 1);
  const taken = takers.find((t) => t !== null)!;
  assert.equal(taken.state, null);
  await taken.finish({ cursor: 42 });
  assert.equal(await takePass(stack.sql, 'test-task', 60_000, 'w1'), null, 'within the interval');
  const [row] = await stack.sql`select finished_at, state from maintenance_passes where task = 'test-task'`;
  assert.ok(row!.finished_at);
  assert.deepEqual(row!.state, { cursor: 42 });
  // Once the interval has gone by, the next taker gets the state the last pass left.
  await stack.sql`update maintenance_passes set started_at = started_at - interval '2 minutes' where task = 'test-task'`;
  const next = await takePass(stack.sql, 'test-task', 60_000, 'w3');
  assert.deepEqual(next?.state, { cursor: 42 });
});

test('three workers running a task every 300 ms never run a pass at the same time', async () => {
  let inPass = 0;
  let overlaps = 0;
  const byWorker = new Map<string, number>();
  const stops = ['a', 'b', 'c'].map((w) =>
    startPeriodic(stack.sql, stack.logger, w, {
      name: 'overlap-task',
      intervalMs: 300,
      async run() {
        if (++inPass > 1) overlaps++;
        byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
        await sleep(50);
        inPass--;
      },
    }),
  );
  while ([...byWorker.values()].reduce((a, b) => a + b, 0) < 6) await sleep(50);
  await Promise.all(stops.map((s) => s()));
  assert.equal(overlaps, 0);
});

test('the orphan check reads a bounded slice of the backlog per pass and carries its place', async () => {
  const jobs = [];
  for (let i = 0; i < 25; i++) jobs.push(await submit());
  // The 23rd job lost its queue entry a while ago.
  const orphan = jobs[22]!;
  await stack.sql`delete from pgboss.job where id = ${orphan.queueJobId}`;
  await stack.sql`update jobs set updated_at = now() - interval '5 minutes' where id = ${orphan.id}`;
  const found: string[][] = [];
  let after: BacklogCursor | null = null;
  let passes = 0;
  do {
    const r = await requeueOrphans(stack.sql, stack.logger, { orphanAfterMs: 60_000, after, scan: 10 });
    found.push(r.requeued);
    after = r.next;
    passes++;
  } while (after && passes < 10);
  // 25 pending jobs in slices of 10: the orphan is in the third slice, and the third slice ends the round.
  assert.deepEqual(found, [[], [], [orphan.id]]);
  const [row] = await stack.sql`select queue_job_id from jobs where id = ${orphan.id}`;
  assert.notEqual(row!.queue_job_id, orphan.queueJobId);
  assert.equal((await stack.sql`select state from pgboss.job where id = ${row!.queue_job_id}`)[0]!.state, 'created');
});

test('job counts: live statuses exactly, finished ones from statistics once the table is large', async () => {
  await stack.sql`update jobs set status = 'completed', completed_at = now() where id in (select id from jobs where status = 'pending' limit 5)`;
  await stack.sql`analyze jobs`;
  const exact = Object.fromEntries((await jobCounts(stack.sql)).map((r) => [r.status, r.n]));
  const fromStats = Object.fromEntries((await jobCounts(stack.sql, 1)).map((r) => [r.status, r.n]));
  assert.deepEqual(fromStats, exact, 'right after ANALYZE the estimate is the count');
  // More jobs finish: the live counts follow at once; the finished ones wait for the next ANALYZE (no scan of history).
  await stack.sql`update jobs set status = 'completed', completed_at = now() where id in (select id from jobs where status = 'pending' limit 3)`;
  const later = Object.fromEntries((await jobCounts(stack.sql, 1)).map((r) => [r.status, r.n]));
  assert.equal(later.pending, exact.pending! - 3);
  assert.equal(later.completed, exact.completed);
  assert.equal(Object.fromEntries((await jobCounts(stack.sql)).map((r) => [r.status, r.n])).completed, exact.completed! + 3);
});
