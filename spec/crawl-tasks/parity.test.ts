// A crawl reads the same whether it runs as page tasks (CRAWL_PAGE_TASKS=true)
// or on one worker (false): the same crawl is run on both paths, each on its
// own stack and its own copy of the site, and the results are compared.
// Canonical URLs and same-text pages make one page each (an alias is never
// fetched), .pdf links are not queued, the job's render mode reaches every
// page, and the result carries the same fields (business profile and
// sitemapUrls included).
import assert from 'node:assert/strict';
import type http from 'node:http';
import { before, describe, test } from 'node:test';
import { getCrawlProgress } from '../../core/crawlTasks/index.js';
import type { Job } from '../../core/jobs/index.js';
import { startFixtureSite } from '../helpers/fixtureSite.js';
import { fixtureSite, startHttpServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const page = (title: string, body: string, head = '', links: string[] = []) =>
  `<!doctype html><html lang="en"><head><title>${title}</title><meta property="og:site_name" content="Parity Farm">${head}</head>
  <body><nav>${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}</nav>
  <article><h1>${title}</h1><p>${body}</p><p>${body} Every sentence here is long enough to be read as text of the page.</p></article></body></html>`;

const SAME = page('Apple varieties', 'Bramley, Cox and Egremont Russet grow in the old orchard by the river.');

/** The site the de-duplication rules are read on; `hits` counts requests per path. */
async function dedupSite(): Promise<{ url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const routes: Record<string, string> = {
    '/': page('Parity Farm', 'A farm shop with apples, pears and cider from its own trees.', '', ['/a', '/b', '/c', '/e', '/price-list.pdf']),
    // Same text at two URLs: one page.
    '/a': SAME,
    '/b': SAME,
    // /c stands for its canonical URL, linked only from /c: it is never fetched.
    '/c': page('Cider', 'Our cider is pressed in October from windfalls and bittersweet apples.', '<link rel="canonical" href="/c-main">', ['/c-main']),
    '/c-main': page('Cider (main)', 'This copy of the cider page must never be fetched by the crawl.'),
    // A canonical link to the site root from another page is ignored.
    '/e': page('Pears', 'Conference and Comice pears are picked in September.', '<link rel="canonical" href="/">'),
  };
  const handler = fixtureSite(routes);
  const server = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler(req, res);
  });
  return { url: server.url, hits };
}

describe('a crawl reads the same as page tasks as on one worker', () => {
  let oneWorker: Stack;
  let pageTasks: Stack;

  before(async () => {
    const config = { CRAWL_HOST_DELAY: '0', EXTRACT_SYNC_TIMEOUT: '60s' };
    [oneWorker, pageTasks] = await Promise.all([
      startStack({ worker: true, config: { ...config, CRAWL_PAGE_TASKS: 'false' } }),
      startStack({ worker: true, config: { ...config, CRAWL_PAGE_TASKS: 'true' } }),
    ]);
  });

  /** The job on both paths; the page-task one is checked to have run as page tasks. */
  async function both(path: string, body: (siteUrl: string) => Record<string, unknown>, siteUrls: [string, string]): Promise<[Job, Job]> {
    const run = async (stack: Stack, siteUrl: string) => {
      const res = await stack.request('POST', path, { body: body(siteUrl) });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return stack.waitForStatus(res.body.jobId as string, ['completed', 'failed'], 120_000);
    };
    const jobs = await Promise.all([run(oneWorker, siteUrls[0]), run(pageTasks, siteUrls[1])]);
    assert.equal(await getCrawlProgress(oneWorker.sql, jobs[0].id), null, 'the one-worker crawl made no page tasks');
    assert.ok(await getCrawlProgress(pageTasks.sql, jobs[1].id), 'the crawl ran as page tasks');
    return jobs;
  }

  const paths = (job: Job) => ((job.result as { knowledgeItems: { source: string }[] }).knowledgeItems ?? []).map((i) => new URL(i.source).pathname).sort();

  test('canonical URLs and same-text pages make one page each, an alias is never fetched, .pdf links are not queued', async () => {
    const sites = await Promise.all([dedupSite(), dedupSite()]);
    const jobs = await both('/v1/extract/async', (url) => ({ url: `${url}/`, maxPages: 10 }), [sites[0].url, sites[1].url]);
    for (const [i, job] of jobs.entries()) {
      const { hits } = sites[i]!;
      const name = i === 0 ? 'one worker' : 'page tasks';
      assert.equal(job.status, 'completed', `${name}: ${JSON.stringify(job.error)}`);
      const got = paths(job);
      assert.equal(got.filter((p) => p === '/a' || p === '/b').length, 1, `${name}: /a and /b have the same text: one page (${got})`);
      assert.ok(got.includes('/c') && !got.includes('/c-main'), `${name}: /c stands for its canonical URL (${got})`);
      assert.equal(hits.get('/c-main') ?? 0, 0, `${name}: the canonical URL another page stands for is never fetched`);
      assert.ok(got.includes('/e') && got.includes('/'), `${name}: a canonical link to the root from another page is ignored (${got})`);
      assert.equal(hits.get('/price-list.pdf') ?? 0, 0, `${name}: .pdf links are not queued`);
      assert.equal(got.length, 4, `${name}: ${got}`);
      assert.equal((job.result as { pagesScraped: number }).pagesScraped, 4);
    }
  });

  test('the job’s render mode reaches every page: render always without a browser fails as browser_unavailable; sitemap URLs are tried when the start page fails', async () => {
    const site = await startFixtureSite();
    const jobs = await both('/v1/extract/async', (url) => ({ url: `${url}/`, maxPages: 3, render: 'always' }), [site.baseUrl, site.baseUrl]);
    const failed = jobs.map((job) => {
      assert.equal(job.status, 'failed', JSON.stringify(job.result));
      assert.equal(job.error?.code, 'no_pages');
      return (job.error?.failures as { url: string; reason: string }[]).map((f) => [new URL(f.url).pathname, f.reason]).sort();
    });
    assert.deepEqual(new Set(failed[1]!.map(([, reason]) => reason)), new Set(['browser_unavailable']), JSON.stringify(failed[1]));
    // The start page fails, and the sitemaps' pages are tried as on one worker (each failing the same way).
    assert.ok(failed[1]!.length > 1, JSON.stringify(failed[1]));
    assert.deepEqual(failed[1], failed[0]);
  });

  test('a /v1/business crawl has the same result fields, its business profile and sitemap count included', async () => {
    const site = await startFixtureSite();
    const [one, tasks] = await both('/v1/business/async', (url) => ({ url: `${url}/`, maxPages: 6 }), [site.baseUrl, site.baseUrl]);
    assert.equal(one.status, 'completed', JSON.stringify(one.error));
    assert.equal(tasks.status, 'completed', JSON.stringify(tasks.error));
    const a = one.result as Record<string, any>;
    const b = tasks.result as Record<string, any>;
    for (const key of Object.keys(a)) assert.ok(key in b, `the page-task result has ${key}`);
    assert.equal(b.sitemapUrls, a.sitemapUrls, 'the same sitemap URLs were read');
    assert.ok(b.sitemapUrls > 0);
    assert.equal(b.pagesScraped, b.knowledgeItems.length);
    assert.equal(b.business.businessName, 'Orchard Ledger');
    assert.equal(b.business.domain, a.business.domain);
    assert.equal(b.business.language, 'en');
    assert.ok(b.business.keyInsights.some((k: string) => /\$29 per month/.test(k)), JSON.stringify(b.business.keyInsights));
    assert.deepEqual(Object.keys(b.business).sort(), Object.keys(a.business).sort());
    // Categories come from the same evidence (URL, title, headings, JSON-LD) on both paths.
    const categories = (r: Record<string, any>) => new Map((r.knowledgeItems as { source: string; category: string }[]).map((i) => [new URL(i.source).pathname, i.category]));
    const ca = categories(a);
    for (const [path, category] of categories(b)) if (ca.has(path)) assert.equal(category, ca.get(path), `${path}'s category`);
  });
});
