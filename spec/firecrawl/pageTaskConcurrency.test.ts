// Firecrawl's maxConcurrency on the page-task path (CRAWL_PAGE_TASKS): the
// crawl's own cap on its pages running at once, held by the page-task claim
// over every worker (crawl_progress.max_running). Through the official SDK
// against a running Gleaner with two workers and a slow site: more than the
// 20 pages one worker carries, never more than the cap at the site at once.
// The claim's own rules (exact under claimers at once; a crawl at its cap
// does not hold up its key's other crawls) are in crawlConcurrencyClaim.test.ts.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, test } from 'node:test';
import Firecrawl from '@mendable/firecrawl-js';
import { articlePage, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const WIDE = 24;
const CAP = 2;

let stack: Stack;
let app: Firecrawl;
let site: TestServer;
let inFlight = 0;
let maxInFlight = 0;

before(async () => {
  // / links to /w/1…/w/24 (and /about, through articlePage's nav); each page answers after 150 ms.
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    setTimeout(() => {
      if (url.pathname === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n');
      const page = (title: string, links: string[]) => articlePage(title, `${title}: a page with words of its own. ${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
      const wide = /^\/w\/(\d+)$/.exec(url.pathname);
      const body = url.pathname === '/' ? page('Home', Array.from({ length: WIDE }, (_, i) => `/w/${i + 1}`)) : url.pathname === '/about' ? page('About us', []) : wide ? page(`Wide page ${wide[1]}`, []) : undefined;
      if (body === undefined) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    }, 150);
  };
  site = await startHttpServer(handler);
  // Two workers of 4 page slots each: 8 slots, the crawl may use 2.
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', CRAWL_HOST_CONCURRENCY: '8', CRAWL_PAGE_TASKS: 'true', WORKER_CONCURRENCY: '4' } });
  await stack.startWorker();
  await stack.startWorker();
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

test('maxConcurrency with a limit above 20 runs as page tasks, never more than its cap at the site at once over two workers', async () => {
  const crawled = await app.crawl(`${site.url}/`, { limit: 40, sitemap: 'skip', maxConcurrency: CAP, pollInterval: 1 });
  assert.equal(crawled.status, 'completed', JSON.stringify(crawled).slice(0, 500));
  assert.equal(crawled.data.length, WIDE + 2);
  const [row] = await stack.sql`select max_running from crawl_progress where job_id = ${crawled.id}`;
  assert.ok(row, 'ran as page tasks');
  assert.equal(row.max_running, CAP);
  assert.ok(maxInFlight <= CAP, `at most ${CAP} requests at the site at once, saw ${maxInFlight}`);
  // The cap is what held it: 8 page slots and a host concurrency of 8 were free.
  assert.equal(maxInFlight, CAP, 'the crawl used its cap');
});

test('maxConcurrency 1 with the sitemap read: the start page\'s sitemap reads count toward the cap', async () => {
  maxInFlight = 0;
  const crawled = await app.crawl(`${site.url}/`, { limit: 40, maxConcurrency: 1, pollInterval: 1 });
  assert.equal(crawled.status, 'completed');
  assert.equal(crawled.data.length, WIDE + 2);
  assert.equal(maxInFlight, 1, 'never two requests at the site at once');
});
