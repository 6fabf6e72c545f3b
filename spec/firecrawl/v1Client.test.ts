// The SDK's .v1 client (which most loaders still use) through what the v2
// client's tests cover: scrape in each format, onlyMainContent both ways,
// include/exclude tags, a missing page's status code; a blocked address on
// every route of both clients; and x-idempotency-key as the SDKs send it.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import Firecrawl, { SdkError } from '@mendable/firecrawl-js';
import { setSharedBrowser } from '../../core/browser/index.js';
import { needBrowser, testBrowserService } from '../browser/helpers.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let site: FixtureSite;
let app: Firecrawl;

const PAGE = `<!doctype html><html lang="fr"><head><title>Pressoir</title>
<meta property="og:title" content="Le pressoir"><meta name="description" content="Comment le cidre est pressé."><script>var tracking = 1;</script></head>
<body><header><a href="/">Accueil</a> <a href="/boutique">Boutique</a></header>
<article><h1>Presser le cidre</h1><p class="lead">Apples are washed, milled into pomace and pressed; the juice ferments for weeks in cool cellars before it is bottled.</p>
<p class="detail">A good press extracts most of the juice without crushing the pips, which would make the cider bitter.</p></article>
<footer>Footer text of the pressing page</footer></body></html>`;

/** A v1 document: the v1 client returns the document's fields beside success. */
interface V1Doc {
  success: boolean;
  markdown?: string;
  html?: string;
  rawHtml?: string;
  links?: string[];
  screenshot?: string;
  metadata?: Record<string, unknown>;
}

before(async () => {
  site = await startFixtureSite({ routes: { '/pressoir': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE) } });
  stack = await startStack();
  setSharedBrowser(testBrowserService());
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

describe('v1 scrape', () => {
  test('markdown, html (cleaned main content), rawHtml (as served) and links, with the page\'s metadata', async () => {
    const doc = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['markdown', 'html', 'rawHtml', 'links'] })) as V1Doc;
    assert.equal(doc.success, true);
    assert.match(doc.markdown ?? '', /# Presser le cidre/);
    assert.doesNotMatch(doc.markdown ?? '', /Footer text/);
    assert.match(doc.html ?? '', /<h1>Presser le cidre<\/h1>/);
    assert.doesNotMatch(doc.html ?? '', /<script|<header|<footer/);
    assert.equal(doc.rawHtml, PAGE);
    assert.deepEqual(doc.links, [`${site.baseUrl}/`, `${site.baseUrl}/boutique`]);
    assert.deepEqual(
      { ogTitle: doc.metadata?.['ogTitle'], description: doc.metadata?.['description'], language: doc.metadata?.['language'], statusCode: doc.metadata?.['statusCode'], sourceURL: doc.metadata?.['sourceURL'] },
      { ogTitle: 'Le pressoir', description: 'Comment le cidre est pressé.', language: 'fr', statusCode: 200, sourceURL: `${site.baseUrl}/pressoir` },
    );
    const only = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['html'] })) as V1Doc;
    assert.equal(only.markdown, undefined, 'only the formats asked for');
  });

  test('onlyMainContent false gives the whole page; true (the default) its main content', async () => {
    const main = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['markdown'], onlyMainContent: true })) as V1Doc;
    const whole = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['markdown'], onlyMainContent: false })) as V1Doc;
    assert.doesNotMatch(main.markdown ?? '', /Footer text|Boutique/);
    assert.match(whole.markdown ?? '', /Footer text of the pressing page/);
    assert.match(whole.markdown ?? '', /\[Boutique\]\(/);
    assert.doesNotMatch(whole.markdown ?? '', /tracking/);
  });

  test('includeTags keeps only the matching elements, excludeTags removes them', async () => {
    const only = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['markdown'], includeTags: ['.lead'] })) as V1Doc;
    assert.match(only.markdown ?? '', /Apples are washed/);
    assert.doesNotMatch(only.markdown ?? '', /good press extracts/);
    const without = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['markdown'], excludeTags: ['p.lead', 'h1'] })) as V1Doc;
    assert.doesNotMatch(without.markdown ?? '', /Apples are washed|Presser le cidre/);
    assert.match(without.markdown ?? '', /good press extracts/);
  });

  test('a missing page: a document with its status code and error', async () => {
    const doc = (await app.v1.scrapeUrl(`${site.baseUrl}/no-such-page`, { formats: ['markdown'] })) as V1Doc;
    assert.equal(doc.metadata?.['statusCode'], 404);
    assert.match(String(doc.metadata?.['error']), /404/);
  });

  test('screenshot: a PNG data URL from the browser', async (t) => {
    if (!needBrowser(t)) return;
    const doc = (await app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['screenshot'] })) as V1Doc;
    assert.match(doc.screenshot ?? '', /^data:image\/png;base64,iVBOR/);
  });

  test('an unsupported format is a 400 naming it', async () => {
    await assert.rejects(app.v1.scrapeUrl(`${site.baseUrl}/pressoir`, { formats: ['json'] }), (err: { statusCode?: number; message?: string }) => err.statusCode === 400 && /formats\.0: the format "json" is not supported/.test(err.message ?? ''));
  });
});

describe('a blocked address', () => {
  test('refused on scrape, crawl, map and batch scrape by both clients, and never fetched', async () => {
    const strict = await startStack({ config: { ALLOW_PRIVATE_NETWORKS: 'false' } });
    const client = new Firecrawl({ apiKey: strict.key, apiUrl: `${strict.baseUrl}/firecrawl` });
    const before = site.requests.length;
    const url = `${site.baseUrl}/pressoir`;
    const v1Refused = (field: RegExp) => (err: { statusCode?: number; message?: string }) => err.statusCode === 400 && field.test(err.message ?? '');
    await assert.rejects(client.v1.scrapeUrl(url, { formats: ['markdown'] }), v1Refused(/url: /));
    await assert.rejects(client.v1.asyncCrawlUrl(url, { limit: 2 }), v1Refused(/url: /));
    // The v1 client's mapUrl rethrows every failure as its own 500, with axios's message carrying the server's status.
    await assert.rejects(client.v1.mapUrl(url, {}), /status code 400/);
    await assert.rejects(client.v1.asyncBatchScrapeUrls([url], { formats: ['markdown'] }), v1Refused(/urls\.0: /));
    for (const [name, call, field] of [
      ['scrape', () => client.scrape(url), /url: /],
      ['crawl', () => client.startCrawl(url, { limit: 2 }), /url: /],
      ['map', () => client.map(url), /url: /],
      ['batch', () => client.startBatchScrape([url]), /urls\.0: /],
    ] as const) {
      await assert.rejects(call(), (err: unknown) => err instanceof SdkError && err.status === 400 && field.test(err.message), name);
    }
    // A name that resolves to loopback is refused on the address it resolved to.
    const viaDns = `http://localhost:${new URL(site.baseUrl).port}/pressoir`;
    await assert.rejects(client.v1.scrapeUrl(viaDns, { formats: ['markdown'] }), (err: { statusCode?: number }) => err.statusCode === 400);
    await assert.rejects(client.v1.mapUrl(viaDns, {}), /status code 400/);
    assert.equal(site.requests.length, before, 'nothing was fetched');
  });
});

describe('x-idempotency-key as the SDKs send it', () => {
  test('v1 crawl and batch scrape, v2 batch scrape: the same key and body is the same job; another body is a 409', async () => {
    const crawlA = (await app.v1.asyncCrawlUrl(`${site.baseUrl}/`, { limit: 2 }, 'idem-v1-crawl')) as { id: string };
    const crawlB = (await app.v1.asyncCrawlUrl(`${site.baseUrl}/`, { limit: 2 }, 'idem-v1-crawl')) as { id: string };
    assert.equal(crawlB.id, crawlA.id);
    await assert.rejects(app.v1.asyncCrawlUrl(`${site.baseUrl}/`, { limit: 3 }, 'idem-v1-crawl'), (err: { statusCode?: number }) => err.statusCode === 409);

    const urls = [`${site.baseUrl}/pricing`, `${site.baseUrl}/about`];
    const batchA = (await app.v1.asyncBatchScrapeUrls(urls, { formats: ['markdown'] }, 'idem-v1-batch')) as { id: string };
    const batchB = (await app.v1.asyncBatchScrapeUrls(urls, { formats: ['markdown'] }, 'idem-v1-batch')) as { id: string };
    assert.equal(batchB.id, batchA.id);

    const v2A = await app.startBatchScrape(urls, { idempotencyKey: 'idem-v2-batch' });
    const v2B = await app.startBatchScrape(urls, { idempotencyKey: 'idem-v2-batch' });
    assert.equal(v2B.id, v2A.id);
    await assert.rejects(app.startBatchScrape([urls[0]!], { idempotencyKey: 'idem-v2-batch' }), (err: unknown) => err instanceof SdkError && err.status === 409);

    const [row] = await stack.sql`select count(*)::int as n from jobs where api_key_id = ${stack.apiKeyId} and idempotency_key like 'idem-%'`;
    assert.equal(row!.n, 3, 'one job per key');
    for (const id of [crawlA.id, batchA.id, v2A.id]) await stack.request('DELETE', `/firecrawl/v2/crawl/${id}`);
  });
});

describe('team/credit-usage', () => {
  test('answers the SDKs and n8n\'s credential test (GET <base URL with version>/team/credit-usage); a wrong key is a 401', async () => {
    const v2 = await app.getCreditUsage();
    assert.ok(v2.remainingCredits > 0, `remainingCredits ${v2.remainingCredits}`);
    const v1 = (await app.v1.getCreditUsage()) as { success: boolean; data?: { remaining_credits?: number } };
    assert.equal(v1.success, true);
    assert.ok((v1.data?.remaining_credits ?? 0) > 0, JSON.stringify(v1));
    for (const base of [`${stack.baseUrl}/firecrawl/v2`, `${stack.baseUrl}/firecrawl/v1`]) {
      const ok = await fetch(`${base}/team/credit-usage`, { headers: { authorization: `Bearer ${stack.key}` } });
      assert.equal(ok.status, 200, base);
      const wrong = await fetch(`${base}/team/credit-usage`, { headers: { authorization: 'Bearer gl_not_a_key' } });
      assert.equal(wrong.status, 401, base);
    }
  });
});
