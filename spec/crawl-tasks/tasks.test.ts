// Page tasks on the real PostgreSQL: discovery de-duplicated across
// concurrent discoverers, claims that hold maxPages exactly however many
// workers claim at once, the task state machine (retry, attempts, a lost
// attempt's late write refused), cancel, rescue, stale crawls, keys taking
// turns, and the counters always equal to the rows they count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { connect, type Sql } from '../../core/platform/db.js';
import {
  acquireHostSlot,
  cancelCrawl,
  claimPageTasks,
  discoverPages,
  finishPageTask,
  getCrawlProgress,
  heartbeatPageTasks,
  listCrawlPages,
  listPageEvents,
  openCrawl,
  reapStaleCrawls,
  rescueAbandonedPageTasks,
  type CrawlProgress,
  type DiscoveredPage,
  type PageTask,
} from '../../core/crawlTasks/index.js';
import { newJobId } from '../../core/ids.js';
import { normalizeUrl } from '../../worker/pipeline/crawl/urls.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTestDatabase } from '../helpers/database.js';

const db = await createTestDatabase();
/** Claims here are about other limits than the per-key one (tested on its own). */
const NO_KEY_CAP = 1_000;
const { sql } = db;

function page(url: string, depth = 1): DiscoveredPage {
  return { url, key: normalizeUrl(url)!, depth };
}

function links(n: number, from = 0, prefix = 'https://site.test/p'): DiscoveredPage[] {
  return Array.from({ length: n }, (_, i) => page(`${prefix}${from + i}`));
}

async function newKey(name: string): Promise<string> {
  return (await createApiKey(sql, name)).apiKey.id;
}

/** A parent job to hang a crawl on (the job machinery itself is not under test here). */
async function newCrawl(apiKeyId: string, opts: { maxPages: number; maxDepth?: number; maxAttempts?: number; maxTasks?: number; seeds?: DiscoveredPage[] }): Promise<string> {
  const id = newJobId();
  await sql`insert into jobs (id, api_key_id, status, input, max_attempts) values (${id}, ${apiKeyId}, 'processing', ${sql.json({ url: 'https://site.test/' })}, 3)`;
  await openCrawl(sql, {
    jobId: id,
    apiKeyId,
    maxPages: opts.maxPages,
    maxDepth: opts.maxDepth ?? 5,
    maxAttempts: opts.maxAttempts ?? 3,
    ...(opts.maxTasks === undefined ? {} : { maxTasks: opts.maxTasks }),
    seeds: opts.seeds ?? [page('https://site.test/', 0)],
  });
  return id;
}

/** The counters must equal what they count, whatever happened. */
async function assertCountersMatchRows(jobId: string): Promise<CrawlProgress> {
  const progress = (await getCrawlProgress(sql, jobId))!;
  const rows = await sql`select state, count(*)::int as n from crawl_pages where job_id = ${jobId} group by state`;
  const n = (s: string) => (rows.find((r) => r.state === s)?.n as number | undefined) ?? 0;
  assert.deepEqual(
    { tasks: progress.tasks, queued: progress.queued, running: progress.running, done: progress.pagesDone, failed: progress.pagesFailed, skipped: progress.pagesSkipped, cancelled: progress.pagesCancelled },
    { tasks: rows.reduce((a, r) => a + (r.n as number), 0), queued: n('queued'), running: n('running'), done: n('done'), failed: n('failed'), skipped: n('skipped'), cancelled: n('cancelled') },
    'counters equal the rows',
  );
  return progress;
}

/** Claims take any crawl's tasks: cancel the crawls earlier tests left open. */
async function cancelOpenCrawls(): Promise<void> {
  for (const { job_id } of await sql`select job_id from crawl_progress where closed_at is null`) await cancelCrawl(sql, job_id as string);
}

function pool(): Sql {
  const s = connect(db.url, 1, 'gleaner-test-worker');
  onCleanup(() => s.end({ timeout: 1 }));
  return s;
}

test('two workers discovering the same links at once create one task per page', async () => {
  const key = await newKey('race');
  const job = await newCrawl(key, { maxPages: 1000 });
  const found = links(60);
  const workers = Array.from({ length: 6 }, () => pool());
  await Promise.all(workers.map((w) => w`select 1`)); // connected, so the discoveries really overlap
  // Each discoverer gives the same links in its own order, plus spellings that normalise alike.
  const results = await Promise.all(
    workers.map((w, i) => {
      const mine = [...found].sort(() => (i % 2 === 0 ? 1 : -1)).map((p, j) => (j % 3 === i % 3 ? { ...p, url: `${p.url}#frag${i}` } : p));
      return discoverPages(w, { jobId: job, pages: mine });
    }),
  );
  assert.equal(
    results.reduce((a, r) => a + r.created, 0),
    60,
    'the links were created once in all',
  );
  const [{ n, distinct }] = (await sql`select count(*)::int as n, count(distinct url_key)::int as distinct from crawl_pages where job_id = ${job}`) as unknown as [{ n: number; distinct: number }];
  assert.equal(n, 61, 'the start page and 60 links');
  assert.equal(distinct, 61);
  const progress = await assertCountersMatchRows(job);
  assert.equal(progress.queued, 61);
});

test('discovery keeps to maxDepth and the crawl’s task budget', async () => {
  const key = await newKey('budget');
  const job = await newCrawl(key, { maxPages: 2, maxDepth: 1, maxTasks: 5 });
  const created = await discoverPages(sql, { jobId: job, pages: [page('https://site.test/deep', 2), ...links(10)] });
  assert.equal(created.created, 4, 'the budget of 5 tasks holds (the start page is one)');
  const urls = (await sql`select url from crawl_pages where job_id = ${job} order by id`).map((r) => r.url);
  assert.deepEqual(urls, ['https://site.test/', 'https://site.test/p0', 'https://site.test/p1', 'https://site.test/p2', 'https://site.test/p3'], 'too deep is dropped, the rest in the order given');
  await assertCountersMatchRows(job);
});

/** One worker's loop: claim, "fetch", record the outcome with the links the page had. */
async function work(s: Sql, workerId: string, onTask: (t: PageTask) => { outcome: Parameters<typeof finishPageTask>[1]['outcome']; discovered?: DiscoveredPage[] }, seen: string[]): Promise<void> {
  for (let idle = 0; idle < 40; ) {
    const { tasks } = await claimPageTasks(s, { runningPerKey: NO_KEY_CAP, workerId, limit: 3 });
    if (tasks.length === 0) {
      idle++;
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    idle = 0;
    await Promise.all(
      tasks.map(async (t) => {
        seen.push(t.url);
        await new Promise((r) => setImmediate(r));
        const { outcome, discovered } = onTask(t);
        const r = await finishPageTask(s, { taskId: t.id, attempt: t.attempt, outcome, ...(discovered ? { discovered } : {}) });
        assert.ok(r.held, 'a claimed task is its worker’s until it finishes');
      }),
    );
  }
}

test('four workers claiming at once reach maxPages exactly; failed pages leave room for others', async () => {
  await cancelOpenCrawls();
  const key = await newKey('exact');
  const job = await newCrawl(key, { maxPages: 12 });
  const fetched: string[] = [];
  let closedWith: CrawlProgress | undefined;
  const workers = Array.from({ length: 4 }, () => pool());
  // Every page links to 8 more; every third page fails, every fifth is no page (skipped).
  const site = (t: PageTask) => {
    const n = Number(/p(\d+)$/.exec(t.url)?.[1] ?? 0);
    const discovered = links(8, n * 8 + 1);
    if (n % 3 === 2) return { outcome: { state: 'failed' as const, error: { code: 'upstream_status', message: '500' } }, discovered };
    if (n % 5 === 4) return { outcome: { state: 'skipped' as const, error: { code: 'robots_disallowed', message: 'no' } }, discovered };
    return { outcome: { state: 'done' as const, chunks: 2 }, discovered };
  };
  await Promise.all(workers.map((w, i) => work(w, `w${i}`, site, fetched)));
  const progress = await assertCountersMatchRows(job);
  assert.equal(progress.pagesDone, 12, 'exactly maxPages pages');
  assert.ok(progress.pagesFailed > 0 && progress.pagesSkipped > 0);
  assert.equal(progress.queued + progress.running, 0);
  assert.notEqual(progress.closedAt, null, 'the crawl closed when no task was open');
  assert.equal(progress.chunksIndexed, 24);
  assert.equal(new Set(fetched).size, fetched.length, 'no page was fetched twice');
  const overLimit = await sql`select count(*)::int as n from crawl_pages where job_id = ${job} and state = 'skipped' and error->>'code' = 'over_limit'`;
  assert.ok((overLimit[0]!.n as number) > 0, 'what was still queued is skipped as over the limit');
  // Closing ran once, with the final counters, in the move that closed it.
  const again = await finishPageTask(sql, { taskId: '1', attempt: 1, outcome: { state: 'done', chunks: 0 } }, async (_tx, p) => {
    closedWith = p;
  });
  assert.equal(again.held, false);
  assert.equal(closedWith, undefined);
});

test('the move that ends the last open task closes the crawl in its own transaction', async () => {
  await cancelOpenCrawls();
  const key = await newKey('close');
  const job = await newCrawl(key, { maxPages: 5 });
  const [task] = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 1 })).tasks;
  assert.equal(task?.jobId, job);
  let seenInside: number | undefined;
  const r = await finishPageTask(sql, { taskId: task.id, attempt: task.attempt, outcome: { state: 'done', chunks: 3 } }, async (tx, progress) => {
    await tx`update jobs set status = 'completed', completed_at = now() where id = ${progress.jobId}`;
    seenInside = progress.pagesDone;
  });
  assert.equal(r.closed, true);
  assert.equal(seenInside, 1);
  const [parent] = await sql`select status from jobs where id = ${job}`;
  assert.equal(parent!.status, 'completed');
  assert.deepEqual(await discoverPages(sql, { jobId: job, pages: links(3) }), { created: 0 }, 'a closed crawl takes no new pages');
});

test('a retry queues the page again until its attempts are spent, then it fails; a lost attempt writes nothing', async () => {
  await cancelOpenCrawls();
  const key = await newKey('retry');
  const job = await newCrawl(key, { maxPages: 3, maxAttempts: 2 });
  const first = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'a', limit: 5 })).tasks;
  assert.equal(first.length, 1);
  const r1 = await finishPageTask(sql, { taskId: first[0]!.id, attempt: 1, outcome: { state: 'retry', error: { code: 'timeout', message: 'slow' }, delayMs: 0 } });
  assert.equal(r1.state, 'queued');
  assert.equal(r1.closed, false);
  // The first attempt's worker writing again is refused.
  assert.equal((await finishPageTask(sql, { taskId: first[0]!.id, attempt: 1, outcome: { state: 'done', chunks: 1 } })).held, false);
  const second = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'b', limit: 5 })).tasks;
  assert.equal(second[0]?.attempt, 2);
  assert.deepEqual([...(await heartbeatPageTasks(sql, { workerId: 'a', tasks: [{ id: first[0]!.id, attempt: 1 }] }))], [], 'the old attempt is not held');
  assert.deepEqual([...(await heartbeatPageTasks(sql, { workerId: 'b', tasks: [{ id: second[0]!.id, attempt: 2 }] }))], [second[0]!.id]);
  const r2 = await finishPageTask(sql, { taskId: second[0]!.id, attempt: 2, outcome: { state: 'retry', error: { code: 'timeout', message: 'slow again' }, delayMs: 0 } });
  assert.equal(r2.state, 'failed', 'attempts spent');
  assert.equal(r2.closed, true);
  const [row] = await sql`select state, attempts, error from crawl_pages where job_id = ${job}`;
  assert.deepEqual([row!.state, row!.attempts, (row!.error as { code: string }).code], ['failed', 2, 'timeout']);
  await assertCountersMatchRows(job);
});

test('cancel closes every open task; a running worker loses its task and its outcome is refused', async () => {
  await cancelOpenCrawls();
  const key = await newKey('cancel');
  const job = await newCrawl(key, { maxPages: 50, seeds: links(10) });
  const running = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 3 })).tasks;
  assert.equal(running.length, 3);
  assert.deepEqual(await cancelCrawl(sql, job), { cancelled: 10 });
  assert.equal((await heartbeatPageTasks(sql, { workerId: 'w', tasks: running.map((t) => ({ id: t.id, attempt: t.attempt })) })).size, 0, 'the workers learn at their next heartbeat');
  const late = await finishPageTask(sql, { taskId: running[0]!.id, attempt: running[0]!.attempt, outcome: { state: 'done', chunks: 1 }, discovered: links(5, 100) });
  assert.equal(late.held, false);
  const progress = await assertCountersMatchRows(job);
  assert.equal(progress.pagesCancelled, 10);
  assert.equal(progress.pagesDone, 0);
  assert.notEqual(progress.closedAt, null);
  assert.deepEqual((await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 10 })).tasks.filter((t) => t.jobId === job), []);
  assert.deepEqual(await cancelCrawl(sql, job), { cancelled: 0 }, 'cancel twice changes nothing');
});

test('a silent worker’s task is rescued for another worker, then failed once its attempts are spent', async () => {
  await cancelOpenCrawls();
  const key = await newKey('rescue');
  const job = await newCrawl(key, { maxPages: 2, maxAttempts: 2 });
  const [t1] = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'dead', limit: 1 })).tasks;
  const slot = { host: 'rescue.test', limits: { concurrency: 1, delayMs: 0, leaseMs: 600_000 } };
  assert.equal((await acquireHostSlot(sql, { ...slot, holder: 'dead' })).granted, true, 'the silent worker holds the host’s one slot');
  await discoverPages(sql, { jobId: job, pages: links(2, 0, 'https://rescue.test/later') }); // found after it: they wait behind it
  await sql`update crawl_pages set heartbeat_at = now() - interval '1 minute' where id = ${t1!.id}`;
  const first = await rescueAbandonedPageTasks(sql, { rescueAfterMs: 30_000 });
  assert.deepEqual([first.requeued, first.failed, first.closed.length], [1, 0, 0]);
  assert.equal((await acquireHostSlot(sql, { ...slot, holder: 'alive' })).granted, true, 'its slot is free at once, not when its lease runs out');
  const [t2] = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'alive', limit: 1 })).tasks;
  assert.deepEqual([t2!.id, t2!.attempt], [t1!.id, 2], 'the same page, a new attempt, in its place in line');
  assert.equal((await finishPageTask(sql, { taskId: t1!.id, attempt: 1, outcome: { state: 'done', chunks: 1 } })).held, false, 'the silent worker’s late result is refused');
  await sql`update crawl_pages set heartbeat_at = now() - interval '1 minute' where id = ${t1!.id}`;
  let closed: string | undefined;
  const second = await rescueAbandonedPageTasks(sql, { rescueAfterMs: 30_000 }, async (_tx, p) => {
    closed = p.jobId;
  });
  assert.deepEqual([second.requeued, second.failed, second.closed.length], [0, 1, 0], 'the pages found later are still open');
  const later = (await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'alive', limit: 5 })).tasks;
  assert.equal(later.length, 2);
  for (const t of later) await finishPageTask(sql, { taskId: t.id, attempt: t.attempt, outcome: { state: 'done', chunks: 1 } }, async (_tx, p) => void (closed = p.jobId));
  assert.equal(closed, job, 'the crawl closed with its last task');
  const [row] = await sql`select state, error from crawl_pages where id = ${t1!.id}`;
  assert.deepEqual([row!.state, (row!.error as { code: string }).code], ['failed', 'worker_lost']);
  await assertCountersMatchRows(job);
});

test('a crawl that stopped moving is reaped as stale; a long one that keeps moving is not', async () => {
  const key = await newKey('stale');
  const still = await newCrawl(key, { maxPages: 5, seeds: links(3) });
  const moving = await newCrawl(key, { maxPages: 5, seeds: links(3, 10) });
  await sql`update crawl_progress set progressed_at = now() - interval '20 minutes' where job_id = ${still}`;
  await sql`update crawl_progress set created_at = now() - interval '2 hours' where job_id = ${moving}`;
  const reaped = await reapStaleCrawls(sql, { staleAfterMs: 600_000, maxDurationMs: 6 * 3_600_000 });
  assert.deepEqual(
    reaped.map((p) => p.jobId),
    [still],
  );
  const progress = await assertCountersMatchRows(still);
  assert.equal(progress.pagesFailed, 3);
  assert.equal((await getCrawlProgress(sql, moving))!.closedAt, null);
  // The backstop: past JOB_MAX_DURATION even a moving crawl is closed.
  await sql`update crawl_progress set created_at = now() - interval '7 hours' where job_id = ${moving}`;
  assert.deepEqual(
    (await reapStaleCrawls(sql, { staleAfterMs: 600_000, maxDurationMs: 6 * 3_600_000 })).map((p) => p.jobId),
    [moving],
  );
});

test('keys take turns: a second key’s one page is claimed next to a big crawl’s backlog', async () => {
  await cancelOpenCrawls();
  const big = await newKey('big');
  const small = await newKey('small');
  await newCrawl(big, { maxPages: 1000, seeds: links(300, 0, 'https://big.test/p') });
  const one = await newCrawl(small, { maxPages: 1, seeds: [page('https://small.test/', 0)] });
  const { tasks, cursor } = await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 2 });
  assert.deepEqual(tasks.map((t) => t.apiKeyId).sort(), [big, small].sort(), 'one task of each key');
  assert.ok(tasks.some((t) => t.jobId === one));
  // With the second key drained, the big crawl takes every slot; the cursor moves on.
  const next = await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 4, after: cursor });
  assert.deepEqual(new Set(next.tasks.map((t) => t.apiKeyId)), new Set([big]));
  assert.equal(next.tasks.length, 4);
});

test('page events list each page’s outcome after a cursor; pages list by state', async () => {
  await cancelOpenCrawls();
  const key = await newKey('events');
  const job = await newCrawl(key, { maxPages: 3, seeds: links(4, 0, 'https://ev.test/p') });
  const { tasks } = await claimPageTasks(sql, { runningPerKey: NO_KEY_CAP, workerId: 'w', limit: 10 });
  const mine = tasks.filter((t) => t.jobId === job);
  assert.equal(mine.length, 3, 'no more running than pages left to reach');
  await finishPageTask(sql, { taskId: mine[0]!.id, attempt: 1, outcome: { state: 'done', chunks: 1, finalUrl: 'https://ev.test/final' } });
  await finishPageTask(sql, { taskId: mine[1]!.id, attempt: 1, outcome: { state: 'failed', error: { code: 'upstream_status', message: '404', status: 404 } } });
  const first = await listPageEvents(sql, { jobId: job });
  assert.deepEqual(
    first.map((e) => [e.url, e.state, e.finalUrl, e.error?.code ?? null]),
    [
      [mine[0]!.url, 'done', 'https://ev.test/final', null],
      [mine[1]!.url, 'failed', null, 'upstream_status'],
    ],
  );
  await finishPageTask(sql, { taskId: mine[2]!.id, attempt: 1, outcome: { state: 'done', chunks: 1 } });
  const after = await listPageEvents(sql, { jobId: job, after: first.at(-1)!.eventId });
  assert.deepEqual(
    after.map((e) => e.state),
    ['done'],
    'only what came after the cursor',
  );
  const queued = await listCrawlPages(sql, { jobId: job, state: 'queued' });
  assert.equal(queued.length, 1);
  const all = await listCrawlPages(sql, { jobId: job, limit: 2 });
  const rest = await listCrawlPages(sql, { jobId: job, after: all.at(-1)!.id });
  assert.equal(all.length + rest.length, 4);
  await assertCountersMatchRows(job);
});
