// robots.txt interpretation (rules, Google's status-code handling,
// Crawl-delay, Sitemap lines) and sitemap parsing and reading limits.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { OutboundError, type FetchedResponse } from '../../core/outbound/index.js';
import { loadRobots, parseRobots, RobotsCache } from '../../worker/pipeline/crawl/robots.js';
import { DEFAULT_SITEMAP_LIMITS, parseSitemap, readSitemaps } from '../../worker/pipeline/crawl/sitemap.js';

const OPTS = { userAgent: 'GleanerBot', maxCrawlDelayMs: 10_000 };
const ORIGIN = 'https://example.com';

function response(url: string, body: string | Uint8Array): FetchedResponse {
  return {
    url,
    status: 200,
    headers: {},
    contentType: 'text/plain',
    body: typeof body === 'string' ? Buffer.from(body) : body,
    redirects: [],
    durationMs: 1,
  };
}

const statusError = (url: string, status: number) => new OutboundError('http_status', url, `server responded with HTTP ${status}`, { status });
const live = new AbortController().signal;

describe('parseRobots', () => {
  const robots = `
# comment
User-agent: *
Disallow: /private/
Allow: /private/press/
Disallow: /*.pdf$
Crawl-delay: 2

User-agent: GleanerBot
Disallow: /drafts
Crawl-delay: 30

Sitemap: https://example.com/sitemap-index.xml
Sitemap: /relative-sitemap.xml
`;

  it('applies the most specific group for our user agent, else "*"', () => {
    const ours = parseRobots(`${ORIGIN}/robots.txt`, robots, OPTS);
    assert.equal(ours.isAllowed(`${ORIGIN}/drafts/x`), false);
    assert.equal(ours.isAllowed(`${ORIGIN}/private/x`), true, 'our group replaces the * group');
    const other = parseRobots(`${ORIGIN}/robots.txt`, robots, { ...OPTS, userAgent: 'SomeoneElse' });
    assert.equal(other.isAllowed(`${ORIGIN}/private/x`), false);
    assert.equal(other.isAllowed(`${ORIGIN}/private/press/release`), true, 'the longest match wins');
    assert.equal(other.isAllowed(`${ORIGIN}/files/a.pdf`), false, 'wildcards and $');
    assert.equal(other.isAllowed(`${ORIGIN}/files/a.pdf?x=1`), true);
    assert.equal(other.isAllowed(`${ORIGIN}/drafts/x`), true);
  });

  it('caps Crawl-delay and lists Sitemap lines as absolute URLs', () => {
    const ours = parseRobots(`${ORIGIN}/robots.txt`, robots, OPTS);
    assert.equal(ours.crawlDelayMs, 10_000, '30 s capped');
    const other = parseRobots(`${ORIGIN}/robots.txt`, robots, { ...OPTS, userAgent: 'Other' });
    assert.equal(other.crawlDelayMs, 2000);
    assert.deepEqual(ours.sitemaps, [`${ORIGIN}/sitemap-index.xml`, `${ORIGIN}/relative-sitemap.xml`]);
  });

  it('an empty or garbage file allows everything', () => {
    for (const body of ['', 'not robots at all\n<html>', 'User-agent: *\nDisallow:\n']) {
      const p = parseRobots(`${ORIGIN}/robots.txt`, body, OPTS);
      assert.equal(p.isAllowed(`${ORIGIN}/anything`), true, JSON.stringify(body));
      assert.equal(p.crawlDelayMs, undefined);
    }
  });
});

describe('loadRobots follows Google on status codes', () => {
  const load = (fetch: (url: string) => Promise<FetchedResponse>) => loadRobots(ORIGIN, fetch, OPTS, live);

  it('2xx: the rules of the file', async () => {
    const p = await load(async (url) => response(url, 'User-agent: *\nDisallow: /x'));
    assert.equal(p.status, 'parsed');
    assert.equal(p.isAllowed(`${ORIGIN}/x`), false);
    assert.equal(p.isAllowed(`${ORIGIN}/y`), true);
  });

  it('a redirected robots.txt governs the origin that was asked', async () => {
    const p = await load(async () => ({ ...response('https://www.example.com/robots.txt', 'User-agent: *\nDisallow: /x'), redirects: [`${ORIGIN}/robots.txt`] }));
    assert.equal(p.isAllowed(`${ORIGIN}/x`), false);
  });

  for (const status of [400, 401, 403, 404, 410]) {
    it(`${status}: no robots.txt, everything allowed`, async () => {
      const p = await load(async (url) => {
        throw statusError(url, status);
      });
      assert.equal(p.status, 'missing');
      assert.equal(p.isAllowed(`${ORIGIN}/private/`), true);
    });
  }

  for (const status of [429, 500, 503]) {
    it(`${status}: the origin is disallowed`, async () => {
      const p = await load(async (url) => {
        throw statusError(url, status);
      });
      assert.equal(p.status, 'unavailable');
      assert.equal(p.isAllowed(`${ORIGIN}/`), false);
      assert.match(p.problem ?? '', new RegExp(String(status)));
    });
  }

  it('unreachable: the origin is disallowed', async () => {
    const p = await load(async (url) => {
      throw new OutboundError('timeout', url, 'no response headers within 15000 ms');
    });
    assert.equal(p.status, 'unavailable');
    assert.equal(p.isAllowed(`${ORIGIN}/`), false);
  });

  it('only the first 500 KiB count', async () => {
    const body = `User-agent: *\n${'# padding\n'.repeat(60_000)}Disallow: /late\n`;
    const p = await load(async (url) => response(url, body));
    assert.equal(p.isAllowed(`${ORIGIN}/late`), true);
  });

  it('an abort of our own is rethrown, not taken for the site', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      loadRobots(
        ORIGIN,
        async (url) => {
          throw new OutboundError('aborted', url, 'request aborted by caller');
        },
        OPTS,
        controller.signal,
      ),
      /aborted/,
    );
  });

  it('RobotsCache fetches once per origin, even for concurrent callers', async () => {
    const loads: string[] = [];
    const cache = new RobotsCache(async (origin) => {
      loads.push(origin);
      await new Promise((r) => setTimeout(r, 10));
      return parseRobots(`${origin}/robots.txt`, '', OPTS);
    });
    await Promise.all([cache.forUrl(`${ORIGIN}/a`), cache.forUrl(`${ORIGIN}/b?c`), cache.forUrl('http://example.com/'), cache.forUrl(`${ORIGIN}/d`)]);
    assert.deepEqual(loads, [ORIGIN, 'http://example.com']);
  });
});

describe('parseSitemap', () => {
  it('reads a urlset, ignoring <image:loc> and resolving entities', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://example.com/a </loc><lastmod>2026-01-01</lastmod>
    <image:image><image:loc>https://example.com/a.png</image:loc></image:image></url>
  <url><loc>https://example.com/b?x=1&amp;y=2</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
</urlset>`;
    assert.deepEqual(parseSitemap(xml, 'https://example.com/sitemap.xml'), { kind: 'urlset', locs: ['https://example.com/a', 'https://example.com/b?x=1&y=2'] });
  });

  it('reads a sitemap index', () => {
    const xml = `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://example.com/s1.xml</loc></sitemap><sitemap><loc>/s2.xml</loc></sitemap></sitemapindex>`;
    assert.deepEqual(parseSitemap(xml, 'https://example.com/index.xml'), { kind: 'index', locs: ['https://example.com/s1.xml', 'https://example.com/s2.xml'] });
  });

  it('reads a text sitemap, and refuses what is neither', () => {
    assert.deepEqual(parseSitemap('https://example.com/a\r\nhttps://example.com/b\n\n', 'https://example.com/s.txt'), {
      kind: 'text',
      locs: ['https://example.com/a', 'https://example.com/b'],
    });
    assert.equal(parseSitemap('<!doctype html><html><body>Not found</body></html>', 'https://example.com/s').kind, 'unknown');
    assert.equal(parseSitemap('hello\nworld', 'https://example.com/s').kind, 'unknown');
    assert.equal(parseSitemap('', 'https://example.com/s').kind, 'unknown');
  });
});

describe('readSitemaps', () => {
  const urlset = (n: number, prefix: string) =>
    `<urlset>${Array.from({ length: n }, (_, i) => `<url><loc>https://example.com/${prefix}${i}</loc></url>`).join('')}</urlset>`;
  const index = (locs: string[]) => `<sitemapindex>${locs.map((l) => `<sitemap><loc>${l}</loc></sitemap>`).join('')}</sitemapindex>`;

  function server(files: Record<string, string | Uint8Array>) {
    const fetched: string[] = [];
    const fetch = async (url: string) => {
      fetched.push(new URL(url).pathname);
      const body = files[new URL(url).pathname];
      if (body === undefined) throw statusError(url, 404);
      return response(url, body);
    };
    return { fetch, fetched };
  }

  it('follows nested indexes breadth-first and reads gzipped sitemaps', async () => {
    const { fetch, fetched } = server({
      '/index.xml': index(['https://example.com/nested.xml', 'https://example.com/a.xml.gz']),
      '/nested.xml': index(['https://example.com/b.xml']),
      '/a.xml.gz': zlib.gzipSync(urlset(2, 'a')),
      '/b.xml': urlset(2, 'b'),
    });
    const result = await readSitemaps(['https://example.com/index.xml'], fetch, () => true, DEFAULT_SITEMAP_LIMITS, live);
    assert.deepEqual(fetched, ['/index.xml', '/nested.xml', '/a.xml.gz', '/b.xml']);
    assert.deepEqual(
      result.urls.map((u) => new URL(u).pathname),
      ['/a0', '/a1', '/b0', '/b1'],
    );
    assert.equal(result.sitemapsRead, 4);
  });

  it('stops at the depth, file and URL limits, and skips what fails', async () => {
    const { fetch, fetched } = server({
      '/l0.xml': index(['https://example.com/l1.xml', 'https://example.com/missing.xml', 'https://example.com/big.xml']),
      '/l1.xml': index(['https://example.com/l2.xml']),
      '/l2.xml': urlset(3, 'deep'),
      '/big.xml': urlset(50, 'big'),
    });
    const shallow = await readSitemaps(['https://example.com/l0.xml'], fetch, () => true, { ...DEFAULT_SITEMAP_LIMITS, maxDepth: 1, maxUrls: 20 }, live);
    assert.ok(!fetched.includes('/l2.xml'), 'depth 2 not followed');
    assert.equal(shallow.urls.length, 20, 'URL cap');
    assert.deepEqual(shallow.problems.map((p) => new URL(p.url).pathname), ['/missing.xml']);

    const few = await readSitemaps(['https://example.com/l0.xml'], fetch, () => true, { ...DEFAULT_SITEMAP_LIMITS, maxSitemaps: 2 }, live);
    assert.equal(few.sitemapsRead, 2);
  });

  it('fetches only the sitemaps `follow` allows, each once', async () => {
    const { fetch, fetched } = server({
      '/index.xml': index(['https://example.com/ok.xml', 'https://other.example/evil.xml', 'https://example.com/ok.xml']),
      '/ok.xml': urlset(1, 'ok'),
    });
    const result = await readSitemaps(['https://example.com/index.xml'], fetch, (u) => new URL(u).hostname === 'example.com', DEFAULT_SITEMAP_LIMITS, live);
    assert.deepEqual(fetched, ['/index.xml', '/ok.xml']);
    assert.deepEqual(result.urls, ['https://example.com/ok0']);
  });
});
