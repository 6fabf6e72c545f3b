// Claiming ahead (worker/claimLoop.ts, options.ahead): while entries run in
// less time than a claim's round trip, a claim takes more than the free slots
// and holds the rest, so the slots do not wait on the database. A held entry
// that finds no slot in time, or is held when the worker stops, is handed back
// unstarted; no job is lost or run twice, and every state change keeps its event.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createJob, getJob, listJobEvents } from '../../core/jobs/index.js';
import { ClaimLoop } from '../../worker/claimLoop.js';
import type { Pipeline } from '../../worker/pipeline/types.js';
import { JobRunner } from '../../worker/runner.js';
import { runnerOptions } from '../../worker/worker.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startStack, type Stack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `check` holds; the deadline only turns a broken build into a failure instead of a hang. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(10)) assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
}

let stack: Stack;
before(async () => {
  stack = await startStack();
});

interface Entry {
  id: string;
}

/** A queue in memory whose claim takes `claimMs` (a round trip far longer than the handlers here), recording each claim's limit. */
function memoryQueue(ids: string[], claimMs: number) {
  const waiting: Entry[] = ids.map((id) => ({ id }));
  const limits: number[] = [];
  return {
    waiting,
    limits,
    claim: async (limit: number) => {
      limits.push(limit);
      await sleep(claimMs);
      const entries = waiting.splice(0, limit);
      return { entries, seen: entries.length };
    },
  };
}

test('short entries are claimed ahead: a claim takes more than the free slots, and each entry runs once, in order', async () => {
  const ids = Array.from({ length: 200 }, (_, i) => `e${i}`);
  const q = memoryQueue(ids, 20);
  const handled: string[] = [];
  const handedBack: string[] = [];
  const loop = new ClaimLoop<object, Entry>(
    stack.sql,
    stack.boss,
    stack.logger,
    {
      queue: 'test',
      channel: 'claim_ahead_test_1',
      concurrency: 2,
      pollIntervalMs: 50,
      claim: q.claim,
      ahead: { max: 8, ttlMs: 60_000, handBack: async (e) => void handedBack.push(e.id) },
    },
    async (entry, release) => {
      handled.push(entry.id);
      release();
    },
  );
  await loop.start();
  onCleanup(() => loop.stop());
  await eventually(() => handled.length === ids.length, 'every entry to run');
  await loop.stop();
  await loop.drain();
  assert.deepEqual(handled, ids, 'each entry ran once, in the order claimed');
  assert.deepEqual(handedBack, [], 'nothing was handed back');
  assert.ok(Math.max(...q.limits) > 2, `claims took more than the 2 slots (limits: ${q.limits.join(',')})`);
});

test('entries held ahead that find no slot in time are handed back unstarted, then run once when claimed again', async () => {
  const ids = [...Array.from({ length: 20 }, (_, i) => `short${i}`), 'long', ...Array.from({ length: 10 }, (_, i) => `after${i}`)];
  const q = memoryQueue(ids, 20);
  const handled: string[] = [];
  const handedBack: { id: string; reason: string }[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const loop = new ClaimLoop<object, Entry>(
    stack.sql,
    stack.boss,
    stack.logger,
    {
      queue: 'test',
      channel: 'claim_ahead_test_2',
      concurrency: 1,
      pollIntervalMs: 50,
      claim: q.claim,
      // Handed back to the front of the queue, as a released job keeps its place in line.
      ahead: { max: 4, ttlMs: 200, handBack: async (e, reason) => void (handedBack.push({ id: e.id, reason }), q.waiting.unshift(e)) },
    },
    async (entry, release) => {
      handled.push(entry.id);
      if (entry.id === 'long') await gate;
      release();
    },
  );
  await loop.start();
  onCleanup(() => (openGate(), loop.stop()));
  await eventually(() => handedBack.length > 0, 'an entry held behind the long one to be handed back');
  assert.equal(handled.at(-1), 'long', 'nothing started while the long entry held the only slot');
  for (const h of handedBack) {
    assert.match(h.id, /^after\d$/);
    assert.match(h.reason, /not started in time/);
  }
  openGate();
  await eventually(() => handled.length === ids.length, 'every entry to run');
  await loop.stop();
  await loop.drain();
  assert.deepEqual(handled, ids, 'each entry ran once: the handed-back ones after they were claimed again');
});

test('jobs claimed ahead are handed back as pending when the worker stops; another worker completes each of them once', async () => {
  const own = await startStack();
  // A claim round trip of ≥ 30 ms per job claimed, so instant jobs are far shorter than a claim and the runner claims ahead.
  await own.sql.unsafe(`
    create function slow_claim() returns trigger language plpgsql as $$ begin perform pg_sleep(0.03); return new; end $$;
    create trigger slow_claim before update on jobs for each row when (new.status = 'processing' and old.status = 'pending') execute function slow_claim();`);
  const submit = async (url: string) =>
    (await createJob(own.sql, { apiKeyId: own.apiKeyId, input: { url }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 })).job.id;
  const calls = new Map<string, number>();
  let slowStarted = false;
  const pipeline: Pipeline = async (input, ctx) => {
    calls.set(ctx.jobId, (calls.get(ctx.jobId) ?? 0) + 1);
    // Slow on its first run only: it holds the first worker's slot until that worker stops.
    if (input.url.endsWith('/slow') && calls.get(ctx.jobId) === 1) {
      slowStarted = true;
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    return { ok: true };
  };
  const runner = new JobRunner(own.sql, own.boss, own.logger, pipeline, { ...runnerOptions(own.config), concurrency: 1, heartbeatIntervalMs: 60_000, workerId: 'ahead-a' });
  await runner.start();
  onCleanup(() => runner.stop(0));
  // Short jobs first, so the runner has measured them as far shorter than a claim.
  const warm = [];
  for (let i = 0; i < 8; i++) warm.push(await submit(`http://example.test/warm${i}`));
  for (const id of warm) assert.equal((await own.waitForStatus(id, ['completed'], 60_000)).status, 'completed');
  const slow = await submit('http://example.test/slow');
  const behind: string[] = [];
  for (let i = 0; i < 6; i++) behind.push(await submit(`http://example.test/behind${i}`));
  // A job behind the slow one that was ever claimed was claimed ahead (the slot was taken); its event stays after a hand-back, so no window is missed.
  const claimedBehind = async () =>
    Number((await own.sql`select count(*)::int as n from job_events where job_id in ${own.sql(behind)} and to_status = 'processing'`)[0]!.n);
  await eventually(async () => slowStarted && (await claimedBehind()) > 0, 'jobs to be claimed ahead while the slow one holds the only slot');
  await runner.stop(0);

  const held = [];
  for (const id of [slow, ...behind]) {
    const job = (await getJob(own.sql, { jobId: id }))!;
    assert.equal(job.status, 'pending', `${job.input.url} is pending again`);
    const events = await listJobEvents(own.sql, id);
    if (events.length > 1) {
      assert.deepEqual(events.map((e) => e.toStatus), ['pending', 'processing', 'pending'], `${job.input.url}: claimed, then given back`);
      assert.equal(job.maxAttempts, 4, `${job.input.url}: its attempt is not charged`);
      if (id !== slow) held.push(id);
    }
  }
  assert.ok(held.length > 0, 'some jobs were held ahead and handed back');
  for (const id of held) {
    assert.equal(calls.get(id), undefined, 'a handed-back job never ran');
    const reason = String((await listJobEvents(own.sql, id)).at(-1)!.detail?.reason);
    assert.match(reason, /worker shutdown|not started in time/);
  }

  const second = new JobRunner(own.sql, own.boss, own.logger, pipeline, { ...runnerOptions(own.config), workerId: 'ahead-b' });
  await second.start();
  onCleanup(() => second.stop(0));
  for (const id of [slow, ...behind]) {
    const job = await own.waitForStatus(id, ['completed'], 60_000);
    const events = await listJobEvents(own.sql, id);
    assert.equal(events.filter((e) => e.toStatus === 'completed').length, 1, `${job.input.url} completed once`);
  }
  for (const id of behind) assert.equal(calls.get(id), 1, 'each job behind the slow one ran exactly once');
  await second.stop(0);
});
