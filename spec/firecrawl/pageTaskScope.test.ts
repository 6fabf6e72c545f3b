// Firecrawl's crawl scope options on the page-task path (CRAWL_PAGE_TASKS),
// through the official SDK (v2 client and .v1 client) against a running
// Gleaner and a site with subdomains: allowSubdomains, allowExternalLinks,
// crawlEntireDomain (v1 allowBackwardLinks), ignoreQueryParameters, sitemap
// include|skip|only (v1 ignoreSitemap), includePaths / excludePaths across
// hosts, maxDiscoveryDepth across hosts, and v1's maxDepth. Every crawl is checked to have run as page tasks
// (its crawl_progress row). Subdomains need names: the worker's outbound
// clients resolve every name to 127.0.0.1 (the client's lookup test hook, as
// spec/firecrawl/crawlScope.test.ts), where one server answers by Host header;
// the address policy still checks the address connected to.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, describe, test } from 'node:test';
import Firecrawl from '@mendable/firecrawl-js';
import { articlePage, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let app: Firecrawl;
let server: TestServer;
/** Host names the worker resolved, and `host/path?query` of every request the site answered. */
const resolved = new Set<string>();
const requests: string[] = [];
let port = 0;

/** Every page of every host, by `host/path` (no trailing slash); the start site's pages link across hosts. */
function pages(): Record<string, (query: string) => string> {
  const at = (host: string, path: string) => `http://${host}:${port}${path}`;
  const page = (title: string, links: string[]) => () => articlePage(title, `${title}: a page with words of its own. ${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
  return {
    'localhost/': page('Home', ['/blog/', '/q?x=1', '/q?x=2', '/docs/', at('www.localhost', '/w'), at('docs.localhost', '/guide'), at('a.b.localhost', '/deep'), at('other.test', '/x')]),
    'localhost/about': page('About us', []),
    'localhost/blog': page('Blog index', ['/blog/post']),
    'localhost/blog/post': page('Blog post', []),
    'localhost/q': (query) => articlePage(`Query ${query}`, `The page for the query ${query}, with words of its own.`),
    'localhost/s': page('Sitemap only', []),
    'localhost/docs': page('Docs index', ['/docs/a']),
    'localhost/docs/a': page('Docs level two', ['/docs/a/b']),
    'localhost/docs/a/b': page('Docs level three', ['/docs/a/b/c']),
    'localhost/docs/a/b/c': page('Docs level four', []),
    'www.localhost/w': page('The www host', []),
    'docs.localhost/guide': page('Guide on the docs subdomain', [at('docs.localhost', '/guide/more')]),
    'docs.localhost/guide/more': page('More of the guide', []),
    'a.b.localhost/deep': page('Two levels of subdomain', []),
    'other.test/x': page('Another site', []),
  };
}

before(async () => {
  const handler: http.RequestListener = (req, res) => {
    const host = (req.headers.host ?? '').split(':')[0]!;
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${host}${url.pathname}${url.search}`);
    if (url.pathname === '/robots.txt') {
      if (host !== 'localhost') return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`User-agent: *\nAllow: /\nSitemap: http://localhost:${port}/sitemap.xml\n`);
    }
    if (host === 'localhost' && url.pathname === '/sitemap.xml') {
      return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://localhost:${port}/s</loc></url></urlset>`);
    }
    const render = pages()[`${host}${url.pathname.replace(/(.)\/$/, '$1')}`];
    if (!render) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(render(url.search));
  };
  server = await startHttpServer(handler);
  port = server.port;
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', CRAWL_PAGE_TASKS: 'true' } });
  await stack.startWorker({
    lookup: async (hostname) => {
      resolved.add(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    },
  });
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

const start = (path = '/') => `http://localhost:${port}${path}`;

/** The crawled pages as `host/path?query` (no trailing slash), sorted. */
const pagesOf = (docs: { metadata?: { sourceURL?: string } }[]) =>
  docs
    .map((d) => new URL(d.metadata!.sourceURL!))
    .map((u) => `${u.hostname}${u.pathname.replace(/(.)\/$/, '$1')}${u.search}`)
    .sort();

/** Asserts the crawl ran as page tasks, not on one worker. */
async function ranAsPageTasks(jobId: string): Promise<void> {
  const [row] = await stack.sql`select max_pages from crawl_progress where job_id = ${jobId}`;
  assert.ok(row, `crawl ${jobId} ran as page tasks`);
}

/** The site's own pages (localhost and www.localhost) a whole-site crawl with the sitemap makes. */
const SITE = ['localhost/', 'localhost/about', 'localhost/blog', 'localhost/blog/post', 'localhost/docs', 'localhost/docs/a', 'localhost/docs/a/b', 'localhost/docs/a/b/c', 'localhost/q?x=1', 'localhost/q?x=2', 'localhost/s', 'www.localhost/w'];

describe('hosts on the page-task path', () => {
  test('by default the site and its www. host only: subdomains and other hosts are never even resolved', async () => {
    const crawled = await app.crawl(start(), { limit: 40, pollInterval: 1 });
    assert.equal(crawled.status, 'completed');
    await ranAsPageTasks(crawled.id);
    assert.deepEqual(pagesOf(crawled.data), SITE);
    for (const host of ['docs.localhost', 'a.b.localhost', 'other.test']) assert.ok(!resolved.has(host), `${host} was resolved`);
  });

  test('allowSubdomains follows docs.<site> and a.b.<site> (and their links); another site never', async () => {
    const crawled = await app.crawl(start(), { limit: 40, allowSubdomains: true, pollInterval: 1 });
    await ranAsPageTasks(crawled.id);
    assert.deepEqual(pagesOf(crawled.data), [...SITE, 'a.b.localhost/deep', 'docs.localhost/guide', 'docs.localhost/guide/more'].sort());
    assert.ok(!resolved.has('other.test'), 'another site is never resolved');
    assert.ok(requests.includes('docs.localhost/robots.txt'), 'the subdomain\'s own robots.txt is read');
  });

  test('allowExternalLinks follows another site too (its robots.txt read first)', async () => {
    const crawled = await app.crawl(start(), { limit: 40, allowExternalLinks: true, pollInterval: 1 });
    await ranAsPageTasks(crawled.id);
    assert.deepEqual(pagesOf(crawled.data), [...SITE, 'a.b.localhost/deep', 'docs.localhost/guide', 'docs.localhost/guide/more', 'other.test/x'].sort());
    const other = requests.filter((r) => r.startsWith('other.test/'));
    assert.equal(other[0], 'other.test/robots.txt');
  });

  test('includePaths / excludePaths match the path on every host', async () => {
    const crawled = await app.crawl(start(), { limit: 40, allowSubdomains: true, sitemap: 'skip', includePaths: ['^/(guide|deep|w)'], excludePaths: ['/more$'], pollInterval: 1 });
    await ranAsPageTasks(crawled.id);
    assert.deepEqual(pagesOf(crawled.data), ['a.b.localhost/deep', 'docs.localhost/guide', 'www.localhost/w']);
  });
});

describe('paths, queries and sitemaps on the page-task path', () => {
  test('a crawl stays below the start URL\'s path; crawlEntireDomain (v1 allowBackwardLinks) lifts it', async () => {
    const below = await app.crawl(start('/blog/'), { limit: 40, pollInterval: 1 });
    await ranAsPageTasks(below.id);
    assert.deepEqual(pagesOf(below.data), ['localhost/blog', 'localhost/blog/post']);

    const whole = await app.crawl(start('/blog/'), { limit: 40, crawlEntireDomain: true, sitemap: 'skip', pollInterval: 1 });
    await ranAsPageTasks(whole.id);
    assert.deepEqual(pagesOf(whole.data), SITE.filter((p) => p !== 'localhost/s'));

    const v1 = await app.v1.crawlUrl(start('/blog/'), { limit: 40, allowBackwardLinks: true, ignoreSitemap: true }, 1);
    assert.ok(v1.success, JSON.stringify(v1));
    assert.deepEqual(pagesOf((v1 as { data: { metadata?: { sourceURL?: string } }[] }).data), SITE.filter((p) => p !== 'localhost/s'));
  });

  test('ignoreQueryParameters: one page per path whatever its query', async () => {
    const before = requests.filter((r) => r.startsWith('localhost/q')).length;
    const crawled = await app.crawl(start(), { limit: 40, ignoreQueryParameters: true, pollInterval: 1 });
    await ranAsPageTasks(crawled.id);
    // The page's URL is its key: without the query.
    assert.deepEqual(pagesOf(crawled.data), [...SITE.filter((p) => !p.startsWith('localhost/q')), 'localhost/q'].sort());
    assert.equal(requests.filter((r) => r.startsWith('localhost/q')).length - before, 1, 'the second query is not fetched');
  });

  test('sitemap: skip never reads it; only crawls its URLs and the start page without following links; v1 ignoreSitemap skips it', async () => {
    const sitemapReads = () => requests.filter((r) => r === 'localhost/sitemap.xml').length;
    const before = sitemapReads();
    const skip = await app.crawl(start(), { limit: 40, sitemap: 'skip', pollInterval: 1 });
    await ranAsPageTasks(skip.id);
    assert.deepEqual(pagesOf(skip.data), SITE.filter((p) => p !== 'localhost/s'));
    assert.equal(sitemapReads(), before, 'the sitemap is not read');

    const only = await app.crawl(start(), { limit: 40, sitemap: 'only', pollInterval: 1 });
    await ranAsPageTasks(only.id);
    assert.deepEqual(pagesOf(only.data), ['localhost/', 'localhost/s']);

    const include = await app.crawl(start(), { limit: 40, sitemap: 'include', pollInterval: 1 });
    assert.ok(pagesOf(include.data).includes('localhost/s'), 'include reads the sitemap');

    const v1 = await app.v1.crawlUrl(start(), { limit: 40, ignoreSitemap: true }, 1);
    assert.ok(v1.success, JSON.stringify(v1));
    assert.ok(!pagesOf((v1 as { data: { metadata?: { sourceURL?: string } }[] }).data).includes('localhost/s'), 'v1 ignoreSitemap is sitemap: skip');
  });
});

describe('maxDiscoveryDepth on the page-task path', () => {
  test('with subdomains: one hop from the start page on every host', async () => {
    const crawled = await app.crawl(start(), { limit: 40, allowSubdomains: true, sitemap: 'skip', maxDiscoveryDepth: 1, pollInterval: 1 });
    assert.equal(crawled.status, 'completed');
    await ranAsPageTasks(crawled.id);
    assert.deepEqual(pagesOf(crawled.data), ['a.b.localhost/deep', 'docs.localhost/guide', 'localhost/', 'localhost/about', 'localhost/blog', 'localhost/docs', 'localhost/q?x=1', 'localhost/q?x=2', 'www.localhost/w']);
  });
});

describe('v1 maxDepth', () => {
  test('counts path segments below the start URL\'s own, on page tasks', async () => {
    const deepAsks = () => requests.filter((r) => r === 'localhost/docs/a/b').length;
    const before = deepAsks();
    const one = await app.v1.asyncCrawlUrl(start('/docs/'), { limit: 40, maxDepth: 1 });
    assert.ok(one.success, JSON.stringify(one));
    const id = (one as { id: string }).id;
    const done = await stack.waitForStatus(id, ['completed', 'failed'], 60_000);
    assert.equal(done.status, 'completed');
    await ranAsPageTasks(id);
    const status = await app.v1.checkCrawlStatus(id, true);
    assert.ok(status.success, JSON.stringify(status));
    // /docs/ is one segment deep: maxDepth 1 allows two, so /docs/a/b (three) is not even fetched.
    assert.deepEqual(pagesOf((status as { data: { metadata?: { sourceURL?: string } }[] }).data), ['localhost/docs', 'localhost/docs/a']);
    assert.equal(deepAsks(), before, '/docs/a/b is not fetched');

    const fromRoot = await app.v1.crawlUrl(start(), { limit: 40, maxDepth: 1, ignoreSitemap: true }, 1);
    assert.ok(fromRoot.success, JSON.stringify(fromRoot));
    assert.deepEqual(pagesOf((fromRoot as { data: { metadata?: { sourceURL?: string } }[] }).data), ['localhost/', 'localhost/about', 'localhost/blog', 'localhost/docs', 'localhost/q?x=1', 'localhost/q?x=2', 'www.localhost/w']);

    const zero = await app.v1.crawlUrl(start('/docs/'), { limit: 40, maxDepth: 0 }, 1);
    assert.deepEqual(pagesOf((zero as { data: { metadata?: { sourceURL?: string } }[] }).data), ['localhost/docs']);
  });

  test('v2, which has no maxDepth, refuses it by name', async () => {
    const v2 = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: start(), maxDepth: 2 } });
    assert.equal(v2.status, 400);
    assert.equal(v2.body.code, 'UNSUPPORTED_OPTION');
    assert.match(v2.body.error, /^maxDepth: .*maxDiscoveryDepth/);
  });
});
