// The batch claim (one statement for every free slot): superseded queue
// entries, jobs locked by someone else and entries without a job.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimNextJobs } from '../core/jobs/index.js';
import { bossDb, EXTRACT_QUEUE } from '../core/queue/index.js';
import { startStack } from './helpers/stack.js';

test('a batch claim takes each due job once, through its current entry, and skips what it cannot have', async () => {
  const stack = await startStack();
  const { sql, boss } = stack;
  const submit = async () => (await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/' } })).body.jobId as string;

  // Superseded: job A gets a second queue entry; the old one must be completed, the job claimed once via the new one.
  const a = await submit();
  const [{ queue_job_id: oldEntry }] = (await sql`select queue_job_id from jobs where id = ${a}`) as unknown as [{ queue_job_id: string }];
  const newEntry = await boss.send(EXTRACT_QUEUE, { jobId: a }, { db: bossDb(sql) });
  await sql`update jobs set queue_job_id = ${newEntry} where id = ${a}`;
  // Locked: job B is held by another transaction during the claim.
  const b = await submit();
  // Missing: an entry whose job does not exist.
  const ghost = await boss.send(EXTRACT_QUEUE, { jobId: 'job_missing' }, { db: bossDb(sql) });

  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const locker = sql.begin(async (tx) => {
    await tx`select 1 from jobs where id = ${b} for update`;
    locked();
    await held;
  });
  await isLocked;

  const first = await claimNextJobs(sql, { workerId: 'w1', limit: 10 });
  assert.deepEqual(first.claimed.map((c) => [c.job.id, c.entryId, c.job.status, c.job.attempts]), [[a, newEntry, 'processing', 1]]);
  const states = Object.fromEntries((await sql`select id, state from pgboss.job where name = ${EXTRACT_QUEUE}`).map((s) => [s.id, s.state]));
  assert.equal(states[oldEntry], 'completed', 'the superseded entry is retired');
  assert.equal(states[newEntry as string], 'active');
  assert.equal(states[ghost as string], 'completed', 'an entry without a job is retired');
  const [{ queue_job_id: bEntry }] = (await sql`select queue_job_id from jobs where id = ${b}`) as unknown as [{ queue_job_id: string }];
  assert.equal(states[bEntry], 'created', 'the locked job’s entry waits for the next claim');

  release();
  await locker;
  const second = await claimNextJobs(sql, { workerId: 'w2', limit: 10 });
  assert.deepEqual(second.claimed.map((c) => c.job.id), [b]);
  assert.deepEqual((await claimNextJobs(sql, { workerId: 'w3', limit: 10 })).claimed, [], 'nothing is claimed twice');

  const events = await sql`select job_id, to_status, worker_id from job_events where to_status = 'processing' order by id`;
  assert.deepEqual(events.map((e) => [e.job_id, e.worker_id]), [[a, 'w1'], [b, 'w2']]);
});
