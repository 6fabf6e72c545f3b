// A host answering 429 with Retry-After: the pause it asks for (seconds or an
// HTTP-date, bounded to 1 s … 10 min) is kept in PostgreSQL for the host, so
// two worker processes and a second key's crawl of the same host all leave it
// alone until then, and the refused page is fetched again after it.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { BUSY_HOST_PAUSE_MS, RETRY_AFTER_MAX_MS, RETRY_AFTER_MIN_MS, retryAfterPauseMs } from '../../core/crawlTasks/retryAfter.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { spawnScript, type ServiceProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';

test('Retry-After is read as seconds or an HTTP-date in any of its three forms, and bounded', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(retryAfterPauseMs('120', now), 120_000);
  assert.equal(retryAfterPauseMs(' 3 ', now), 3_000);
  assert.equal(retryAfterPauseMs('Thu, 01 Jan 2026 12:00:30 GMT', now), 30_000, 'IMF-fixdate');
  assert.equal(retryAfterPauseMs('Thursday, 01-Jan-26 12:00:45 GMT', now), 45_000, 'RFC 850 date');
  assert.equal(retryAfterPauseMs('Thu Jan  1 12:01:00 2026', now), 60_000, 'asctime, read as GMT whatever the local zone');
  assert.equal(retryAfterPauseMs('0', now), RETRY_AFTER_MIN_MS, 'no shorter than a second');
  assert.equal(retryAfterPauseMs('Thu, 01 Jan 2026 11:00:00 GMT', now), RETRY_AFTER_MIN_MS, 'a date already past');
  assert.equal(retryAfterPauseMs('86400', now), RETRY_AFTER_MAX_MS, 'a day is cut to the maximum');
  assert.equal(retryAfterPauseMs('99999999999999999999', now), RETRY_AFTER_MAX_MS);
  assert.equal(retryAfterPauseMs('Fri, 01 Jan 2027 12:00:00 GMT', now), RETRY_AFTER_MAX_MS);
  for (const unreadable of [undefined, '', 'soon', '-5', '1.5', 'Thu, 99 Jan 2026 12:00:30 GMT', `${'9'.repeat(20)}x`, 'a'.repeat(10_000)]) {
    assert.equal(retryAfterPauseMs(unreadable, now), BUSY_HOST_PAUSE_MS, `unreadable ${JSON.stringify(unreadable?.slice(0, 30))}: the default pause`);
  }
});

describe('a 429 with Retry-After slows the host for every worker and job', () => {
  // Longer than the 10 s default pause, so honouring the header is what keeps the host quiet.
  const RETRY_AFTER_S = 14;
  let stack: Stack;
  const workers: ServiceProcess[] = [];
  const requests: { path: string; start: number }[] = [];
  let refusedAt: number | undefined;

  before(async () => {
    stack = await startStack({ config: { CRAWL_PAGE_TASKS: 'true' } });
    const env = {
      DATABASE_URL: stack.url,
      CRAWL_PAGE_TASKS: 'true',
      CRAWL_HOST_CONCURRENCY: '2',
      CRAWL_HOST_DELAY: '0',
      RETRY_BASE_DELAY: '100ms',
      WORKER_POLL_INTERVAL: '200ms',
      WORKER_CONCURRENCY: '2',
      ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'info',
    };
    for (let i = 0; i < 2; i++) workers.push(spawnScript('worker/main.ts', [], env));
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.message === 'worker started', 120_000, "'worker started'")));
  });

  after(async () => {
    await Promise.all(workers.filter((w) => w.alive).map((w) => w.stop('SIGTERM')));
  });

  test('no request reaches the host until the Retry-After has passed; then both crawls complete', async () => {
    const page = (n: string, links: string[]) => articlePage(`Page ${n}`, `<p>Page ${n} of the busy site, with words of its own about ${n}.</p>${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
    const busy: http.RequestListener = (_req, res) => {
      if (refusedAt === undefined) {
        res.writeHead(429, { 'retry-after': String(RETRY_AFTER_S), 'content-type': 'text/plain' }).end('slow down');
        refusedAt = performance.now();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page('busy', ['/']));
    };
    const routes = fixtureSite({ '/': page('home', ['/busy', '/a']), '/busy': busy, '/a': page('a', ['/']), '/b': page('b', ['/c']), '/c': page('c', ['/b']) });
    const site = await startHttpServer((req, res) => {
      requests.push({ path: req.url ?? '/', start: performance.now() });
      routes(req, res);
    });

    const first = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/`, maxPages: 3 } });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const deadline = Date.now() + 60_000;
    while (refusedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(refusedAt !== undefined, 'the busy page was asked for');
    while ((await stack.sql`select 1 from crawl_hosts where slowed_until > now()`).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const pausedAt = performance.now();
    // Another key's crawl of the same host, while the host is paused.
    const other = await createApiKey(stack.sql, 'other');
    const second = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/b`, maxPages: 2 }, key: other.key });
    assert.equal(second.status, 202, JSON.stringify(second.body));

    for (const job of [first, second]) {
      const done = await stack.waitForStatus(job.body.jobId as string, ['completed', 'failed'], 120_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
    }
    // Requests granted before the pause was recorded may still start just after it; any later one waits it out.
    const grace = 1000;
    const later = requests.filter((r) => r.start > pausedAt + grace);
    const timeline = JSON.stringify(requests.map((r) => [r.path, Math.round(r.start - refusedAt!)]));
    assert.ok(later.some((r) => r.path === '/b'), `the second key’s crawl fetched its page after the pause: ${timeline}`);
    assert.ok(later.some((r) => r.path === '/busy'), 'the refused page was fetched again after the pause');
    for (const r of later) {
      assert.ok(r.start - refusedAt! >= RETRY_AFTER_S * 1000 - grace, `${r.path} started ${Math.round(r.start - refusedAt!)} ms after the 429 (Retry-After: ${RETRY_AFTER_S}): ${timeline}`);
    }
    const [pageRow] = await stack.sql`select state, attempts from crawl_pages where job_id = ${first.body.jobId as string} and url like '%/busy'`;
    assert.deepEqual([pageRow!.state, pageRow!.attempts], ['done', 2]);
  });
});
