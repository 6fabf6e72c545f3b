// Completions that share a statement cannot poison each other; a failure to
// record an outcome is not the pipeline's failure; no completion is stranded;
// results are capped in size (issue 13, items 1, 2 and 9).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { claimNextJobs, CompletionBatcher, createJob, getJob, listJobEvents, type ClaimedJob, type Completion } from '../../core/jobs/index.js';
import { capResult, TRUNCATION_MARK } from '../../core/jobs/resultCap.js';
import { wellFormedJson } from '../../core/platform/jsonb.js';
import { metrics } from '../../core/platform/metrics.js';
import { firstSentence } from '../../worker/pipeline/knowledge.js';
import type { Pipeline } from '../../worker/pipeline/types.js';
import { startStack, type Stack } from '../helpers/stack.js';

const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

async function newJobs(stack: Stack, urls: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const url of urls) {
    const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
    ids.push(job.id);
  }
  return ids;
}

/** A pipeline whose calls all return together once `n` have started, so their completions share a statement. */
function togetherPipeline(n: number, result: (url: string) => unknown): Pipeline {
  const waiting: (() => void)[] = [];
  return async (input) => {
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === n) for (const go of waiting.splice(0)) go();
    });
    return result(input.url);
  };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const poisoned = () => ({
  knowledgeItems: [{ title: 'half a pair \uD83D here', description: 'a\u0000b', content: 'end \uDE00', category: 'docs', source: 'x' }],
  ['key\uD800\u0000']: 'v',
});

test('1 poisoned and 3 valid results finishing together: all 4 complete once, the poisoned one with cleaned text', async () => {
  const stack = await startStack();
  const urls = ['http://example.test/poison', 'http://example.test/a', 'http://example.test/b', 'http://example.test/c'];
  const ids = await newJobs(stack, urls);
  await stack.startWorker({ pipeline: togetherPipeline(4, (url) => (url.endsWith('/poison') ? poisoned() : { knowledgeItems: [{ title: url }] })) });
  for (const id of ids) {
    const job = await stack.waitForStatus(id, ['completed', 'failed'], 30_000);
    assert.equal(job.status, 'completed', `${job.input.url} completed`);
    assert.equal(job.attempts, 1, `${job.input.url} ran once`);
    const events = await listJobEvents(stack.sql, id);
    assert.deepEqual(
      events.map((e) => e.toStatus),
      ['pending', 'processing', 'completed'],
      `${job.input.url}: one completion, no retry`,
    );
  }
  const job = await getJob(stack.sql, { jobId: ids[0]! });
  assert.deepEqual(job!.result, {
    knowledgeItems: [{ title: 'half a pair \uFFFD here', description: 'ab', content: 'end \uFFFD', category: 'docs', source: 'x' }],
    'key\uFFFD': 'v',
  });
});

test('a batch the database refuses is written item by item: only the refused item fails, and it is left for the rescuer, not failed as a pipeline error', async () => {
  const stack = await startStack();
  // The database refuses one job's completion (a data exception), whatever its result.
  await stack.sql.unsafe(`
    create function refuse_completion() returns trigger language plpgsql as $$
    begin raise exception 'refused for the test' using errcode = 'data_exception'; end $$;
    create trigger refuse_completion before update on jobs for each row
      when (new.status = 'completed' and new.input->>'url' like '%/refused') execute function refuse_completion();`);
  const unrecordedBefore = await unrecorded();
  const urls = ['http://example.test/refused', 'http://example.test/a', 'http://example.test/b', 'http://example.test/c'];
  const ids = await newJobs(stack, urls);
  let calls = 0;
  const together = togetherPipeline(4, (url) => ({ knowledgeItems: [{ title: url }] }));
  await stack.startWorker({ pipeline: (input, ctx) => (calls++, together(input, ctx)) });
  for (const id of ids.slice(1)) {
    const job = await stack.waitForStatus(id, ['completed', 'failed'], 30_000);
    assert.equal(job.status, 'completed');
    assert.deepEqual((await listJobEvents(stack.sql, id)).map((e) => e.toStatus), ['pending', 'processing', 'completed']);
  }
  // The refused one: no failure recorded, no retry scheduled; still this attempt's, for the rescuer to hand on.
  await waitUntil('the outcome to be given up as unrecorded', async () => ((await unrecorded()) > unrecordedBefore ? true : undefined));
  const refused = await getJob(stack.sql, { jobId: ids[0]! });
  assert.equal(refused!.status, 'processing');
  assert.equal(refused!.attempts, 1);
  assert.equal(refused!.error, null, 'no pipeline error recorded');
  assert.deepEqual((await listJobEvents(stack.sql, ids[0]!)).map((e) => e.toStatus), ['pending', 'processing']);
  assert.equal(calls, 4, 'no job ran twice');
});

async function unrecorded(): Promise<number> {
  const { values } = await metrics.jobsFinished.get();
  return values.find((v) => v.labels.outcome === 'unrecorded')?.value ?? 0;
}

async function claimAll(stack: Stack, n: number): Promise<ClaimedJob[]> {
  await newJobs(stack, Array.from({ length: n }, (_, i) => `http://example.test/${i}`));
  const { claimed } = await claimNextJobs(stack.sql, { workerId: 'w1', limit: n });
  assert.equal(claimed.length, n);
  return claimed;
}
const completion = (c: ClaimedJob, result: unknown = { ok: true }): Completion => ({ jobId: c.job.id, attempt: c.job.attempts, workerId: 'w1', queueJobId: c.entryId, result });

test('CompletionBatcher: one malformed item among valid ones fails alone', async () => {
  const stack = await startStack();
  const claimed = await claimAll(stack, 4);
  const batcher = new CompletionBatcher(stack.sql, stack.logger);
  // Not a uuid: the statement fails with a data exception (22P02).
  const outcomes = await Promise.allSettled(claimed.map((c, i) => batcher.complete(i === 2 ? { ...completion(c), queueJobId: 'not-a-uuid' } : completion(c))));
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : null)),
    [true, true, null, true],
  );
  for (const [i, c] of claimed.entries()) assert.equal((await getJob(stack.sql, { jobId: c.job.id }))!.status, i === 2 ? 'processing' : 'completed');
  // Completing is idempotent per attempt: the same completion again (its first answer lost) reports completed, writes nothing.
  assert.equal(await batcher.complete(completion(claimed[0]!)), true);
  assert.equal((await listJobEvents(stack.sql, claimed[0]!.job.id)).filter((e) => e.toStatus === 'completed').length, 1);
});

test('CompletionBatcher: a result JSON cannot hold fails its own caller, not the batch it would have joined', async () => {
  const stack = await startStack();
  const claimed = await claimAll(stack, 3);
  const batcher = new CompletionBatcher(stack.sql, stack.logger);
  const outcomes = await Promise.allSettled(claimed.map((c, i) => batcher.complete(completion(c, i === 1 ? { n: 1n } : { ok: true }))));
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  for (const [i, c] of claimed.entries()) assert.equal((await getJob(stack.sql, { jobId: c.job.id }))!.status, i === 1 ? 'processing' : 'completed');
});

test('CompletionBatcher: a completion arriving in the microtask gap after a flush is not stranded', async () => {
  const stack = await startStack();
  const [a, c] = await claimAll(stack, 2);
  const batcher = new CompletionBatcher(stack.sql, stack.logger);
  const second = new Promise<boolean>((resolve, reject) => {
    void batcher.complete(completion(a!)).then(() => queueMicrotask(() => void batcher.complete(completion(c!)).then(resolve, reject)));
  });
  // Far longer than a completion takes; a stranded one never resolves at all.
  const outcome = await Promise.race([second, sleep(20_000).then(() => 'stranded' as const)]);
  assert.equal(outcome, true);
  assert.equal((await getJob(stack.sql, { jobId: c!.job.id }))!.status, 'completed');
});

test('firstSentence never ends in half a surrogate pair', () => {
  const text = `${'a'.repeat(299)}😀 and more text without a full stop`;
  const s = firstSentence(text);
  assert.ok(isWellFormed(s), JSON.stringify(s.slice(-3)));
  assert.equal(s, 'a'.repeat(299));
  const short = firstSentence(`Émoji 😀 sentence ${'😀'.repeat(200)}. Next.`);
  assert.ok(isWellFormed(short));
});

test('wellFormedJson cleans keys and values at any depth and copies nothing when nothing needs it', () => {
  const clean = { a: [{ b: 'ok' }], n: 1, d: null };
  assert.equal(wellFormedJson(clean), clean);
  assert.deepEqual(wellFormedJson({ a: [1, { '\u0000k\uDFFF': ['x\uD800'] }], b: 'y' }), { a: [1, { 'k\uFFFD': ['x\uFFFD'] }], b: 'y' });
  // A key named __proto__ stays a key (it is not assigned as the prototype).
  assert.equal(JSON.stringify(wellFormedJson(JSON.parse('{"__proto__": "x\\ud800"}'))), '{"__proto__":"x\uFFFD"}');
  const date = new Date(0);
  assert.deepEqual(wellFormedJson({ at: date }), { at: '1970-01-01T00:00:00.000Z' });
});

test('capResult: over the cap, the longest strings are cut evenly at code point boundaries, short fields stay, truncated is set', () => {
  const item = (i: number) => ({ title: `Page ${i}`, source: `https://example.test/${i}`, content: `${'😀'.repeat(5000)}${'x'.repeat(20_000 + i * 1000)}` });
  const result = { knowledgeItems: Array.from({ length: 10 }, (_, i) => item(i)), pagesScraped: 10 };
  const max = 64 * 1024;
  const capped = capResult(result, max);
  assert.equal(capped.truncated, true);
  const stored = capped.result as { truncated: boolean; knowledgeItems: { title: string; source: string; content: string }[]; pagesScraped: number };
  assert.ok(Buffer.byteLength(JSON.stringify(stored)) <= max, `${Buffer.byteLength(JSON.stringify(stored))} bytes`);
  assert.ok(Buffer.byteLength(JSON.stringify(stored)) > max * 0.9, 'the cap is used, not wasted');
  assert.equal(stored.truncated, true);
  assert.equal(stored.pagesScraped, 10);
  assert.equal(stored.knowledgeItems.length, 10, 'every page is still there');
  for (const [i, it] of stored.knowledgeItems.entries()) {
    assert.equal(it.title, `Page ${i}`);
    assert.equal(it.source, `https://example.test/${i}`);
    assert.ok(it.content.endsWith(TRUNCATION_MARK));
    assert.ok(isWellFormed(it.content));
    assert.ok(item(i).content.startsWith(it.content.slice(0, -1)));
  }
  // Under the cap: the very same value.
  assert.equal(capResult(result, 10 * 1024 * 1024).result, result);
  // Many small items: strings cannot give enough, items are dropped from the end.
  const many = { rows: Array.from({ length: 20_000 }, (_, i) => ({ n: i })) };
  const dropped = capResult(many, max).result as { rows: { n: number }[]; truncated: boolean };
  assert.ok(Buffer.byteLength(JSON.stringify(dropped)) <= max);
  assert.equal(dropped.truncated, true);
  assert.ok(dropped.rows.length > 1000 && dropped.rows.length < 20_000);
  assert.deepEqual(dropped.rows.slice(0, 3), [{ n: 0 }, { n: 1 }, { n: 2 }]);
});

test('a job whose result is over RESULT_MAX_BYTES completes with the result shortened and marked', async () => {
  const stack = await startStack({ config: { RESULT_MAX_BYTES: String(64 * 1024) } });
  const [id] = await newJobs(stack, ['http://example.test/big']);
  const big = { knowledgeItems: Array.from({ length: 20 }, (_, i) => ({ title: `T${i}`, content: 'word '.repeat(20_000) })), pagesScraped: 20 };
  await stack.startWorker({ pipeline: async () => big });
  const job = await stack.waitForStatus(id!, ['completed', 'failed'], 30_000);
  assert.equal(job.status, 'completed');
  const result = job.result as typeof big & { truncated?: boolean };
  assert.equal(result.truncated, true);
  assert.equal(result.knowledgeItems.length, 20);
  assert.ok(Buffer.byteLength(JSON.stringify(result)) <= 64 * 1024);
  const res = await stack.request('GET', `/v1/jobs/${id}`);
  assert.equal(res.body.result.truncated, true);
});
