// Politeness shared through PostgreSQL: limiters of separate workers (each
// its own connection pool and holder id) against one real HTTP server on
// 127.0.0.1 never exceed the host's concurrency, keep its delay (and a
// robots.txt Crawl-delay) between request starts, all stay away while a
// Retry-After runs, and take over the slot of a worker that died holding it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type Sql } from '../../core/platform/db.js';
import { acquireHostSlot, cachedRobots, setHostCrawlDelay, SharedHostLimiter, slowHost, storeRobots, type HostLimits } from '../../core/crawlTasks/index.js';
import { OutboundError } from '../../core/outbound/index.js';
import { loadStoredRobots } from '../../worker/pipeline/crawl/robots.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTestDatabase } from '../helpers/database.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';

const db = await createTestDatabase();

function pool(): Sql {
  const s = connect(db.url, 2, 'gleaner-test-worker');
  onCleanup(() => s.end({ timeout: 1 }));
  return s;
}

async function site(latencyMs: number): Promise<FixtureSite> {
  const s = await startFixtureSite({ latencyMs });
  onCleanup(() => s.close());
  return s;
}

/** `workers` limiters (one pool each) fetching `perWorker` pages each, two at a time per worker. */
async function crawlTogether(s: FixtureSite, host: string, limits: HostLimits, workers: number, perWorker: number): Promise<void> {
  const signal = new AbortController().signal;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const limiter = new SharedHostLimiter(pool(), `worker-${w}`, limits);
      const paths = Array.from({ length: perWorker }, (_, i) => `/?w=${w}&i=${i}`);
      const lane = async () => {
        for (let path = paths.shift(); path !== undefined; path = paths.shift()) {
          await limiter.run(host, signal, async () => {
            const res = await fetch(`${s.baseUrl}${path}`);
            await res.arrayBuffer();
          });
        }
      };
      await Promise.all([lane(), lane(), lane()]);
    }),
  );
}

test('three workers never have more than the host’s concurrency in flight', async () => {
  const s = await site(40);
  await crawlTogether(s, 'conc.test', { concurrency: 2, delayMs: 0, leaseMs: 30_000 }, 3, 8);
  assert.equal(s.requests.length, 24);
  assert.ok(s.maxInFlight() <= 2, `at most 2 in flight, saw ${s.maxInFlight()}`);
});

test('the host delay (and a longer robots.txt Crawl-delay) spaces request starts across workers', async () => {
  const s = await site(0);
  await crawlTogether(s, 'delay.test', { concurrency: 8, delayMs: 60, leaseMs: 30_000 }, 3, 3);
  const starts = s.requests.map((r) => r.start).sort((a, b) => a - b);
  // 9 starts at least 60 ms apart on the database's clock: the span is at least 8 × 60 ms, less the jitter
  // between a grant and its request reaching the server (generous: a run without the delay spans a few ms).
  assert.ok(starts.at(-1)! - starts[0]! >= 8 * 60 - 60, `span ${Math.round(starts.at(-1)! - starts[0]!)} ms`);

  const slow = await site(0);
  await setHostCrawlDelay(db.sql, 'crawl-delay.test', 150);
  await crawlTogether(slow, 'crawl-delay.test', { concurrency: 8, delayMs: 0, leaseMs: 30_000 }, 2, 2);
  const s2 = slow.requests.map((r) => r.start).sort((a, b) => a - b);
  assert.ok(s2.at(-1)! - s2[0]! >= 3 * 150 - 60, `Crawl-delay span ${Math.round(s2.at(-1)! - s2[0]!)} ms`);
});

test('a Retry-After seen by one worker keeps every worker away from the host until it has passed', async () => {
  const s = await site(0);
  const limits = { concurrency: 2, delayMs: 0, leaseMs: 30_000 };
  const before = performance.now();
  await slowHost(pool(), 'busy.test', 400);
  await crawlTogether(s, 'busy.test', limits, 2, 1);
  assert.equal(s.requests.length, 2);
  for (const r of s.requests) assert.ok(r.start - before >= 400 - 30, `started ${Math.round(r.start - before)} ms after the Retry-After`);
  // A shorter Retry-After later never cuts a longer one short.
  await slowHost(db.sql, 'busy.test', 60_000);
  await slowHost(db.sql, 'busy.test', 10);
  const grant = await acquireHostSlot(db.sql, { host: 'busy.test', holder: 'x', limits });
  assert.equal(grant.granted, false);
  assert.ok(!grant.granted && grant.waitMs > 50_000);
});

test('the slot of a worker that died holding it is free again once its lease runs out', async () => {
  const limits = { concurrency: 1, delayMs: 0, leaseMs: 300 };
  const dead = await acquireHostSlot(db.sql, { host: 'lease.test', holder: 'dead', limits });
  assert.equal(dead.granted, true);
  const meanwhile = await acquireHostSlot(db.sql, { host: 'lease.test', holder: 'alive', limits });
  assert.equal(meanwhile.granted, false, 'the one slot is held');
  const s = await site(0);
  await crawlTogether(s, 'lease.test', limits, 1, 1);
  assert.equal(s.requests.length, 1, 'taken over after the lease');
});

test('robots.txt answers are shared across jobs for their age limit', async () => {
  await storeRobots(db.sql, 'https://r.test', { status: 200, body: 'User-agent: *\nDisallow: /private\n' });
  assert.deepEqual(await cachedRobots(pool(), 'https://r.test', 24 * 3_600_000), { status: 200, body: 'User-agent: *\nDisallow: /private\n' });
  await db.sql`update crawl_robots set fetched_at = now() - interval '25 hours' where origin = 'https://r.test'`;
  assert.equal(await cachedRobots(db.sql, 'https://r.test', 24 * 3_600_000), null, 'older than 24 h: asked again');
  assert.equal(await cachedRobots(db.sql, 'https://other.test', 24 * 3_600_000), null);
});

test('loadStoredRobots keeps a readable answer (its Crawl-delay, its rules) for every job, not an unreadable one, and a failing store costs no page', async () => {
  const opts = { userAgent: 'GleanerBot', maxCrawlDelayMs: 10_000 };
  const live = new AbortController().signal;
  const limiter = new SharedHostLimiter(pool(), 'robots-worker', { concurrency: 2, delayMs: 0, leaseMs: 30_000 });
  let fetches = 0;
  const serve = (status: number, body: string) => async (url: string) => {
    fetches++;
    if (status >= 400) throw new OutboundError('http_status', url, `server responded with HTTP ${status}`, { status });
    return { url, status, headers: {}, contentType: 'text/plain', body: Buffer.from(body), redirects: [], durationMs: 1 };
  };
  // A NUL in the file (a UTF-16 robots.txt read as UTF-8 has many): a text column refuses it.
  const file = 'User-agent: *\nDisallow: /private\nCrawl-delay: 3\n\0';
  const fresh = await loadStoredRobots('https://kept.test', serve(200, file), opts, live, limiter);
  const again = await loadStoredRobots('https://kept.test', serve(500, ''), opts, live, limiter);
  assert.equal(fetches, 1, 'the second job reads the stored answer');
  for (const policy of [fresh, again]) {
    assert.equal(policy.crawlDelayMs, 3000);
    assert.equal(policy.isAllowed('https://kept.test/private/x'), false);
    assert.equal(policy.isAllowed('https://kept.test/public'), true);
  }

  fetches = 0;
  for (const status of [503, 429]) {
    assert.equal((await loadStoredRobots(`https://down${status}.test`, serve(status, ''), opts, live, limiter)).status, 'unavailable');
    assert.equal((await loadStoredRobots(`https://down${status}.test`, serve(status, ''), opts, live, limiter)).status, 'unavailable');
  }
  assert.equal(fetches, 4, 'an unreadable robots.txt is asked again by the next job');

  const closed = connect(db.url, 1, 'gleaner-test-closed');
  await closed.end();
  const errors: unknown[] = [];
  const policy = await loadStoredRobots('https://nostore.test', serve(200, file), opts, live, new SharedHostLimiter(closed, 'w', { concurrency: 1, delayMs: 0, leaseMs: 1000 }), (err) => errors.push(err));
  assert.equal(policy.crawlDelayMs, 3000, 'the fetched rules still apply');
  assert.equal(errors.length, 2, 'the failed read and the failed store are reported');
});
