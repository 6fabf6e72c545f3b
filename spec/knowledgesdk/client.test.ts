// KnowledgeSDK's official Node client against Gleaner: every call it makes,
// reproduced request for request (contract.ts: its headers, paths, bodies
// with its own extra fields, its error mapping), each response checked
// against a zod schema written from the client's own types.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configuredBrowserSource, sharedBrowser } from '../../core/browser/index.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  asClientReads,
  businessClassification,
  clientKey,
  clientRequest,
  ClientError,
  extractAsyncResult,
  extractResult,
  jobResult,
  scrapeResult,
  screenshotResult,
  searchResult,
  sitemapResult,
} from './contract.js';

let stack: Stack;
let site: FixtureSite;
let key: string;
const call = <T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown) => clientRequest<T>(stack.baseUrl, key, method, path, data);

before(async () => {
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', EXTRACT_SYNC_TIMEOUT: '60s' } });
  site = await startFixtureSite();
  await stack.startWorker({ pipeline: stack.knowledgePipeline() });
  key = clientKey(stack.key); // the client's constructor insists on sk_ks_…
});
after(() => site.close());

/** jobs.poll (src/api/jobs.ts): GET /v1/jobs/{id} until completed or failed. */
async function poll(jobId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = asClientReads(jobResult, await call('GET', `/jobs/${jobId}`), 'jobs.get');
    if (job.status === 'completed' || job.status === 'failed') return job;
    assert.ok(Date.now() < deadline, `job ${jobId} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('extract', () => {
  test('extract.run: POST /v1/business answers with the ExtractResult, business profile included', async () => {
    const result = asClientReads(extractResult, await call('POST', '/business', { url: `${site.baseUrl}/`, maxPages: 6 }), 'extract.run');
    assert.equal(result.business.businessName, 'Orchard Ledger');
    assert.ok(result.business.confidenceScore >= 0 && result.business.confidenceScore <= 1);
    assert.equal(result.pagesScraped, result.knowledgeItems.length);
    assert.ok(result.pagesScraped >= 2 && result.pagesScraped <= 6, String(result.pagesScraped));
    assert.ok(result.sitemapUrls > 0, 'the fixture site’s sitemaps were read');
    const pricing = result.knowledgeItems.find((i) => new URL(i.source).pathname.startsWith('/pricing'));
    assert.equal(pricing?.category, 'pricing');
    assert.ok(result.business.keyInsights.some((k) => /\$29 per month/.test(k)), JSON.stringify(result.business.keyInsights));
  });

  test('extract.runAsync + jobs.poll: the same job as /v1/extract/async, its result the ExtractResult, error a string when it fails', async () => {
    const started = asClientReads(extractAsyncResult, await call('POST', '/business/async', { url: `${site.baseUrl}/about`, maxPages: 2, callbackUrl: undefined }), 'extract.runAsync');
    const done = await poll(started.jobId);
    assert.equal(done.status, 'completed');
    assert.ok(done.completedAt);
    asClientReads(extractResult, done.result, 'jobs.poll(…).result');

    const failing = asClientReads(extractAsyncResult, await call('POST', '/business/async', { url: `${site.baseUrl}/missing-page` }), 'extract.runAsync');
    const failed = await poll(failing.jobId);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /404/, 'error is the message the client shows');
  });
});

describe('single-page calls', () => {
  test('scrape.run', async () => {
    const page = asClientReads(scrapeResult, await call('POST', '/scrape', { url: `${site.baseUrl}/pricing` }), 'scrape.run');
    assert.match(page.markdown, /Enterprise plan/);
  });

  test('sitemap.run: the URLs of the fixture site’s sitemaps and start page', async () => {
    const map = asClientReads(sitemapResult, await call('POST', '/sitemap', { url: `${site.baseUrl}/` }), 'sitemap.run');
    assert.equal(map.count, map.urls.length);
    const paths = map.urls.map((u) => new URL(u).pathname);
    for (const p of ['/pricing', '/about', '/blog/cider-pressing-inventory']) assert.ok(paths.some((x) => x.replace(/\/$/, '') === p), `${p} in ${paths.join(', ')}`);
  });

  test('classify.run: a profile from the home, about and pricing pages, no job', async () => {
    const jobsBefore = await stack.sql`select count(*)::int as n from jobs`;
    const profile = asClientReads(businessClassification, await call('POST', '/classify', { url: `${site.baseUrl}/` }), 'classify.run');
    assert.equal(profile.businessName, 'Orchard Ledger');
    assert.match(profile.description, /bookkeeping software/);
    assert.ok(profile.confidenceScore >= 0 && profile.confidenceScore <= 1);
    assert.ok(profile.valueProposition.length > 0 && profile.uniqueSellingPoints.length > 0);
    assert.ok(profile.keyInsights.some((k) => /Pricing: .*\$249 per month/.test(k)), JSON.stringify(profile.keyInsights));
    const jobsAfter = await stack.sql`select count(*)::int as n from jobs`;
    assert.equal(jobsAfter[0]?.n, jobsBefore[0]?.n);
    const paths = site.paths();
    assert.ok(paths.includes('/about') && paths.includes('/pricing'), 'the about and pricing pages were read');
  });

  test('search.run with the client’s own apiKeyId field: {hits, total, query}', async () => {
    const found = asClientReads(searchResult, await call('POST', '/search', { query: 'enterprise plan', limit: 5, apiKeyId: 'key_whatever' }), 'search.run');
    assert.equal(found.query, 'enterprise plan');
    assert.equal(found.total, found.hits.length);
    assert.ok(found.hits.length > 0 && found.hits.length <= 5);
    assert.ok(found.hits.some((h) => /enterprise plan/i.test(h.content)), JSON.stringify(found.hits.map((h) => [h.source, h.content.slice(0, 80)])));
  });

  test('screenshot.run: a base64 PNG, or 503 browser_unavailable with a message where no browser is configured', async () => {
    if (configuredBrowserSource().kind === 'none') {
      const err = await call('POST', '/screenshot', { url: `${site.baseUrl}/pricing` }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof ClientError);
      return;
    }
    const shot = asClientReads(screenshotResult, await call('POST', '/screenshot', { url: `${site.baseUrl}/pricing` }).finally(() => sharedBrowser().close()), 'screenshot.run');
    assert.deepEqual([...Buffer.from(shot.screenshot, 'base64').subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

describe('errors as the client shows them', () => {
  test('a 4xx reaches the user as its message and code, not "[object Object]"', async () => {
    const err = await call('POST', '/sitemap', { url: 'not a url' }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ClientError);
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'validation_error');
    assert.match(err.message, /url/);
    assert.doesNotMatch(err.message, /object Object/);
  });

  test('the same key as knowledgesdk_live_… and sk_ks_… is one key; a wrong one is a 401', async () => {
    await clientRequest(stack.baseUrl, stack.key, 'GET', '/jobs?limit=1');
    await clientRequest(stack.baseUrl, key, 'GET', '/jobs?limit=1');
    const err = await clientRequest(stack.baseUrl, `sk_ks_${'A'.repeat(40)}`, 'GET', '/jobs?limit=1').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ClientError && err.statusCode === 401);
  });
});

test('extract.run within the client’s 30 s default: with the job still running, the route answers with the job reference', async () => {
  // No worker here, and a sync timeout past the client's: the route still answers in time (25 s cap).
  const idle = await startStack({ config: { EXTRACT_SYNC_TIMEOUT: '120s' } });
  const res = await clientRequest<{ jobId: string; status: string }>(idle.baseUrl, clientKey(idle.key), 'POST', '/business', { url: `${site.baseUrl}/`, maxPages: 2 });
  asClientReads(extractAsyncResult, res, 'extract.run (still running)');
  assert.equal(res.status, 'pending');
});
