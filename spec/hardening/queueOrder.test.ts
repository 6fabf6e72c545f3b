// Claim order (issue 13, items 18 and 23): tenants take turns, so one API
// key's backlog cannot starve another key's job; a rescued, released or
// retried job keeps its place in line (its first creation), a retry only once
// its backoff is over; and the claim's work is bounded by an index, not by
// the backlog.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { claimNextJobs, createJob, failAttempt, releaseJob, rescueAbandonedJobs, type Job } from '../../core/jobs/index.js';
import { claimableEntries, EXTRACT_QUEUE } from '../../core/queue/index.js';
import { testConfig } from '../helpers/config.js';
import { startStack, type Stack } from '../helpers/stack.js';

const submit = async (stack: Stack, apiKeyId: string, n: number, tag: string): Promise<Job[]> => {
  const jobs: Job[] = [];
  // One at a time: each job its own creation time, so "first created" is well defined.
  for (let i = 0; i < n; i++) {
    const { job } = await createJob(stack.sql, {
      apiKeyId,
      input: { url: `https://example.com/${tag}/${i}` },
      callbackUrl: null,
      idempotencyKey: `${tag}-${i}`,
      requestHash: null,
      maxAttempts: 5,
    });
    jobs.push(job);
  }
  return jobs;
};

const newKey = async (stack: Stack, name: string) => (await createApiKey(stack.sql, name)).apiKey.id;

test("one key's backlog does not starve another key's job: a worker of concurrency 2 claims B's job within a batch", async () => {
  const stack = await startStack();
  const a = await newKey(stack, 'tenant-a');
  const b = await newKey(stack, 'tenant-b');
  await submit(stack, a, 300, 'a');

  let started = 0;
  let bSubmitted!: () => void;
  const bIn = new Promise<void>((r) => (bSubmitted = r));
  const runner = await stack.startWorker({
    config: testConfig({ WORKER_CONCURRENCY: '2' }),
    pipeline: async () => {
      // B submits once the worker is well into A's backlog; A's jobs wait for it so the backlog stays.
      if (++started === 10) {
        const [jobB] = await submit(stack, b, 1, 'b');
        assert.ok(jobB);
        bSubmitted();
      }
      if (started > 10) await bIn;
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true };
    },
  });
  await bIn;
  const [jobB] = await stack.sql`select id from jobs where api_key_id = ${b}`;
  await stack.waitForStatus(String(jobB!.id), ['completed'], 30_000);
  await runner.stop(0);

  // Claims in order (job_events ids): how many of A's jobs were claimed after B's job existed and before it was claimed.
  const [created] = await stack.sql`select id from job_events where job_id = ${jobB!.id} and to_status = 'pending'`;
  const [claimedB] = await stack.sql`select id from job_events where job_id = ${jobB!.id} and to_status = 'processing'`;
  const [between] = await stack.sql`
    select count(*)::int as n from job_events e join jobs j on j.id = e.job_id
    where j.api_key_id = ${a} and e.to_status = 'processing' and e.id > ${created!.id} and e.id < ${claimedB!.id}`;
  // At most the claim already in flight when B arrived (2) and A's turn in the next one (1).
  assert.ok(between!.n <= 3, `${between!.n} of A's jobs were claimed between B's submission and B's claim`);
  const [pendingA] = await stack.sql`select count(*)::int as n from jobs where api_key_id = ${a} and status = 'pending'`;
  assert.ok(pendingA!.n > 200, `A still had a backlog (${pendingA!.n} pending at the end)`);
});

test('tenants take turns: with more tenants than free slots, every tenant is served within ceil(tenants / slots) claims, each in creation order', async () => {
  const stack = await startStack();
  const keys: string[] = [];
  for (let i = 0; i < 5; i++) keys.push(await newKey(stack, `t${i}`));
  const created = new Map<string, string[]>();
  for (const k of keys) created.set(k, (await submit(stack, k, 20, k)).map((j) => j.id));

  let after = '';
  const order: Job[] = [];
  const firstRound = new Set<string>();
  for (let round = 0; round < 3; round++) {
    const { claimed, seen, cursor } = await claimNextJobs(stack.sql, { workerId: 'w', limit: 2, after });
    assert.equal(claimed.length, 2);
    assert.equal(seen, 2);
    after = cursor;
    for (const c of claimed) {
      order.push(c.job);
      firstRound.add(c.job.apiKeyId);
    }
  }
  assert.deepEqual([...firstRound].sort(), [...keys].sort(), 'each of the 5 tenants got a job within 3 claims of 2');

  // Keep claiming: every tenant's jobs come in the order they were created, and tenants alternate.
  for (;;) {
    const { claimed, cursor } = await claimNextJobs(stack.sql, { workerId: 'w', limit: 2, after });
    if (claimed.length === 0) break;
    after = cursor;
    order.push(...claimed.map((c) => c.job));
  }
  assert.equal(order.length, 100);
  for (const k of keys) assert.deepEqual(order.filter((j) => j.apiKeyId === k).map((j) => j.id), created.get(k));
  // In any 10 consecutive claims (2 rounds of 5 tenants), no tenant has more than 2 more than its share.
  for (let i = 0; i + 10 <= order.length; i++) {
    const window = order.slice(i, i + 10);
    for (const k of keys) assert.ok(window.filter((j) => j.apiKeyId === k).length <= 4, `claims ${i}…${i + 9} favour ${k}`);
  }
});

test('a rescued or released job keeps its place: it is claimed before the jobs created after it', async () => {
  const stack = await startStack();
  const a = await newKey(stack, 'tenant-a');
  const [x] = await submit(stack, a, 1, 'x');
  const first = await claimNextJobs(stack.sql, { workerId: 'w1', limit: 1 });
  assert.deepEqual(first.claimed.map((c) => c.job.id), [x!.id]);
  await submit(stack, a, 30, 'later');

  // The worker went silent: rescued back to pending with a new entry.
  await stack.sql`update jobs set heartbeat_at = now() - interval '1 hour' where id = ${x!.id}`;
  const { rescued } = await rescueAbandonedJobs(stack.sql, stack.boss, { rescueAfterMs: 60_000 });
  assert.deepEqual(rescued.map((j) => j.id), [x!.id]);
  const second = await claimNextJobs(stack.sql, { workerId: 'w2', limit: 1 });
  assert.deepEqual(second.claimed.map((c) => c.job.id), [x!.id], 'the rescued job is claimed first, not after the 30 later ones');

  // Handed back at shutdown: again first in line.
  const held = second.claimed[0]!;
  await releaseJob(stack.sql, stack.logger, { jobId: x!.id, attempt: held.job.attempts, workerId: 'w2', queueJobId: held.entryId, reason: 'worker shutdown' });
  const third = await claimNextJobs(stack.sql, { workerId: 'w3', limit: 1 });
  assert.deepEqual(third.claimed.map((c) => c.job.id), [x!.id]);
});

test('a retry is not claimable during its backoff; once due it sorts by its first creation', async () => {
  const stack = await startStack();
  const a = await newKey(stack, 'tenant-a');
  const [x] = await submit(stack, a, 1, 'x');
  const [c] = (await claimNextJobs(stack.sql, { workerId: 'w1', limit: 1 })).claimed;
  assert.equal(c?.job.id, x!.id);
  const later = await submit(stack, a, 20, 'later');
  const retried = await failAttempt(stack.sql, stack.boss, stack.logger, {
    jobId: x!.id,
    attempt: 1,
    workerId: 'w1',
    queueJobId: c!.entryId,
    error: { code: 'timeout', message: 'slow' },
    retryable: true,
    retryDelayMs: 60_000,
  });
  assert.equal(retried?.status, 'pending');

  // During the backoff: the later jobs are claimed, the retry is not.
  const during = await claimNextJobs(stack.sql, { workerId: 'w2', limit: 5 });
  assert.deepEqual(during.claimed.map((j) => j.job.id), later.slice(0, 5).map((j) => j.id));

  // The backoff ends (its due time moved to the past, as if a minute went by).
  await stack.sql`update pgboss.job set start_after = now() - interval '1 second' where name = ${EXTRACT_QUEUE} and id = ${retried!.queueJobId}`;
  // The claim that finds it due makes it claimable (and says so: seen counts it) …
  const promoting = await claimNextJobs(stack.sql, { workerId: 'w3', limit: 1 });
  assert.equal(promoting.seen, 2, 'one entry picked and one retry made claimable');
  assert.deepEqual(promoting.claimed.map((j) => j.job.id), [later[5]!.id]);
  // … and the next claim takes it ahead of the 14 later jobs still waiting.
  const next = await claimNextJobs(stack.sql, { workerId: 'w3', limit: 3 });
  assert.deepEqual(next.claimed.map((j) => j.job.id), [x!.id, later[6]!.id, later[7]!.id]);
  assert.equal(next.claimed[0]!.job.attempts, 2);
});

test("the claim's work is bounded by its index: the same buffers with a backlog of 50 or 2,000 entries, retries in backoff included", async () => {
  const stack = await startStack();
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) keys.push(await newKey(stack, `t${i}`));

  /** Shared buffers the claim's selection touches (EXPLAIN ANALYZE, BUFFERS), and whether any step read the table or index in full. */
  const measure = async () => {
    const [row] = await stack.sql`explain (analyze, buffers, format json) with recursive ${claimableEntries(stack.sql, 4, '')} select id from next`;
    const plan = (row!['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan;
    const nodes: Record<string, unknown>[] = [];
    const walk = (n: Record<string, unknown>) => {
      nodes.push(n);
      for (const child of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk(plan);
    if (process.env.SHOW_PLAN) console.log(JSON.stringify(plan, null, 1));
    return {
      buffers: Number(plan['Shared Hit Blocks'] ?? 0) + Number(plan['Shared Read Blocks'] ?? 0),
      seqScans: nodes.filter((n) => n['Node Type'] === 'Seq Scan').length,
      maxRows: Math.max(...nodes.filter((n) => String(n['Node Type']).includes('Scan') && n['Relation Name']).map((n) => Number(n['Actual Rows']) * Number(n['Actual Loops'] ?? 1))),
    };
  };
  const addBacklog = async (n: number) => {
    // Entries as the create statement writes them, in bulk; a tenth in backoff (state retry, due in an hour).
    await stack.sql`
      insert into pgboss.job (id, name, data, state, start_after, created_on)
      select gen_random_uuid(), ${EXTRACT_QUEUE}, jsonb_build_object('jobId', 'job_none_' || i, 'apiKeyId', (${keys}::text[])[1 + i % 3]),
             case when i % 10 = 0 then 'retry' else 'created' end::pgboss.job_state,
             case when i % 10 = 0 then now() + interval '1 hour' else now() end, now() - (i * interval '1 ms')
      from generate_series(1, ${n}) i`;
    await stack.sql`analyze pgboss.job`;
  };

  await addBacklog(50);
  const small = await measure();
  await addBacklog(1950);
  const large = await measure();
  assert.equal(large.seqScans, 0, 'no sequential scan');
  assert.ok(large.maxRows <= 8, `no scan step returned more than a few rows (${large.maxRows})`);
  // Index depth may grow by a level between 50 and 2,000 entries: a few blocks, not 40× as many.
  assert.ok(large.buffers <= small.buffers * 2 + 10, `buffers: ${small.buffers} with 50 entries, ${large.buffers} with 2,000`);
});
