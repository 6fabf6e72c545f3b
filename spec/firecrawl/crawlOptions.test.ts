// Firecrawl's crawl scope options through the official SDK against a running
// Gleaner (page tasks on, so options page tasks take run there and the ones
// only a single worker honours exactly run on one) and small sites on
// 127.0.0.1: maxDiscoveryDepth, sitemap include|skip|only, ignoreQueryParameters,
// allowExternalLinks, includePaths on page tasks, delay, maxConcurrency, and
// GET crawl/active (v2 and v1) scoped to the key.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, describe, test } from 'node:test';
import Firecrawl from '@mendable/firecrawl-js';
import { createApiKey } from '../../core/apiKeys.js';
import { articlePage, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

interface Site {
  server: TestServer;
  /** Paths (with query) in arrival order, and when each request started and ended. */
  log: { path: string; start: number; end: number }[];
  inFlight: number;
  maxInFlight: number;
}

/**
 * A site of chained pages: / links to /a, /q?x=1, /q?x=2 and (when given) a
 * page of another site; /a → /a/b → /a/b/c; the sitemap lists /s, which only
 * it names, and /s links to /s/child. /q's text carries its query.
 */
async function startChainSite(opts: { external?: () => string; latencyMs?: number; name?: string; wide?: number } = {}): Promise<Site> {
  const site: Site = { server: undefined as unknown as TestServer, log: [], inFlight: 0, maxInFlight: 0 };
  const page = (title: string, links: string[]) => articlePage(title, `${title} page of the ${opts.name ?? 'chain'} site. ${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}`);
  const pages: Record<string, (query: string) => string> = {
    '/': () => page('Home', ['/a', '/q?x=1', '/q?x=2', ...(opts.external ? [opts.external()] : []), ...Array.from({ length: opts.wide ?? 0 }, (_, i) => `/w/${i + 1}`)]),
    '/a': () => page('Level one', ['/a/b']),
    '/a/b': () => page('Level two', ['/a/b/c']),
    '/a/b/c': () => page('Level three', []),
    '/q': (query) => page(`Query ${query}`, []),
    '/s': () => page('Sitemap only', ['/s/child']),
    '/s/child': () => page('Sitemap child', []),
  };
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry = { path: `${url.pathname}${url.search}`, start: performance.now(), end: 0 };
    site.log.push(entry);
    site.inFlight++;
    site.maxInFlight = Math.max(site.maxInFlight, site.inFlight);
    res.on('close', () => {
      entry.end = performance.now();
      site.inFlight--;
    });
    const reply = () => {
      const origin = site.server.url;
      if (url.pathname === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`User-agent: *\nAllow: /\nSitemap: ${origin}/sitemap.xml\n`);
      if (url.pathname === '/sitemap.xml') return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${origin}/s</loc></url></urlset>`);
      const wide = /^\/w\/(\d+)$/.exec(url.pathname);
      const render = wide ? () => page(`Wide page number ${wide[1]}`, []) : pages[url.pathname];
      if (!render) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(render(url.search));
    };
    if (opts.latencyMs) setTimeout(reply, opts.latencyMs);
    else reply();
  };
  site.server = await startHttpServer(handler);
  return site;
}

let stack: Stack;
let app: Firecrawl;

before(async () => {
  // Few documents inline in a crawl's result, so status pages must read a page-task crawl's pages beyond them.
  stack = await startStack({ worker: true, config: { CRAWL_HOST_DELAY: '0', CRAWL_PAGE_TASKS: 'true', RESULT_INLINE_ITEMS: '5' } });
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

/** The crawled pages' paths (with query), sorted. */
const pathsOf = (docs: { metadata?: { sourceURL?: string } }[]) => docs.map((d) => new URL(d.metadata!.sourceURL!)).map((u) => `${u.pathname}${u.search}`).sort();
const fetched = (site: Site) => new Set(site.log.map((e) => e.path));

describe('crawl scope options', () => {
  test('maxDiscoveryDepth counts link hops; the start page and sitemap URLs are 0', async () => {
    const site = await startChainSite();
    const one = await app.crawl(`${site.server.url}/`, { limit: 20, maxDiscoveryDepth: 1, pollInterval: 1 });
    assert.equal(one.status, 'completed');
    assert.deepEqual(pathsOf(one.data), ['/', '/a', '/q?x=1', '/q?x=2', '/s', '/s/child']);
    assert.ok(!fetched(site).has('/a/b'), 'a page two hops away is not even fetched');
    const zero = await app.crawl(`${site.server.url}/`, { limit: 20, maxDiscoveryDepth: 0, pollInterval: 1 });
    assert.deepEqual(pathsOf(zero.data), ['/', '/s']);
  });

  test('sitemap: skip never reads the sitemap; only crawls its URLs (and the start page) without following links', async () => {
    const site = await startChainSite();
    const skip = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'skip', pollInterval: 1 });
    assert.deepEqual(pathsOf(skip.data), ['/', '/a', '/a/b', '/a/b/c', '/q?x=1', '/q?x=2']);
    assert.ok(!fetched(site).has('/sitemap.xml') && !fetched(site).has('/s'));

    const only = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'only', pollInterval: 1 });
    assert.deepEqual(pathsOf(only.data), ['/', '/s']);
    assert.ok(!fetched(site).has('/s/child'), 'links are not followed');

    const include = await app.v1.crawlUrl(`${site.server.url}/`, { limit: 20, ignoreSitemap: true }, 1);
    assert.ok(include.success);
    assert.ok(!pathsOf((include as { data: { metadata?: { sourceURL?: string } }[] }).data).includes('/s'), 'v1 ignoreSitemap is sitemap: skip');
  });

  test('ignoreQueryParameters: one page per path whatever its query', async () => {
    const site = await startChainSite();
    const crawled = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'skip', ignoreQueryParameters: true, pollInterval: 1 });
    const paths = crawled.data.map((d) => new URL(d.metadata!.sourceURL!).pathname).sort();
    assert.deepEqual(paths, ['/', '/a', '/a/b', '/a/b/c', '/q']);
    assert.equal(site.log.filter((e) => e.path.startsWith('/q')).length, 1, 'the second query is not fetched');
  });

  test('allowExternalLinks follows links to other sites (still robots.txt, the address policy and limit); off by default', async () => {
    const other = await startChainSite({ name: 'other' });
    const site = await startChainSite({ external: () => `${other.server.url}/a/b/c` });
    const stay = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'skip', pollInterval: 1 });
    assert.ok(!stay.data.some((d) => d.metadata!.sourceURL!.startsWith(other.server.url)));
    assert.equal(other.log.length, 0, 'the other site is never asked');

    const out = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'skip', allowExternalLinks: true, pollInterval: 1 });
    assert.ok(out.data.some((d) => d.metadata!.sourceURL === `${other.server.url}/a/b/c`), JSON.stringify(pathsOf(out.data)));
    assert.equal(other.log[0]?.path, '/robots.txt', 'the external host\'s robots.txt is read before its page');

    const capped = await app.crawl(`${site.server.url}/`, { limit: 2, sitemap: 'skip', allowExternalLinks: true, pollInterval: 1 });
    assert.equal(capped.data.length, 2);
  });

  test('includePaths / excludePaths are regular expressions on the path on the page-task path too', async () => {
    const site = await startChainSite();
    const crawled = await app.crawl(`${site.server.url}/`, { limit: 20, sitemap: 'skip', includePaths: ['^/a(/|$)'], excludePaths: ['/c$'], pollInterval: 1 });
    assert.deepEqual(pathsOf(crawled.data), ['/a', '/a/b']);
  });

  test('delay spaces the crawl\'s page requests to the site', async () => {
    const site = await startChainSite();
    const crawled = await app.crawl(`${site.server.url}/`, { limit: 4, sitemap: 'skip', delay: 0.4, pollInterval: 1 });
    assert.equal(crawled.data.length, 4);
    // robots.txt does not start the politeness clock (worker/pipeline/crawl/crawler.ts): the pages are spaced.
    const starts = site.log.filter((e) => e.path !== '/robots.txt').map((e) => e.start);
    assert.ok(starts.length >= 4, 'four pages at least');
    // Spaced when they leave the crawler; arrival here may jitter by some milliseconds either way.
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 300, `requests ${i - 1} and ${i} were ${Math.round(starts[i]! - starts[i - 1]!)} ms apart`);
  });

  test('maxConcurrency 1: never two requests to the site at once', async () => {
    const site = await startChainSite({ latencyMs: 100 });
    const crawled = await app.crawl(`${site.server.url}/`, { limit: 6, sitemap: 'skip', maxConcurrency: 1, pollInterval: 1 });
    assert.equal(crawled.data.length, 6);
    assert.equal(site.maxInFlight, 1);
  });

  test('options out of range are a 400 naming the field', async () => {
    for (const [field, value] of [['maxDiscoveryDepth', -1], ['maxConcurrency', 0], ['delay', 61], ['sitemap', 'sometimes']] as const) {
      const res = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'http://127.0.0.1:9/', [field]: value } });
      assert.equal(res.status, 400, field);
      assert.equal(res.body.success, false);
      assert.match(res.body.error, new RegExp(field));
    }
  });

  test('options that would change the crawl unnoticed if ignored are refused by name', async () => {
    for (const [field, value] of [['ignoreRobotsTxt', true], ['robotsUserAgent', 'OtherBot'], ['regexOnFullURL', true], ['prompt', 'only the blog'], ['maxDepth', 2]] as const) {
      const res = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'http://127.0.0.1:9/', [field]: value } });
      assert.equal(res.status, 400, field);
      assert.equal(res.body.code, 'UNSUPPORTED_OPTION', field);
      assert.match(res.body.error, new RegExp(`^${field}: `));
    }
    // Their harmless values are accepted, as the SDKs may send them.
    const ok = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'http://127.0.0.1:9/', limit: 1, ignoreRobotsTxt: false, regexOnFullURL: false, prompt: null, robotsUserAgent: null, deduplicateSimilarURLs: true } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await stack.request('DELETE', `/firecrawl/v2/crawl/${ok.body.id}`);
  });
});

describe('crawl limit', () => {
  test('above 20 as page tasks: the waiter pages through every document, past those the result inlines', async () => {
    const site = await startChainSite({ wide: 30 });
    const crawled = await app.crawl(`${site.server.url}/`, { limit: 25, sitemap: 'skip', pollInterval: 1 });
    assert.equal(crawled.status, 'completed');
    assert.equal(crawled.total, 25);
    assert.equal(crawled.data.length, 25);
    assert.equal(new Set(pathsOf(crawled.data)).size, 25);
    const page = await stack.request('GET', `/firecrawl/v1/crawl/${crawled.id}?skip=20&limit=10`);
    assert.equal(page.body.data.length, 5);
    assert.equal(page.body.next, undefined, 'v1 leaves next out on the last page');
  });
});

describe('GET crawl/active', () => {
  test('lists the key\'s running crawls in Firecrawl\'s shape (v2 SDK and v1), not another key\'s, and not once cancelled', async () => {
    const site = await startChainSite({ latencyMs: 1500 });
    const started = await app.startCrawl(`${site.server.url}/`, { limit: 5, sitemap: 'skip', includePaths: ['^/a'], maxConcurrency: 1 });
    const active = await app.getActiveCrawls();
    assert.equal(active.success, true);
    const mine = active.crawls.find((c) => c.id === started.id);
    assert.ok(mine, `${JSON.stringify(active)} ${JSON.stringify((await stack.request('GET', `/v1/jobs/${started.id}`)).body)}`);
    assert.equal(mine.url, `${site.server.url}/`);
    assert.equal(mine.teamId, stack.apiKeyId);
    assert.deepEqual({ limit: mine.options?.['limit'], includePaths: mine.options?.['includePaths'], sitemap: mine.options?.['sitemap'], maxConcurrency: mine.options?.['maxConcurrency'] }, { limit: 5, includePaths: ['^/a'], sitemap: 'skip', maxConcurrency: 1 });

    const v1 = await stack.request('GET', '/firecrawl/v1/crawl/active');
    assert.equal(v1.status, 200);
    assert.ok(v1.body.crawls.some((c: { id: string }) => c.id === started.id));

    const { key: otherKey } = await createApiKey(stack.sql, 'other tenant');
    const other = await stack.request('GET', '/firecrawl/v2/crawl/active', { key: otherKey });
    assert.equal(other.status, 200);
    assert.deepEqual(other.body, { success: true, crawls: [] });

    await app.cancelCrawl(started.id);
    const after = await app.getActiveCrawls();
    assert.ok(!after.crawls.some((c) => c.id === started.id));
  });
});
