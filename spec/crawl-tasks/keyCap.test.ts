// The per-key cap on running page tasks (CRAWL_RUNNING_PAGES_PER_KEY): claimers
// on connections of their own, claiming at once, never give one key more
// running tasks than the cap over all its crawls, so another key's pages
// still find slots; the per-key count stays equal to the running rows through
// every move (outcome, retry, rescue, cancel, a deleted job).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { connect, type Sql } from '../../core/platform/db.js';
import { cancelCrawl, claimPageTasks, finishPageTask, rescueAbandonedPageTasks, type DiscoveredPage, type PageTask } from '../../core/crawlTasks/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { discoveredPages, openTestCrawl } from '../helpers/crawlTasks.js';
import { createTestDatabase } from '../helpers/database.js';

const db = await createTestDatabase();
const { sql } = db;

const pages = discoveredPages;

const crawl = (apiKeyId: string, seeds: DiscoveredPage[]) => openTestCrawl(sql, { apiKeyId, seeds, maxPages: 10_000 });

function pool(): Sql {
  const s = connect(db.url, 1, 'gleaner-test-worker');
  onCleanup(() => s.end({ timeout: 1 }));
  return s;
}

/** Running rows per key, and the kept count per key, read in one snapshot. */
async function runningByKey(): Promise<{ rows: Map<string, number>; kept: Map<string, number> }> {
  const [r] = await sql`
    select (select coalesce(json_object_agg(api_key_id, n), '{}') from (select api_key_id, count(*)::int as n from crawl_pages where state = 'running' group by 1) c) as rows,
           (select coalesce(json_object_agg(api_key_id, running), '{}') from crawl_key_load where running <> 0) as kept`;
  const map = (o: unknown) => new Map(Object.entries(o as Record<string, number>));
  return { rows: map(r!.rows), kept: map(r!.kept) };
}

async function closeAll(): Promise<void> {
  for (const { job_id } of await sql`select job_id from crawl_progress where closed_at is null`) await cancelCrawl(sql, job_id as string);
}

test('claimers at once never run more of one key’s tasks than its cap, over all its crawls; the other key gets its share', async () => {
  const big = (await createApiKey(sql, 'big')).apiKey.id;
  const small = (await createApiKey(sql, 'small')).apiKey.id;
  // The big key has two crawls of 100 pages each: the cap is over both.
  await crawl(big, pages(100, 'https://big-one.test/p'));
  await crawl(big, pages(100, 'https://big-two.test/p'));
  await crawl(small, pages(20, 'https://small.test/p'));
  const cap = 3;
  const claimers = Array.from({ length: 6 }, () => pool());
  await Promise.all(claimers.map((c) => c`select 1`)); // connected, so the claims overlap
  const held: PageTask[] = [];
  // Each claimer asks for 4 at a time until claims come back empty: 24 slots in all, none finishing.
  await Promise.all(
    claimers.map(async (c, i) => {
      let after = '';
      for (let empty = 0; empty < 5; ) {
        const { tasks, cursor } = await claimPageTasks(c, { workerId: `w${i}`, limit: 4, after, runningPerKey: cap });
        after = cursor;
        held.push(...tasks);
        if (tasks.length === 0) empty++;
      }
    }),
  );
  const count = (key: string) => held.filter((t) => t.apiKeyId === key).length;
  assert.equal(count(big), cap, 'the big key holds exactly its cap of slots, over its two crawls');
  assert.equal(count(small), cap, 'the small key got its pages claimed too');
  const { rows, kept } = await runningByKey();
  assert.deepEqual(rows, new Map([[big, cap], [small, cap]]));
  assert.deepEqual(kept, rows, 'the kept count equals the running rows');

  // Claiming and finishing at once: a snapshot never shows more than the cap for a key.
  let peak = 0;
  let working = true;
  const watcher = (async () => {
    while (working) {
      for (const n of (await runningByKey()).rows.values()) peak = Math.max(peak, n);
    }
  })();
  const finishOne = (c: Sql, t: PageTask, i: number) =>
    finishPageTask(c, {
      taskId: t.id,
      attempt: t.attempt,
      outcome: i % 7 === 0 ? { state: 'retry', error: { code: 'timeout', message: 'slow' }, delayMs: 0 } : { state: 'done', chunks: 1 },
    });
  const claimed = { big: 0, small: 0 };
  await Promise.all(held.splice(0).map((t, i) => finishOne(sql, t, i)));
  await Promise.all(
    claimers.map(async (c, i) => {
      let after = '';
      for (let round = 0; round < 15; round++) {
        const { tasks, cursor } = await claimPageTasks(c, { workerId: `w${i}`, limit: 4, after, runningPerKey: cap });
        after = cursor;
        for (const t of tasks) claimed[t.apiKeyId === big ? 'big' : 'small']++;
        await Promise.all(tasks.map((t, j) => finishOne(c, t, round + j)));
      }
    }),
  );
  working = false;
  await watcher;
  assert.ok(claimed.big > cap && claimed.small > 0, `work went on for both keys (${JSON.stringify(claimed)})`);
  assert.ok(peak <= cap, `at most ${cap} running for a key at any moment, saw ${peak}`);
  await closeAll();
  const after = await runningByKey();
  assert.deepEqual([after.rows.size, after.kept.size], [0, 0], 'nothing running, and nothing counted as running');
});

test('the per-key count follows every move: rescue, cancel, and a parent job deleted while its pages ran', async () => {
  const key = (await createApiKey(sql, 'moves')).apiKey.id;
  const a = await crawl(key, pages(10, 'https://moves-a.test/p'));
  const b = await crawl(key, pages(10, 'https://moves-b.test/p'));
  const c = await crawl(key, pages(10, 'https://moves-c.test/p'));
  const { tasks } = await claimPageTasks(sql, { workerId: 'w', limit: 12, runningPerKey: 12 });
  assert.equal(tasks.length, 12);
  const check = async (expected: number, what: string) => {
    const { rows, kept } = await runningByKey();
    assert.equal(rows.get(key) ?? 0, expected, what);
    assert.equal(kept.get(key) ?? 0, expected, `${what}: kept count`);
  };
  await check(12, 'claimed');
  // One task of crawl a goes silent and is rescued.
  const silent = tasks.find((t) => t.jobId === a)!;
  await sql`update crawl_pages set heartbeat_at = now() - interval '1 minute' where id = ${silent.id}`;
  await rescueAbandonedPageTasks(sql, { rescueAfterMs: 30_000 });
  await check(11, 'after the rescue');
  const runningIn = (job: string) => tasks.filter((t) => t.jobId === job && t.id !== silent.id).length;
  const inB = runningIn(b);
  await cancelCrawl(sql, b);
  await check(11 - inB, 'after cancelling crawl b');
  const inC = runningIn(c);
  await sql`delete from jobs where id = ${c}`;
  await check(11 - inB - inC, 'after deleting job c (its crawl goes with it)');
  await closeAll();
  await check(0, 'all closed');
});
