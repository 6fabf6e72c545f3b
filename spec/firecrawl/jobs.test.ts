// Firecrawl's crawl, batch scrape and map through the official SDK (v2 client
// and .v1 client) against a running Gleaner with a worker and the fixture
// site. A crawl is an ordinary Gleaner job: it shows in /v1/jobs and its pages
// are found by /v1/search.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import Firecrawl, { SdkError } from '@mendable/firecrawl-js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let site: FixtureSite;
let slowSite: FixtureSite;
let app: Firecrawl;

/** Paths of the fixture site a whole-site crawl makes pages of (robots.txt keeps /private/ out; /docs/quickstart is canonically /docs/getting-started). */
const SITE_PAGES = ['/', '/about', '/blog', '/blog/cider-pressing-inventory', '/blog/frost-season-cash-flow', '/blog/introducing-orchard-ledger-2', '/careers', '/docs/api/auth', '/docs/api/reference', '/docs/getting-started', '/legal/privacy', '/pricing'];

const pathOf = (url: string) => new URL(url).pathname.replace(/(.)\/$/, '$1');

async function expectSdkError(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SdkError, `expected an SdkError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

async function getJson(url: string, key = stack.key): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  site = await startFixtureSite();
  slowSite = await startFixtureSite({ latencyMs: (path) => (path === '/robots.txt' ? 0 : 400) });
  stack = await startStack({ worker: true, config: { CRAWL_HOST_DELAY: '0' } });
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

describe('crawl', () => {
  let crawlId = '';
  let crawled: Awaited<ReturnType<Firecrawl['crawl']>>;

  test('the v2 waiter polls to completion; every page has Markdown and metadata', async () => {
    crawled = await app.crawl(site.baseUrl, { limit: 20, pollInterval: 1, scrapeOptions: { formats: ['markdown'], onlyMainContent: true } });
    crawlId = crawled.id;
    assert.equal(crawled.status, 'completed');
    assert.equal(crawled.total, SITE_PAGES.length);
    assert.equal(crawled.completed, SITE_PAGES.length);
    // More than one status page (10 documents each): the SDK followed `next`.
    assert.equal(crawled.data.length, SITE_PAGES.length);
    assert.deepEqual(crawled.data.map((d) => pathOf(d.metadata!.sourceURL!)).sort(), SITE_PAGES);
    const pricing = crawled.data.find((d) => pathOf(d.metadata!.sourceURL!) === '/pricing')!;
    assert.match(pricing.markdown ?? '', /Enterprise plan — \$249 per month/);
    assert.equal(pricing.metadata?.title, 'Pricing — Orchard Ledger');
    assert.equal(pricing.metadata?.statusCode, 200);
  });

  test('the crawl is an ordinary Gleaner job: listed in /v1/jobs, its pages found by /v1/search', async () => {
    const jobs = await stack.request('GET', '/v1/jobs');
    assert.ok(jobs.body.jobs.some((j: { jobId: string; status: string }) => j.jobId === crawlId && j.status === 'completed'));
    const found = await stack.request('POST', '/v1/search', { body: { query: 'enterprise plan for cooperatives and packhouses', filters: { jobIds: [crawlId] } } });
    assert.equal(found.status, 200);
    assert.ok(found.body.results.some((r: { source: string }) => pathOf(r.source) === '/pricing'), JSON.stringify(found.body).slice(0, 300));
  });

  test('status pages by skip and an absolute next URL: v1 leaves next out on the last page, v2 sends null', async () => {
    const first = await app.v1.checkCrawlStatus(crawlId, false, undefined, 0, 5);
    assert.ok(first.success);
    assert.equal((first as { data: unknown[] }).data.length, 5);
    const seen: string[] = (first as { data: { metadata: { sourceURL: string } }[] }).data.map((d) => d.metadata.sourceURL);
    let next = (first as { next?: string }).next;
    let pages = 1;
    let last: any = null;
    while (next) {
      assert.match(next, new RegExp(`^${stack.baseUrl}/firecrawl/v1/crawl/${crawlId}\\?skip=\\d+&limit=5$`));
      const page = await getJson(next);
      assert.equal(page.status, 200);
      seen.push(...page.body.data.map((d: { metadata: { sourceURL: string } }) => d.metadata.sourceURL));
      last = page.body;
      next = page.body.next;
      pages++;
    }
    assert.equal(pages, 3); // 5 + 5 + 2
    assert.equal('next' in last, false, 'v1: no next key on the last page');
    assert.equal(new Set(seen).size, SITE_PAGES.length);
    const v2Last = await getJson(`${stack.baseUrl}/firecrawl/v2/crawl/${crawlId}?skip=10`);
    assert.equal(v2Last.body.next, null);
    assert.equal(v2Last.body.data.length, SITE_PAGES.length - 10);
    const v2First = await app.getCrawlStatus(crawlId, { autoPaginate: false });
    assert.equal(v2First.data.length, 10);
    assert.match(v2First.next ?? '', /\/firecrawl\/v2\/crawl\/.+\?skip=10$/);
  });

  test('the v1 waiter (crawlUrl) collects every page', async () => {
    const result = await app.v1.crawlUrl(site.baseUrl, { limit: 5 }, 1);
    assert.ok(result.success);
    const data = (result as { data: { metadata: { sourceURL: string } }[] }).data;
    assert.equal(data.length, 5);
    assert.equal(new Set(data.map((d) => d.metadata.sourceURL)).size, 5);
  });

  test('includePaths and excludePaths are regular expressions on the path', async () => {
    const docs = await app.crawl(site.baseUrl, { includePaths: ['^/docs/'], excludePaths: ['auth$'], pollInterval: 1 });
    assert.equal(docs.status, 'completed');
    assert.deepEqual(docs.data.map((d) => pathOf(d.metadata!.sourceURL!)).sort(), ['/docs/api/reference', '/docs/getting-started']);
  });

  test('by default a crawl stays below the start URL\'s path (crawlEntireDomain lifts it)', async () => {
    const below = await app.crawl(`${site.baseUrl}/blog/`, { pollInterval: 1 });
    assert.ok(below.data.length >= 3);
    assert.ok(below.data.every((d) => pathOf(d.metadata!.sourceURL!).startsWith('/blog')), below.data.map((d) => d.metadata?.sourceURL).join(' '));
  });

  test('cancel with DELETE (v2 and v1); the status then says cancelled', async () => {
    const started = await app.startCrawl(slowSite.baseUrl, { limit: 20 });
    assert.match(started.url, new RegExp(`/firecrawl/v2/crawl/${started.id}$`));
    assert.equal(await app.cancelCrawl(started.id), true);
    const status = await app.getCrawlStatus(started.id);
    assert.equal(status.status, 'cancelled');
    const v1 = await app.v1.asyncCrawlUrl(slowSite.baseUrl, { limit: 20 });
    assert.ok(v1.success);
    const cancelled = await app.v1.cancelCrawl((v1 as { id: string }).id);
    assert.equal((cancelled as unknown as { status: string }).status, 'cancelled');
    // Cancelling again is still an answer, not an error.
    assert.equal(await app.cancelCrawl(started.id), true);
  });

  test('errors: failed pages and robots refusals, from both clients', async () => {
    const v2 = await app.getCrawlErrors(crawlId);
    assert.ok(Array.isArray(v2.errors));
    assert.ok(Array.isArray(v2.robotsBlocked));
    const v1 = await app.v1.checkCrawlErrors(crawlId);
    assert.ok((v1 as { success: boolean }).success);
  });

  test('x-idempotency-key replays the same crawl; a different body with it is a 409', async () => {
    const post = (body: unknown) =>
      fetch(`${stack.baseUrl}/firecrawl/v1/crawl`, { method: 'POST', headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'application/json', 'x-idempotency-key': 'fc-crawl-1' }, body: JSON.stringify(body) });
    const a = (await (await post({ url: site.baseUrl, limit: 2, origin: 'js-sdk@4', integration: 'test' })).json()) as { id: string };
    const b = (await (await post({ url: site.baseUrl, limit: 2, origin: 'js-sdk@4', integration: 'test' })).json()) as { id: string };
    assert.equal(a.id, b.id);
    const c = await post({ url: site.baseUrl, limit: 3 });
    assert.equal(c.status, 409);
    await stack.waitForStatus(a.id, ['completed']);
  });

  test('options Gleaner cannot honour are 400s that name them', async () => {
    // v2 has no maxDepth (v1's is accepted: spec/firecrawl/pageTaskScope.test.ts).
    const depth = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: site.baseUrl, maxDepth: 2 } });
    assert.equal(depth.status, 400);
    assert.match(depth.body.error, /^maxDepth: is Firecrawl v1's/);
    const html = await expectSdkError(app.startCrawl(site.baseUrl, { scrapeOptions: { formats: ['html'] } }));
    assert.match(html.message, /scrapeOptions\.formats: .*html format is available from scrape only/);
    const regex = await expectSdkError(app.startCrawl(site.baseUrl, { includePaths: ['(a)\\1'] }));
    assert.match(regex.message, /includePaths\.0: is not a valid regular expression/);
    const limit = await expectSdkError(app.startCrawl(site.baseUrl, { limit: 100_000 }));
    assert.match(limit.message, /limit: must be at most \d+/);
    const other = new Firecrawl({ apiKey: 'gl_wrong', apiUrl: `${stack.baseUrl}/firecrawl` });
    assert.equal((await expectSdkError(other.getCrawlStatus(crawlId))).status, 401);
  });

  test('another key\'s crawl is not found', async () => {
    const { createApiKey } = await import('../../core/apiKeys.js');
    const { key } = await createApiKey(stack.sql, 'other');
    const res = await getJson(`${stack.baseUrl}/firecrawl/v2/crawl/${crawlId}`, key);
    assert.equal(res.status, 404);
    assert.equal(res.body.success, false);
  });
});

describe('batch scrape', () => {
  test('v2: the waiter returns a document per URL', async () => {
    const batch = await app.batchScrape([`${site.baseUrl}/pricing`, `${site.baseUrl}/about`], { options: { formats: ['markdown'] }, pollInterval: 1 });
    assert.equal(batch.status, 'completed');
    assert.deepEqual(batch.data.map((d) => pathOf(d.metadata!.sourceURL!)).sort(), ['/about', '/pricing']);
    assert.match(batch.data.find((d) => d.metadata?.sourceURL?.endsWith('/pricing'))?.markdown ?? '', /Grower/);
  });

  test('v1: start, status and cancel; invalid URLs left out with ignoreInvalidURLs', async () => {
    const started = await app.v1.asyncBatchScrapeUrls([`${site.baseUrl}/careers`, 'not a url'], { formats: ['markdown'] }, undefined, undefined, true);
    assert.ok(started.success);
    assert.deepEqual((started as { invalidURLs?: string[] }).invalidURLs, ['not a url']);
    const id = (started as { id: string }).id;
    await stack.waitForStatus(id, ['completed']);
    const status = await app.v1.checkBatchScrapeStatus(id, true);
    assert.equal((status as { status: string }).status, 'completed');
    assert.deepEqual((status as { data: { metadata: { sourceURL: string } }[] }).data.map((d) => pathOf(d.metadata.sourceURL)), ['/careers']);
    const slow = await app.startBatchScrape([`${slowSite.baseUrl}/pricing`, `${slowSite.baseUrl}/about`]);
    assert.equal(await app.cancelBatchScrape(slow.id), true);
    assert.equal((await app.getBatchScrapeStatus(slow.id)).status, 'cancelled');
  });
});

describe('map', () => {
  test('v2 links are {url, title?, description?}; from the start page\'s links and the sitemaps', async () => {
    const map = await app.map(site.baseUrl);
    const paths = map.links.map((l) => pathOf(l.url));
    for (const p of ['/', '/pricing', '/about', '/docs/quickstart', '/blog/frost-season-cash-flow']) assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
    const home = map.links.find((l) => pathOf(l.url) === '/')!;
    assert.ok(home.title);
    const searched = await app.map(site.baseUrl, { search: 'docs', limit: 2 });
    assert.equal(searched.links.length, 2);
    assert.ok(searched.links.every((l) => l.url.includes('docs')));
  });

  test('v1 links are strings', async () => {
    const map = await app.v1.mapUrl(site.baseUrl, { sitemapOnly: true });
    assert.ok(map.success);
    const links = (map as { links: string[] }).links;
    assert.ok(links.length > 3);
    assert.ok(links.every((l) => typeof l === 'string'));
  });
});
