// The crawl scope (worker/pipeline/crawl/scope.ts) on its own and through the
// one-worker crawler with the real outbound client: hosts (site, subdomains
// by name, any), sitemap skip|only, ignoreQueryParameters and the discovery
// depth. Subdomains need names: the client's resolver (its test hook) sends
// *.localhost to 127.0.0.1, where one server answers by Host header.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSilentLogger } from '../../core/platform/logger.js';
import { runCrawl, type CrawlInput } from '../../worker/pipeline/crawl/crawler.js';
import { crawlScope } from '../../worker/pipeline/crawl/scope.js';
import { pathDepth } from '../../worker/pipeline/crawl/urls.js';
import type { StepContext } from '../../worker/pipeline/types.js';
import { crawlTestClient } from '../helpers/crawlClient.js';
import { articlePage, startHttpServer } from '../helpers/http.js';

describe('crawlScope', () => {
  const start = 'http://example.com:8080/docs/';
  test('hosts: the site (www. included), its subdomains on the same port, or any host', () => {
    const site = crawlScope({ url: start });
    const subs = crawlScope({ url: start, scope: { hosts: 'subdomains' } });
    const any = crawlScope({ url: start, scope: { hosts: 'any' } });
    const cases: [string, boolean, boolean, boolean][] = [
      ['http://www.example.com:8080/a', true, true, true],
      ['https://example.com:8080/a', true, true, true],
      ['http://blog.example.com:8080/a', false, true, true],
      ['http://a.b.example.com:8080/a', false, true, true],
      ['http://blog.example.com:9090/a', false, false, true],
      ['http://notexample.com:8080/a', false, false, true],
      ['http://example.com.evil.test:8080/a', false, false, true],
      ['mailto:someone@example.com', false, false, false],
    ];
    for (const [url, inSite, inSubs, inAny] of cases) {
      assert.deepEqual([site.inScope(url), subs.inScope(url), any.inScope(url)], [inSite, inSubs, inAny], url);
    }
  });

  test('ignoreQueryParameters drops the query from the key only; depth and sitemap modes', () => {
    const plain = crawlScope({ url: start });
    const noQuery = crawlScope({ url: start, scope: { ignoreQueryParameters: true, maxDiscoveryDepth: 1, sitemap: 'only' } });
    assert.equal(plain.key('http://example.com:8080/a?x=1#f'), 'http://example.com:8080/a?x=1');
    assert.equal(noQuery.key('http://example.com:8080/a?x=1#f'), 'http://example.com:8080/a');
    assert.deepEqual([plain.withinDepth(50), noQuery.withinDepth(1), noQuery.withinDepth(2)], [true, true, false]);
    assert.deepEqual([plain.followLinks, plain.readSitemaps, noQuery.followLinks, noQuery.readSitemaps], [true, true, false, true]);
    assert.equal(crawlScope({ url: start, scope: { sitemap: 'skip' } }).readSitemaps, false);
  });

  test('maxPathDepth (v1 maxDepth): path segments as Firecrawl counts them, index pages and empty segments not counted', () => {
    assert.deepEqual(['http://x.test/', 'http://x.test/index.html', 'http://x.test/docs/', 'http://x.test//docs//a/index.php', 'http://x.test/a/b/c?q=/d/e', 'not a url'].map(pathDepth), [0, 0, 1, 2, 3, null]);
    const scope = crawlScope({ url: start, scope: { maxPathDepth: 2 } });
    assert.deepEqual(['/docs', '/docs/a/', '/docs/a/index.html', '/docs/a/b'].map((p) => scope.filter(`http://example.com:8080${p}`)), [true, true, true, false]);
  });

  test('include/exclude globs and path regexes are one filter (an exclude wins)', () => {
    const scope = crawlScope({ url: start, includePatterns: ['/docs/**'], includePathRegexes: ['guide'], excludePathRegexes: ['old$'] });
    assert.deepEqual(
      ['/docs/guide', '/docs/guide/old', '/blog/guide', '/docs/api'].map((p) => scope.filter(`http://example.com:8080${p}`)),
      [true, false, false, false],
    );
  });
});

describe('the one-worker crawler in scope', () => {
  test('allowSubdomains follows docs.<site>; the site alone does not; another host never', async () => {
    const server = await startHttpServer((req, res) => {
      const host = (req.headers.host ?? '').split(':')[0];
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/robots.txt') return void res.writeHead(404).end();
      const pages: Record<string, string> = {
        'localhost/': articlePage('Home', `The home page. <a href="http://docs.localhost:${port}/guide">Guide</a> <a href="http://elsewhere.test:${port}/x">Elsewhere</a>`),
        'docs.localhost/guide': articlePage('Guide', 'The guide on the docs subdomain.'),
        'elsewhere.test/x': articlePage('Elsewhere', 'A page on another host.'),
      };
      const body = pages[`${host}${url.pathname}`];
      if (!body) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    });
    const port = server.port;
    const asked: string[] = [];
    const client = crawlTestClient({
      lookup: async (hostname) => {
        asked.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const ctx: StepContext = { jobId: 'job_scope', apiKeyId: 'key_scope', logger: createSilentLogger(), signal: new AbortController().signal, progress: () => {} };
    const crawl = (input: Omit<CrawlInput, 'url'>) => runCrawl({ url: `http://localhost:${port}/`, ...input }, { robotsUserAgent: 'GleanerBot', hostConcurrency: 2, hostDelayMs: 0 }, { client }, ctx);
    const hostsOf = (pages: { url: string }[]) => pages.map((p) => new URL(p.url).hostname).sort();

    const site = await crawl({ maxPages: 5 });
    assert.deepEqual(hostsOf(site.pages), ['localhost']);
    const subs = await crawl({ maxPages: 5, scope: { hosts: 'subdomains' } });
    assert.deepEqual(hostsOf(subs.pages), ['docs.localhost', 'localhost']);
    assert.ok(!asked.includes('elsewhere.test'), 'another host is never even resolved');
    const any = await crawl({ maxPages: 5, scope: { hosts: 'any' } });
    assert.deepEqual(hostsOf(any.pages), ['docs.localhost', 'elsewhere.test', 'localhost']);
  });
});
