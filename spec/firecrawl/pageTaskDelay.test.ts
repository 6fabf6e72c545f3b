// Firecrawl's delay on the page-task path: each page request of the crawl
// reserves its start on the crawl's row (core/crawlTasks/crawlDelay.ts), so
// the crawl's page requests start at least `delay` apart over every worker,
// one at a time unless maxConcurrency says otherwise; a limit above the 20
// pages one worker carries runs. Through the official SDK against a running
// Gleaner with two workers.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, test } from 'node:test';
import Firecrawl from '@mendable/firecrawl-js';
import { reserveCrawlFetch } from '../../core/crawlTasks/index.js';
import { articlePage, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const WIDE = 22;
const DELAY_MS = 150;

let stack: Stack;
let app: Firecrawl;
let site: TestServer;
const starts: { path: string; at: number }[] = [];
let inFlight = 0;
let maxInFlight = 0;

before(async () => {
  // / links to /w/1…/w/22 (and /about, through articlePage's nav).
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n');
    starts.push({ path: url.pathname, at: performance.now() });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const page = (title: string, links: string[]) => articlePage(title, `${title}: a page with words of its own. ${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
    const wide = /^\/w\/(\d+)$/.exec(url.pathname);
    const body = url.pathname === '/' ? page('Home', Array.from({ length: WIDE }, (_, i) => `/w/${i + 1}`)) : url.pathname === '/about' ? page('About us', []) : wide ? page(`Wide page ${wide[1]}`, []) : undefined;
    if (body === undefined) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  };
  site = await startHttpServer(handler);
  // Two workers of 4 page slots each and no host delay: only the crawl's own delay spaces its requests.
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', CRAWL_HOST_CONCURRENCY: '8', CRAWL_PAGE_TASKS: 'true', WORKER_CONCURRENCY: '4' } });
  await stack.startWorker();
  await stack.startWorker();
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

test('delay with a limit above 20 runs as page tasks, its page requests one at a time and at least the delay apart over two workers', async () => {
  const crawled = await app.crawl(`${site.url}/`, { limit: 40, sitemap: 'skip', delay: DELAY_MS / 1000, pollInterval: 1 });
  assert.equal(crawled.status, 'completed', JSON.stringify(crawled).slice(0, 500));
  assert.equal(crawled.data.length, WIDE + 2);
  const [row] = await stack.sql`select delay_ms, max_running from crawl_progress where job_id = ${crawled.id}`;
  assert.ok(row, 'ran as page tasks');
  assert.deepEqual({ delay: row.delay_ms, maxRunning: row.max_running }, { delay: DELAY_MS, maxRunning: 1 });
  assert.equal(starts.length, WIDE + 2, 'each page requested once');
  assert.equal(maxInFlight, 1, 'one page request at a time');
  // Spaced when they leave the worker; arrival here may jitter by some milliseconds either way.
  for (let i = 1; i < starts.length; i++) {
    const gap = starts[i]!.at - starts[i - 1]!.at;
    assert.ok(gap >= DELAY_MS * 0.8, `${starts[i - 1]!.path} and ${starts[i]!.path} started ${Math.round(gap)} ms apart`);
  }
});

test('each reservation moves the crawl\'s next start on by its delay; a crawl without a delay never waits', async () => {
  const [crawl] = await stack.sql`select job_id from crawl_progress where delay_ms is not null limit 1`;
  assert.ok(crawl, 'the crawl above is there');
  const jobId = crawl.job_id as string;
  await stack.sql`update crawl_progress set delay_ms = 60000, next_fetch_at = null where job_id = ${jobId}`;
  assert.equal(await reserveCrawlFetch(stack.sql, jobId), 0, 'the first start is now');
  const waits = [await reserveCrawlFetch(stack.sql, jobId), await reserveCrawlFetch(stack.sql, jobId)];
  assert.ok(waits[0]! > 55_000 && waits[0]! <= 60_000, `the second waits one delay: ${waits[0]}`);
  assert.ok(waits[1]! > 115_000 && waits[1]! <= 120_000, `the third waits two: ${waits[1]}`);
  await stack.sql`update crawl_progress set delay_ms = null where job_id = ${jobId}`;
  assert.equal(await reserveCrawlFetch(stack.sql, jobId), 0);
});
