// Finishing a page task in one statement (crawl_finish_page, migration 033):
// the page's outcome, its links, the crawl's counters and the maxPages cut
// cost one round trip, and the crawl's row is held for none; the move that
// closes the crawl is made in one transaction with the parent's completion.
// Workers finishing pages of one crawl at once, their links overlapping, keep
// one task per URL, every page fetched once, exact counters and one close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { createApiKey } from '../../core/apiKeys.js';
import { connect, type Sql } from '../../core/platform/db.js';
import { claimPageTasks, finishPageTask, getCrawlProgress, type CrawlProgress, type DiscoveredPage, type PageOutcome } from '../../core/crawlTasks/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { discoveredPages, openTestCrawl } from '../helpers/crawlTasks.js';
import { createTestDatabase } from '../helpers/database.js';

const db = await createTestDatabase();
const { sql } = db;
const NO_KEY_CAP = 1_000;

/** A connection that records every statement it sends (BEGIN and COMMIT included). */
function recorded(): { s: Sql; statements: string[] } {
  const statements: string[] = [];
  const s = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_c, query) => statements.push(query.replace(/\s+/g, ' ').trim()) });
  onCleanup(() => s.end({ timeout: 1 }));
  return { s, statements };
}

function pool(): Sql {
  const s = connect(db.url, 1, 'gleaner-test-worker');
  onCleanup(() => s.end({ timeout: 1 }));
  return s;
}

async function countersAndRows(jobId: string): Promise<{ progress: CrawlProgress; counters: Record<string, number>; rows: Record<string, number> }> {
  const progress = (await getCrawlProgress(sql, jobId))!;
  const rows = await sql`select state, count(*)::int as n from crawl_pages where job_id = ${jobId} group by state`;
  const n = (s: string) => (rows.find((r) => r.state === s)?.n as number | undefined) ?? 0;
  return {
    progress,
    counters: { tasks: progress.tasks, queued: progress.queued, running: progress.running, done: progress.pagesDone, failed: progress.pagesFailed, skipped: progress.pagesSkipped },
    rows: { tasks: rows.reduce((a, r) => a + (r.n as number), 0), queued: n('queued'), running: n('running'), done: n('done'), failed: n('failed'), skipped: n('skipped') },
  };
}

// The claims below take any crawl's tasks: the tests run one after the other (t.test), not at once.
async function finishInOneStatement(): Promise<void> {
  const key = (await createApiKey(sql, 'one-statement')).apiKey.id;
  const jobId = await openTestCrawl(sql, { apiKeyId: key, seeds: discoveredPages(2, 'https://one.test/p'), maxPages: 100 });
  const { s, statements } = recorded();
  await s`select ${[1]}::int[]`; // postgres.js reads the array types once per connection
  const onClosed = async (tx: Sql | postgres.TransactionSql, c: CrawlProgress) => {
    await tx`update jobs set status = 'completed', completed_at = now() where id = ${c.jobId}`;
  };
  const [first, second] = (await claimPageTasks(sql, { workerId: 'w', limit: 2, runningPerKey: NO_KEY_CAP })).tasks;
  assert.ok(first && second, 'both pages claimed');

  statements.length = 0;
  const a = await finishPageTask(s, { taskId: first.id, attempt: first.attempt, outcome: { state: 'done', chunks: 2 }, discovered: discoveredPages(3, 'https://one.test/q') }, onClosed);
  assert.deepEqual([a.held, a.state, a.created, a.closed], [true, 'done', 3, false]);
  assert.equal(statements.length, 1, `one round trip for a page, its links and the counters: ${JSON.stringify(statements)}`);

  // The crawl's last open task, whose parent completion fails: nothing of the move is kept.
  await sql`update crawl_pages set state = 'skipped', finished_at = now() where job_id = ${jobId} and state = 'queued'`;
  await sql`update crawl_progress set pages_skipped = pages_skipped + queued, queued = 0 where job_id = ${jobId}`;
  await assert.rejects(
    finishPageTask(s, { taskId: second.id, attempt: second.attempt, outcome: { state: 'done', chunks: 1 } }, async () => {
      throw new Error('the parent could not complete');
    }),
    /the parent could not complete/,
  );
  const [task] = await sql`select state from crawl_pages where id = ${second.id}`;
  assert.equal(task!.state, 'running', 'the page’s outcome rolled back with the failed completion');
  assert.equal((await getCrawlProgress(sql, jobId))!.closedAt, null, 'the crawl stays open');

  statements.length = 0;
  const b = await finishPageTask(s, { taskId: second.id, attempt: second.attempt, outcome: { state: 'done', chunks: 1 } }, onClosed);
  assert.deepEqual([b.held, b.state, b.closed, b.progress?.pagesDone], [true, 'done', true, 2]);
  const [parent] = await sql`select status from jobs where id = ${jobId}`;
  assert.equal(parent!.status, 'completed', 'completed in the closing transaction');
  const closing = statements.slice(1);
  assert.deepEqual([closing[0], closing.at(-1)], ['begin', 'commit'], `the close is made again in a transaction with the completion: ${JSON.stringify(statements)}`);
  assert.ok(closing.some((q) => q.startsWith('update jobs')), `the completion ran in it: ${JSON.stringify(statements)}`);
  const { counters, rows } = await countersAndRows(jobId);
  assert.deepEqual(counters, rows, 'counters equal the rows');
}

/** Page n of the site links to the 12 pages after it (wrapping): most of its links are every other page's too. */
function linksOf(n: number, pages: number): DiscoveredPage[] {
  return discoveredPages(pages, 'https://overlap.test/p').filter((_, i) => (i - n + pages) % pages >= 1 && (i - n + pages) % pages <= 12);
}

/** Workers claim and finish the crawl's pages at once, each page's links overlapping its neighbours'. */
async function crawlAtOnce(jobId: string, pages: number, workers: number): Promise<{ fetched: string[]; closedBy: number; completions: number }> {
  const fetched: string[] = [];
  let closedBy = 0;
  let completions = 0;
  const conns = Array.from({ length: workers }, () => pool());
  await Promise.all(conns.map((c) => c`select 1`));
  await Promise.all(
    conns.map(async (c, w) => {
      for (let idle = 0; idle < 60; ) {
        const { tasks } = await claimPageTasks(c, { workerId: `w${w}`, limit: 3, runningPerKey: NO_KEY_CAP });
        if (tasks.length === 0) {
          idle++;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        idle = 0;
        for (const t of tasks) {
          // A task another test left open is finished too, and not counted.
          const own = t.jobId === jobId;
          if (own) fetched.push(t.urlKey);
          const n = Number(/p(\d+)$/.exec(t.url)?.[1] ?? 0);
          const outcome: PageOutcome = n % 7 === 3 ? { state: 'failed', error: { code: 'upstream_status', message: '500' } } : { state: 'done', chunks: 2 };
          const r = await finishPageTask(c, { taskId: t.id, attempt: t.attempt, outcome, discovered: own ? linksOf(n, pages) : [] }, async (tx, closed) => {
            if (closed.jobId === jobId) completions++;
            await tx`update jobs set status = 'completed', completed_at = now() where id = ${closed.jobId}`;
          });
          assert.ok(r.held, 'a claimed task is its worker’s until it finishes');
          if (r.closed && own) closedBy++;
        }
      }
    }),
  );
  return { fetched, closedBy, completions };
}

async function overlappingLinks(): Promise<void> {
  const key = (await createApiKey(sql, 'overlap')).apiKey.id;
  const pages = 120;
  const jobId = await openTestCrawl(sql, { apiKeyId: key, seeds: discoveredPages(1, 'https://overlap.test/p'), maxPages: 1000 });
  const { fetched, closedBy, completions } = await crawlAtOnce(jobId, pages, 6);
  assert.equal(new Set(fetched).size, fetched.length, 'no page fetched twice');
  assert.equal(fetched.length, pages, 'every page of the site fetched');
  const [{ n, distinct }] = (await sql`select count(*)::int as n, count(distinct url_key)::int as distinct from crawl_pages where job_id = ${jobId}`) as unknown as [{ n: number; distinct: number }];
  assert.deepEqual([n, distinct], [pages, pages], 'one task per URL');
  const { progress, counters, rows } = await countersAndRows(jobId);
  assert.deepEqual(counters, rows, 'counters equal the rows');
  assert.equal(progress.chunksIndexed, 2 * progress.pagesDone);
  assert.notEqual(progress.closedAt, null, 'closed when no task was open');
  assert.deepEqual([closedBy, completions], [1, 1], 'one move closed the crawl, and completed the parent once');
}

async function overlappingLinksCut(): Promise<void> {
  const key = (await createApiKey(sql, 'overlap-cut')).apiKey.id;
  const jobId = await openTestCrawl(sql, { apiKeyId: key, seeds: discoveredPages(1, 'https://overlap.test/p'), maxPages: 40 });
  const { fetched, closedBy, completions } = await crawlAtOnce(jobId, 120, 6);
  assert.equal(new Set(fetched).size, fetched.length, 'no page fetched twice');
  const { progress, counters, rows } = await countersAndRows(jobId);
  assert.deepEqual(counters, rows, 'counters equal the rows');
  assert.equal(progress.pagesDone, 40, 'exactly maxPages');
  assert.ok(progress.pagesSkipped > 0, 'what was still queued is skipped');
  assert.deepEqual([progress.queued, progress.running], [0, 0]);
  assert.deepEqual([closedBy, completions], [1, 1], 'one close, one completion');
}

test('finishing page tasks', async (t) => {
  await t.test('a page’s outcome with its links is one statement; the move that closes the crawl commits with the parent’s completion, or not at all', finishInOneStatement);
  await t.test('workers finishing pages of one crawl at once, their links overlapping: one task per URL, every page once, exact counters, one close', overlappingLinks);
  await t.test('workers at once, maxPages cutting the crawl: exactly maxPages pages done, the rest skipped, one close', overlappingLinksCut);
});
