// The service's pipeline end to end: the fixture site on 127.0.0.1, crawled
// through the API by a worker running crawl → chunk → embed (the stand-in
// model) → index (Postgres), then searched. The stand-in has no semantic
// quality, so nothing here depends on what the vectors mean: search ranking
// is checked with words (the full-text half of the hybrid ranking), and
// categories only for coming from the label set.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { CATEGORIES } from '../../core/page/categories.js';
import { chunkId, embeddingText } from '../../worker/pipeline/knowledge.js';
import { assertDocumented, documentedResult } from '../helpers/documented.js';
import { errorDetails } from '../helpers/errors.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { testConfig } from '../helpers/config.js';

let stack: Stack;
let site: FixtureSite;

const submit = (body: Record<string, unknown>, key?: string) => stack.request('POST', '/v1/extract/async', { body, ...(key ? { key } : {}) });
const search = (body: Record<string, unknown>, key?: string) => stack.request('POST', '/v1/search', { body, ...(key ? { key } : {}) });

async function finished(jobId: string, timeoutMs = 60_000) {
  const job = await stack.waitForStatus(jobId, ['completed', 'failed'], timeoutMs);
  return (await stack.request('GET', `/v1/jobs/${job.id}`)).body;
}

before(async () => {
  // No politeness delay here: spec/crawl covers it; these tests are about the data path.
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', EXTRACT_SYNC_TIMEOUT: '20s' } });
  site = await startFixtureSite();
  await stack.startWorker({ pipeline: stack.knowledgePipeline() });
});

describe('a crawl of the fixture site', () => {
  let result: any;
  const progress: any[] = [];

  before(async () => {
    const res = await submit({ url: `${site.baseUrl}/`, maxPages: 20 });
    assert.equal(res.status, 202);
    const jobId = res.body.jobId;
    // Poll quickly to see progress move while it runs.
    for (;;) {
      const job = (await stack.request('GET', `/v1/jobs/${jobId}`)).body;
      if (job.progress) progress.push(job.progress);
      if (job.status === 'completed' || job.status === 'failed') {
        assert.equal(job.status, 'completed', JSON.stringify(job.error));
        result = job.result;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  test('returns one knowledge item per allowed page, in KnowledgeSDK’s shape', () => {
    const sources: string[] = result.knowledgeItems.map((i: any) => new URL(i.source).pathname);
    assert.equal(new Set(sources).size, sources.length, 'no page twice');
    for (const path of ['/', '/pricing', '/about', '/careers', '/docs/getting-started', '/docs/api/reference', '/docs/api/auth', '/blog']) {
      assert.ok(sources.includes(path), `${path} in ${sources.join(', ')}`);
    }
    assert.ok(!sources.some((p) => p.startsWith('/private')), 'robots.txt disallows /private/');
    assertDocumented(documentedResult, result, 'the crawl result');
    assert.ok(result.knowledgeItems.length >= 8);
    for (const item of result.knowledgeItems) {
      assert.deepEqual(Object.keys(item).sort(), ['category', 'content', 'description', 'source', 'title']);
      assert.ok(item.title && item.description && item.content.length > 50, JSON.stringify(item).slice(0, 200));
      assert.ok(CATEGORIES.includes(item.category), item.category);
    }
    assert.equal(result.pagesScraped, result.knowledgeItems.length);
    assert.ok(result.urlsDiscovered >= result.pagesScraped);
    assert.equal(result.pages.length, result.pagesScraped);
    assert.equal(result.chunksIndexed, result.pages.reduce((n: number, p: any) => n + p.chunks, 0));
    assert.ok(Array.isArray(result.failedPages));
  });

  test('derives the business summary from the home page’s own metadata', () => {
    assert.equal(result.business.domain, '127.0.0.1');
    assert.ok(result.business.description, 'the home page has a meta description');
  });

  test('reported progress while it ran, ending with every page indexed', () => {
    assert.ok(progress.length > 1);
    const scraped = progress.map((p) => p.pagesScraped ?? 0);
    assert.deepEqual(scraped, [...scraped].sort((a, b) => a - b), 'pagesScraped never goes back');
    const last = progress.at(-1);
    assert.equal(last.currentStep, 'done');
    assert.equal(last.pagesIndexed, result.pagesScraped);
    assert.ok(progress.some((p) => p.currentStep !== 'done' && typeof p.totalPages === 'number'), JSON.stringify(progress.slice(0, 5)));
  });

  test('stored every chunk within the token budget, with its url, title and heading path', async () => {
    const rows = await stack.sql`select id, url, title, heading_path, content, position from chunks where api_key_id = ${stack.apiKeyId}`;
    assert.equal(rows.length, result.chunksIndexed);
    const embedder = await stack.knowledge.embedder();
    const counts = await embedder.countTokens(rows.map((r) => r.content as string));
    for (const [i, row] of rows.entries()) {
      assert.equal(row.id, chunkId(stack.apiKeyId, row.url, row.position));
      assert.ok((counts[i] as number) <= stack.config.chunking.maxTokens, `${row.url}#${row.position}`);
      assert.ok(row.title.length > 0);
    }
    assert.ok(rows.some((r) => r.heading_path.length > 0));
  });

  test('search ranks the page whose words match first, tenant-scoped', async () => {
    const res = await search({ query: 'enterprise plan for cooperatives', limit: 5 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.results.length > 0);
    const top = res.body.results[0];
    assert.equal(new URL(top.source).pathname, '/pricing');
    assert.match(top.snippet.toLowerCase(), /enterprise/);
    assert.ok(CATEGORIES.includes(top.category));
    assert.deepEqual(Object.keys(top).sort(), ['category', 'chunkId', 'headingPath', 'jobId', 'score', 'snippet', 'source', 'title']);

    const other = await createApiKey(stack.sql, 'other tenant');
    const theirs = await search({ query: 'enterprise plan for cooperatives' }, other.key);
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body.results, [], 'another key sees none of these chunks');
  });

  test('search without a lexical match still answers from the vectors', async () => {
    const res = await search({ query: 'zzqx vrrbl', limit: 3 });
    assert.equal(res.status, 200);
    assert.equal(res.body.results.length, 3);
  });

  test('search filters by category and url prefix', async () => {
    // Unfiltered, the query finds pages inside and outside /docs/ and of more than one category, so each filter has something to remove.
    const all = (await search({ query: 'orchard', limit: 50 })).body.results as { source: string; category: string }[];
    const docs = all.filter((r) => r.source.startsWith(`${site.baseUrl}/docs/`));
    assert.ok(docs.length > 0 && docs.length < all.length, `${docs.length} of ${all.length} results under /docs/`);
    const byPrefix = await search({ query: 'orchard', limit: 50, filters: { urlPrefixes: [`${site.baseUrl}/docs/`] } });
    assert.ok(byPrefix.body.results.length > 0);
    for (const r of byPrefix.body.results) assert.ok(r.source.startsWith(`${site.baseUrl}/docs/`), r.source);
    const category = result.knowledgeItems[0].category;
    const inCategory = all.filter((r) => r.category === category);
    assert.ok(inCategory.length > 0 && inCategory.length < all.length, `${inCategory.length} of ${all.length} results in ${category}`);
    const byCategory = await search({ query: 'orchard', limit: 50, filters: { categories: [category] } });
    assert.ok(byCategory.body.results.length > 0);
    for (const r of byCategory.body.results) assert.equal(r.category, category);
  });

  test('re-extracting a page replaces its chunks: no duplicates, no stale text', async () => {
    const pricing = `${site.baseUrl}/pricing`;
    const before = await stack.sql`select count(*)::int as n from chunks where api_key_id = ${stack.apiKeyId} and url = ${pricing}`;
    const job = await finished((await submit({ url: pricing })).body.jobId);
    assert.equal(job.status, 'completed');
    const after = await stack.sql`select count(*)::int as n, count(distinct job_id)::int as jobs, min(job_id) as job from chunks where api_key_id = ${stack.apiKeyId} and url = ${pricing}`;
    assert.equal(after[0]?.n, before[0]?.n);
    assert.equal(after[0]?.jobs, 1);
    assert.equal(after[0]?.job, job.jobId);
  });
});

describe('the pipeline on its own', () => {
  test('a page is embedded with its title and heading path as context', () => {
    assert.equal(embeddingText('Pricing', { headingPath: ['Plans', 'Enterprise'], content: 'Body.' }), 'Pricing › Plans › Enterprise\nBody.');
    assert.equal(embeddingText('', { headingPath: [], content: 'Body.' }), 'Body.');
  });

  test('a crawl in which no page succeeds fails the job with every reason', async () => {
    const b = site.baseUrl;
    const job = await finished((await submit({ url: `${b}/`, urls: [`${b}/missing-page`, `${b}/private/payroll`, `${b}/downloads/price-list.pdf`] })).body.jobId);
    assert.equal(job.status, 'failed');
    assert.equal(job.errorDetail.code, 'no_pages', JSON.stringify(job.errorDetail));
    assert.deepEqual(
      job.errorDetail.failures.map((f: any) => [new URL(f.url).pathname, f.reason]).sort(),
      [
        ['/downloads/price-list.pdf', 'pdf_invalid'], // a PDF is read, and this one has no pages
        ['/missing-page', 'upstream_status'],
        ['/private/payroll', 'robots_disallowed'],
      ],
    );
  });

  test('a one-page job that fails carries the page’s own error', async () => {
    const job = await finished((await submit({ url: `${site.baseUrl}/missing-page` })).body.jobId);
    assert.equal(job.status, 'failed');
    assert.deepEqual([job.errorDetail.code, job.errorDetail.status], ['upstream_status', 404]);
  });

  test('include and exclude patterns limit what is indexed', async () => {
    const job = await finished((await submit({ url: `${site.baseUrl}/`, maxPages: 20, includePatterns: ['/docs/**'], excludePatterns: ['/docs/api/auth'] })).body.jobId);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const paths = job.result.knowledgeItems.map((i: any) => new URL(i.source).pathname).sort();
    // /docs/quickstart declares /docs/getting-started canonical, so it is the same page.
    assert.deepEqual(paths, ['/docs/api/reference', '/docs/getting-started']);
  });
});

describe('POST /v1/extract (synchronous)', () => {
  test('answers with the finished job when it completes in time', async () => {
    const res = await stack.request('POST', '/v1/extract', { body: { url: `${site.baseUrl}/about` } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'completed');
    assert.equal(res.body.result.knowledgeItems.length, 1);
    assert.match(res.body.jobId, /^job_/);
  });

  test('answers 202 with the job id when the wait runs out, and the job still completes', async () => {
    const slow = await startStack({ config: { CRAWL_HOST_DELAY: '0', EXTRACT_SYNC_TIMEOUT: '50ms' } });
    const res = await slow.request('POST', '/v1/extract', { body: { url: `${site.baseUrl}/careers` } });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('location'), `/v1/jobs/${res.body.jobId}`);
    assert.equal(res.body.status, 'pending', 'no worker runs on this stack yet');
    await slow.startWorker({ pipeline: slow.knowledgePipeline() });
    const job = await slow.waitForStatus(res.body.jobId, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed');
  });

  test('validates like the async route', async () => {
    const res = await stack.request('POST', '/v1/extract', { body: { url: 'ftp://x' } });
    assert.equal(res.status, 400);
    assert.equal((errorDetails(res.body) as any)[0].field, 'url');
  });
});

describe('POST /v1/scrape', () => {
  test('returns one page’s markdown, metadata and links without a job', async () => {
    const jobsBefore = await stack.sql`select count(*)::int as n from jobs`;
    const res = await stack.request('POST', '/v1/scrape', { body: { url: `${site.baseUrl}/pricing` } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.markdown, /Enterprise plan/);
    assert.match(res.body.title, /Pricing/);
    assert.ok(res.body.links.length > 0);
    const jobsAfter = await stack.sql`select count(*)::int as n from jobs`;
    assert.equal(jobsAfter[0]?.n, jobsBefore[0]?.n);
  });

  test('maps upstream failures to 502/422 with the reason, and refuses private addresses by default', async () => {
    const missing = await stack.request('POST', '/v1/scrape', { body: { url: `${site.baseUrl}/missing-page` } });
    assert.equal(missing.status, 502);
    assert.equal((errorDetails(missing.body) as any).code, 'upstream_status');
    assert.equal((errorDetails(missing.body) as any).status, 404);

    const pdf = await stack.request('POST', '/v1/scrape', { body: { url: `${site.baseUrl}/downloads/price-list.pdf` } });
    assert.equal(pdf.status, 422, JSON.stringify(pdf.body));

    const guarded = await startStack({ config: { ALLOW_PRIVATE_NETWORKS: 'false' } });
    const refused = await guarded.request('POST', '/v1/scrape', { body: { url: `${site.baseUrl}/pricing` } });
    assert.equal(refused.status, 400);
    assert.equal((errorDetails(refused.body) as any)[0].field, 'url');
    assert.equal(testConfig().allowPrivateNetworks, true, 'tests allow loopback only through configuration');
  });

  test('validates the body', async () => {
    const res = await stack.request('POST', '/v1/scrape', { body: { url: 'nope', extra: 1 } });
    assert.equal(res.status, 400);
    const fields = (errorDetails(res.body) as any).map((d: any) => d.field).sort();
    // The bad URL is named; the unknown field is ignored (clients add their own).
    assert.deepEqual(fields, ['url']);
  });
});

describe('POST /v1/search validation', () => {
  test('names each bad field', async () => {
    const res = await search({ query: '  ', limit: 500, filters: { categories: ['nonsense'], jobIds: ['x'] } });
    assert.equal(res.status, 400);
    const fields = (errorDetails(res.body) as any).map((d: any) => d.field).sort();
    assert.deepEqual(fields, ['filters.categories.0', 'filters.jobIds.0', 'limit', 'query']);
  });

  test('needs a key', async () => {
    const res = await stack.request('POST', '/v1/search', { body: { query: 'x' }, key: null });
    assert.equal(res.status, 401);
  });
});
