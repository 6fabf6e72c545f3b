// Sitemap bombs: 300,000 nested elements, plain (2.1 MB) and gzipped (a few
// KB), served by a real HTTP server next to the fixture site's real sitemaps.
// They are refused at the nesting cap after reading the first chunk; the
// real sitemaps are still read. "Fast" is judged against a calibration in
// this run: reading a flat document of the same size with the same reader.
import assert from 'node:assert/strict';
import type http from 'node:http';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { onCleanup } from '../helpers/cleanup.js';
import { startFixtureSite } from '../helpers/fixtureSite.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { createOutboundClient } from '../../core/outbound/index.js';
import { runCrawl } from '../../worker/pipeline/crawl/crawler.js';
import { DEFAULT_SITEMAP_LIMITS, MAX_SITEMAP_NESTING, parseSitemap, readSitemapBody, readSitemaps } from '../../worker/pipeline/crawl/sitemap.js';
import type { StepContext } from '../../worker/pipeline/types.js';

const DEPTH = 300_000;
const nestedBomb = Buffer.from(`<?xml version="1.0"?><urlset>${'<x>'.repeat(DEPTH)}${'</x>'.repeat(DEPTH)}</urlset>`);
const gzippedBomb = zlib.gzipSync(nestedBomb, { level: 9 });
// The same size, flat: what a linear reader must get through anyway.
const flat = Buffer.from(`<?xml version="1.0"?><urlset>${'<x></x>'.repeat(DEPTH)}</urlset>`);

/** Milliseconds to read the flat document in full (best of three): the work a linear reader is allowed. */
async function calibrate(): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const parsed = await readSitemapBody(flat, 'https://example.com/sitemap.xml', 1000, flat.length);
    best = Math.min(best, performance.now() - started);
    assert.equal(parsed.kind, 'urlset');
  }
  return best;
}

const client = createOutboundClient({
  allowPrivateNetworks: true,
  userAgent: 'GleanerTest/1.0',
  connectTimeoutMs: 2000,
  headersTimeoutMs: 5000,
  bodyTimeoutMs: 5000,
  totalTimeoutMs: 10_000,
  maxBodyBytes: 5 * 1024 * 1024,
  maxRedirects: 5,
});
onCleanup(() => client.close());

describe('sitemap nesting bombs', () => {
  it(`are refused at ${MAX_SITEMAP_NESTING} levels, plain and gzipped, within the time of reading a flat document`, async () => {
    assert.ok(gzippedBomb.length < 20_000, `the gzipped bomb is small (${gzippedBomb.length} bytes)`);
    const budget = 2 * (await calibrate()) + 50;
    for (const [name, body] of [['plain', nestedBomb], ['gzipped', gzippedBomb]] as const) {
      const started = performance.now();
      await assert.rejects(readSitemapBody(body, 'https://example.com/sitemap.xml', 1000, 10 * 1024 * 1024), {
        name: 'SitemapError',
        message: `XML nested deeper than ${MAX_SITEMAP_NESTING} elements`,
      });
      const took = performance.now() - started;
      assert.ok(took <= budget, `${name}: ${took.toFixed(1)} ms; calibrated budget ${budget.toFixed(1)} ms`);
    }
    assert.throws(() => parseSitemap(nestedBomb.toString(), 'https://example.com/sitemap.xml'), /nested deeper/);
  });

  it('a sitemap stops at the URL cap and at the size cap, keeping what it read', async () => {
    const urls = (n: number) => `<urlset>${Array.from({ length: n }, (_, i) => `<url><loc>https://example.com/p${i}</loc></url>`).join('')}</urlset>`;
    const capped = await readSitemapBody(zlib.gzipSync(urls(5000)), 'https://example.com/s.xml.gz', 10, 1024 * 1024);
    assert.deepEqual(capped.locs, Array.from({ length: 10 }, (_, i) => `https://example.com/p${i}`));
    const big = Buffer.from(urls(100_000)); // ~5 MB
    const cut = await readSitemapBody(big, 'https://example.com/s.xml', 1_000_000, 256 * 1024);
    assert.equal(cut.kind, 'urlset');
    assert.ok(cut.locs.length > 1000 && cut.locs.length < 100_000, `${cut.locs.length} URLs from the first 256 KiB`);
    assert.match(cut.truncated ?? '', /larger than 262144 bytes/);
    // An inflated size past the cap: the default stops at 2 MiB however well the file compresses.
    const deflated = zlib.gzipSync(Buffer.concat([Buffer.from('<urlset>'), Buffer.alloc(50 * 1024 * 1024, ' ')]));
    const bombed = await readSitemapBody(deflated, 'https://example.com/s.xml.gz', 1000, DEFAULT_SITEMAP_LIMITS.maxInflatedBytes);
    assert.match(bombed.truncated ?? '', /larger than 2097152 bytes/);
  });

  it('a crawl of a site serving the bombs next to its real sitemaps reads the real ones and never stalls the event loop', async () => {
    const budget = 5 * (await calibrate()) + 200;
    const xml = (body: Buffer, gz: boolean): http.RequestListener => (_req, res) =>
      void res.writeHead(200, { 'content-type': gz ? 'application/gzip' : 'application/xml' }).end(body);
    const site: Awaited<ReturnType<typeof startFixtureSite>> = await startFixtureSite({
      routes: {
        '/sitemap-index.xml': (_req, res) =>
          void res.writeHead(200, { 'content-type': 'application/xml' }).end(
            `<sitemapindex>${['/bomb.xml', '/bomb.xml.gz', '/sitemaps/pages.xml', '/sitemaps/blog.xml'].map((p) => `<sitemap><loc>${site.baseUrl}${p}</loc></sitemap>`).join('')}</sitemapindex>`,
          ),
        '/bomb.xml': xml(nestedBomb, false),
        '/bomb.xml.gz': xml(gzippedBomb, true),
      },
    });

    // The largest gap between timer ticks while the crawl runs.
    let last = performance.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    const ctx: StepContext = { jobId: 'job_bomb', apiKeyId: 'key_bomb', logger: createSilentLogger(), signal: new AbortController().signal, progress: () => {} };
    let result;
    try {
      result = await runCrawl({ url: `${site.baseUrl}/`, maxPages: 20 }, { robotsUserAgent: 'GleanerBot', hostConcurrency: 2, hostDelayMs: 0 }, { client }, ctx, () => {});
    } finally {
      clearInterval(ticker);
    }
    const sitemapPaths = site.paths().filter((p) => p.startsWith('/sitemap') || p.startsWith('/bomb'));
    assert.deepEqual(sitemapPaths, ['/sitemap-index.xml', '/bomb.xml', '/bomb.xml.gz', '/sitemaps/pages.xml', '/sitemaps/blog.xml']);
    assert.equal(result.sitemapUrls, 13, 'every URL of the real sitemaps, none from the bombs');
    assert.ok(result.pages.some((p) => p.url.endsWith('/careers')), 'a page listed only in a real sitemap was crawled');
    assert.ok(worstGap <= budget, `the event loop stalled for ${worstGap.toFixed(0)} ms; calibrated budget ${budget.toFixed(0)} ms`);
  });

  it('readSitemaps reports the bombs as problems and goes on', async () => {
    const site = await startFixtureSite({
      routes: {
        '/bomb.xml': (_req, res) => void res.writeHead(200, { 'content-type': 'application/xml' }).end(nestedBomb),
        '/bomb.xml.gz': (_req, res) => void res.writeHead(200, { 'content-type': 'application/gzip' }).end(gzippedBomb),
      },
    });
    const roots = ['/bomb.xml', '/bomb.xml.gz', '/sitemaps/pages.xml'].map((p) => `${site.baseUrl}${p}`);
    const found = await readSitemaps(roots, (u) => client.fetch(u), () => true, DEFAULT_SITEMAP_LIMITS, new AbortController().signal);
    assert.deepEqual(
      found.problems.map((p) => [new URL(p.url).pathname, p.message]),
      [
        ['/bomb.xml', `XML nested deeper than ${MAX_SITEMAP_NESTING} elements`],
        ['/bomb.xml.gz', `XML nested deeper than ${MAX_SITEMAP_NESTING} elements`],
      ],
    );
    assert.ok(found.urls.length > 0 && found.urls.every((u) => u.startsWith(site.baseUrl)));
  });
});
