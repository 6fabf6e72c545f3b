// Firecrawl's maxDiscoveryDepth on the page-task path (CRAWL_PAGE_TASKS),
// through the official SDK against a running Gleaner and a site of link
// chains and a sitemap: link hops from the start page, where the start page
// and the sitemap's URLs are 0 (while `depth`, the KnowledgeSDK's maxDepth,
// keeps sitemap URLs one below the start page). Such a crawl takes more than
// the 20 pages one worker carries, and runs as page tasks (crawl_pages rows).
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, describe, test } from 'node:test';
import Firecrawl from '@mendable/firecrawl-js';
import { articlePage, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** Pages one hop from the start page: with / and the rest, more than one worker's 20. */
const WIDE = 22;

let stack: Stack;
let app: Firecrawl;
let site: TestServer;
const requests: string[] = [];

/**
 * / links to /a and /w/1…/w/22; /a → /a/b → /a/b/c; /w/N → /w/N/more; the
 * sitemap names /s (linked from nowhere), and /s → /s/child → /s/child/deep.
 * Every page's nav links / and /about (articlePage).
 */
function render(path: string): string | undefined {
  const page = (title: string, links: string[]) => articlePage(title, `${title}: a page with words of its own. ${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
  const wide = /^\/w\/(\d+)(\/more)?$/.exec(path);
  if (wide) return wide[2] ? page(`More of wide page ${wide[1]}`, []) : page(`Wide page ${wide[1]}`, [`/w/${wide[1]}/more`]);
  const pages: Record<string, () => string> = {
    '/': () => page('Home', ['/a', ...Array.from({ length: WIDE }, (_, i) => `/w/${i + 1}`)]),
    '/about': () => page('About us', []),
    '/a': () => page('Level one', ['/a/b']),
    '/a/b': () => page('Level two', ['/a/b/c']),
    '/a/b/c': () => page('Level three', []),
    '/s': () => page('Sitemap only', ['/s/child']),
    '/s/child': () => page('Sitemap child', ['/s/child/deep']),
    '/s/child/deep': () => page('Sitemap grandchild', []),
  };
  return pages[path]?.();
}

before(async () => {
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    if (url.pathname === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`User-agent: *\nAllow: /\nSitemap: ${site.url}/sitemap.xml\n`);
    if (url.pathname === '/sitemap.xml') {
      return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${site.url}/s</loc></url></urlset>`);
    }
    const body = render(url.pathname);
    if (body === undefined) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  };
  site = await startHttpServer(handler);
  stack = await startStack({ worker: true, config: { CRAWL_HOST_DELAY: '0', CRAWL_PAGE_TASKS: 'true' } });
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

/** The crawled pages' paths, sorted. */
const pathsOf = (docs: { metadata?: { sourceURL?: string } }[]) => docs.map((d) => new URL(d.metadata!.sourceURL!).pathname).sort();

/** The crawl's page tasks as `path depth hops` (none when it ran on one worker). */
async function tasksOf(jobId: string): Promise<Map<string, string>> {
  const rows = await stack.sql`select url_key, depth, hops from crawl_pages where job_id = ${jobId}`;
  return new Map(rows.map((r) => [new URL(r.url_key as string).pathname, `${r.depth as number} ${r.hops as number}`]));
}

const wide = Array.from({ length: WIDE }, (_, i) => `/w/${i + 1}`);

describe('maxDiscoveryDepth on page tasks', () => {
  test('maxDiscoveryDepth 1 with a limit above 20: the start page, the sitemap\'s URLs and one hop from either, as page tasks', async () => {
    const crawled = await app.crawl(`${site.url}/`, { limit: 50, maxDiscoveryDepth: 1, pollInterval: 1 });
    assert.equal(crawled.status, 'completed', JSON.stringify(crawled).slice(0, 500));
    assert.deepEqual(pathsOf(crawled.data), ['/', '/a', '/about', '/s', '/s/child', ...wide].sort());
    assert.equal(crawled.total, WIDE + 5);

    const tasks = await tasksOf(crawled.id);
    assert.equal(tasks.size, WIDE + 5, 'one page task per page, and none beyond the depth');
    // The sitemap's URL is one below the start page for maxDepth, yet 0 hops; its link is 1 hop.
    assert.equal(tasks.get('/s'), '1 0');
    assert.equal(tasks.get('/s/child'), '2 1');
    assert.equal(tasks.get('/a'), '1 1');
    for (const path of ['/a/b', '/s/child/deep', '/w/1/more']) assert.ok(!requests.includes(path), `${path}, two hops away, is not even fetched`);
  });

  test('maxDiscoveryDepth 0: the start page and the sitemap\'s URLs only', async () => {
    const crawled = await app.crawl(`${site.url}/`, { limit: 50, maxDiscoveryDepth: 0, pollInterval: 1 });
    assert.equal(crawled.status, 'completed');
    assert.deepEqual(pathsOf(crawled.data), ['/', '/s']);
    assert.deepEqual([...(await tasksOf(crawled.id)).keys()].sort(), ['/', '/s']);
  });

  test('without maxDiscoveryDepth the chains are followed to their ends', async () => {
    const crawled = await app.crawl(`${site.url}/`, { limit: 100, pollInterval: 1 });
    assert.equal(crawled.status, 'completed');
    const paths = pathsOf(crawled.data);
    for (const path of ['/a/b/c', '/s/child/deep', '/w/1/more']) assert.ok(paths.includes(path), `${path} is crawled`);
    assert.equal((await tasksOf(crawled.id)).get('/s/child/deep'), '3 2');
  });
});
