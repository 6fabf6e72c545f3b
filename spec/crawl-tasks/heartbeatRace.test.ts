// A worker's page-task heartbeat against what else is going on at once.
// - A task row another transaction holds (its own finish waiting on the crawl
//   row, a move under way) is skipped, not waited on: before, the heartbeat's
//   one UPDATE waited on it, none of the worker's other tasks was refreshed,
//   and with a short RESCUE_AFTER the rescuer took a live task and its page was
//   fetched twice (spec/crawl-tasks/processes.test.ts at load 18).
// - A page task claimed while its worker's heartbeat is in flight is not the
//   heartbeat's to judge: the heartbeat only speaks for the tasks it sent.
//   Before, a heartbeat held up (here: its replies held back on the wire, as on
//   a slow round trip) came back without the tasks claimed meanwhile and
//   aborted them as "cancelled or rescued": each was handed back and fetched a
//   second time (/p/10 and /p/14 fetched twice in the 1,000-page bench).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { cancelCrawl, claimPageTasks, getCrawlProgress, heartbeatPageTasks, rescueAbandonedPageTasks, type PageTask } from '../../core/crawlTasks/index.js';
import { randomBase62 } from '../../core/ids.js';
import { createOutboundClient } from '../../core/outbound/index.js';
import { connect, type Sql } from '../../core/platform/db.js';
import { startGeneratedSite } from '../../testing/generatedSite.js';
import { pageTaskCrawls } from '../../worker/pipeline/crawl/pageTasks.js';
import { JobRunner } from '../../worker/runner.js';
import { outboundOptions, runnerOptions } from '../../worker/worker.js';
import { onCleanup } from '../helpers/cleanup.js';
import { discoveredPages, openTestCrawl } from '../helpers/crawlTasks.js';
import { startPausableProxy } from '../helpers/pausableProxy.js';
import { startStack } from '../helpers/stack.js';
import { waitUntil } from '../../testing/waitUntil.js';

const stack = await startStack({
  config: { CRAWL_PAGE_TASKS: 'true', CRAWL_HOST_CONCURRENCY: '4', CRAWL_HOST_DELAY: '0', WORKER_CONCURRENCY: '4', CRAWL_RUNNING_PAGES_PER_KEY: '4' },
});
const { sql } = stack;

function pool(name: string, url = stack.url): Sql {
  const s = connect(url, 1, name);
  onCleanup(() => s.end({ timeout: 1 }));
  return s;
}

/** A transaction on a connection of its own that takes `take` and stays open until `release()`: a move holding the rows meanwhile. */
async function holdOpen(db: Sql, take: (tx: Sql) => Promise<unknown>): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let taken!: () => void;
  const holding = new Promise<void>((r) => (taken = r));
  const done = db.begin(async (tx) => {
    await take(tx as unknown as Sql);
    taken();
    await released;
  });
  await Promise.race([holding, done]);
  return {
    async release() {
      release();
      await done;
    },
  };
}

test('a heartbeat skips a task row another transaction holds: it refreshes the others, keeps the held one, and the rescuer takes none', async () => {
  // A key of its own, and the crawl cancelled whatever happens: the next test's crawl runs under the stack's key cap.
  const jobId = await openTestCrawl(sql, { apiKeyId: (await createApiKey(sql, 'held')).apiKey.id, seeds: discoveredPages(3, 'https://held.test/p'), maxPages: 10 });
  onCleanup(() => cancelCrawl(sql, jobId).then(() => {}));
  const { tasks } = await claimPageTasks(sql, { workerId: 'w', limit: 3, runningPerKey: 100 });
  assert.equal(tasks.length, 3, 'the worker runs three tasks');
  const sent = tasks.map((t) => ({ id: t.id, attempt: t.attempt }));
  const ids = tasks.map((t) => t.id).sort();
  const [locked, ...others] = tasks as [PageTask, ...PageTask[]];
  // As far as the rescuer can tell, all three have been silent for a minute.
  await sql`update crawl_pages set heartbeat_at = now() - interval '1 minute' where job_id = ${jobId}`;
  const fresh = async () =>
    (await sql`select id from crawl_pages where job_id = ${jobId} and heartbeat_at > now() - interval '30 seconds' order by id`).map((r) => String(r.id)).sort();

  // The heartbeat's own connection, its waits bounded: a heartbeat that waits on the held row fails here instead of hanging.
  const beater = pool('gleaner-test-heartbeat');
  const beat = () =>
    beater.begin(async (tx) => {
      await tx`set local lock_timeout = '5s'`;
      return heartbeatPageTasks(tx, { workerId: 'w', tasks: sent });
    });

  // Another transaction holds one task's row (as the task's finish does while it waits on the crawl row).
  const holder = await holdOpen(pool('gleaner-test-holder'), (tx) => tx`select id from crawl_pages where id = ${locked.id} for update`);
  try {
    assert.deepEqual([...(await beat())].sort(), ids, 'the held row is still the worker’s: not handed back');
    assert.deepEqual(await fresh(), others.map((t) => t.id).sort(), 'the other tasks are refreshed; the held one waits for the next heartbeat');
    const rescued = await rescueAbandonedPageTasks(sql, { rescueAfterMs: 30_000 });
    assert.deepEqual([rescued.requeued, rescued.failed], [0, 0], 'the refreshed tasks are not silent and the held one is someone’s: none is rescued');
  } finally {
    await holder.release();
  }
  assert.deepEqual([...(await beat())].sort(), ids, 'all three held');
  assert.deepEqual(await fresh(), ids, 'the next heartbeat refreshes the row once it is free');

  // A move under way when the heartbeat comes (a rescue, here): the row counts as held this time, and the next heartbeat finds it gone.
  const mover = await holdOpen(pool('gleaner-test-mover'), async (tx) => {
    await tx`update crawl_pages set state = 'queued', worker_id = null, heartbeat_at = null where id = ${locked.id}`;
    await tx`update crawl_progress set running = running - 1, queued = queued + 1 where job_id = ${jobId}`;
  });
  try {
    assert.deepEqual([...(await beat())].sort(), ids, 'not yet moved as the heartbeat sees it');
  } finally {
    await mover.release();
  }
  assert.deepEqual([...(await beat())].sort(), others.map((t) => t.id).sort(), 'moved: the worker learns it at the next heartbeat');
  await cancelCrawl(sql, jobId);
});

test('tasks claimed while a heartbeat is in flight are not aborted by it: every page is fetched once', async () => {
  // A worker as worker/worker.ts assembles it, its heartbeats on a connection of their own through a proxy that can hold their replies back.
  const target = new URL(stack.url);
  const proxy = await startPausableProxy({ host: target.hostname, port: Number(target.port) });
  const heartbeatSql = pool('gleaner-test-heartbeat', proxy.through(stack.url));
  await stack.knowledge.index();
  const workerId = `test:${process.pid}:${randomBase62(4)}`;
  const client = createOutboundClient(outboundOptions(stack.config));
  onCleanup(() => client.close());
  const crawls = pageTaskCrawls({ sql, boss: stack.boss, logger: stack.logger, client, knowledge: stack.knowledge }, stack.config, { workerId, heartbeatSql, heartbeatIntervalMs: 500 });
  const runner = new JobRunner(sql, stack.boss, stack.logger, stack.knowledgePipeline(), {
    ...runnerOptions(stack.config),
    heartbeatIntervalMs: 500,
    workerId,
    handOff: crawls.handOff,
  });
  await runner.start();
  await crawls.runner.start();
  onCleanup(async () => {
    proxy.release();
    await runner.stop(0);
    await crawls.runner.stop(0);
  });

  const site = await startGeneratedSite({ pages: 60, latencyMs: 250 });
  onCleanup(() => site.close());
  const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.baseUrl}/`, maxPages: 30 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const jobId = res.body.jobId as string;
  await waitUntil('three pages running', async () => ((await getCrawlProgress(sql, jobId))?.running ?? 0) >= 3);

  // Hold the heartbeats' replies: the next heartbeat runs in the database (its rows' heartbeat_at moves past their claim) but its answer waits.
  let claimedMeanwhile = 0;
  proxy.hold();
  try {
    const [{ at: heldAt }] = (await sql`select now() as at`) as unknown as [{ at: Date }];
    let beatAt: Date | undefined;
    await waitUntil('a heartbeat run while its answer is held', async () => {
      const [b] = await sql`
        select min(heartbeat_at) as at from crawl_pages where job_id = ${jobId} and state = 'running' and heartbeat_at > ${heldAt} and heartbeat_at > started_at`;
      beatAt = (b!.at as Date | null) ?? undefined;
      return beatAt !== undefined;
    });
    await waitUntil('pages claimed after that heartbeat, still running', async () => {
      const [c] = await sql`select count(*)::int as n from crawl_pages where job_id = ${jobId} and state = 'running' and started_at > ${beatAt!}`;
      claimedMeanwhile = c!.n as number;
      return claimedMeanwhile >= 2;
    });
  } finally {
    proxy.release();
  }
  assert.ok(claimedMeanwhile >= 2, `pages were claimed while the heartbeat was in flight (${claimedMeanwhile})`);

  const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 120_000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const twice = [...site.hits].filter(([p, n]) => (p === '/' || p.startsWith('/p/')) && n > 1);
  assert.deepEqual(twice, [], 'no page fetched twice');
  const [again] = await sql`select count(*)::int as n from crawl_pages where job_id = ${jobId} and attempts > 1`;
  assert.equal(again!.n, 0, 'no page task ran twice');
});
