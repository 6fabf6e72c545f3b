// Extraction off the event loop, on core/threads.ts's one pool: a page past the
// time or heap limit fails too_complex and only that page (its thread is
// replaced); the pool's errors and results are extractPage's own; the
// Firecrawl document pool runs on the same pool. And a real worker process
// crawling a fixture site with a hostile page fails that page too_complex
// while the rest of the crawl is indexed, on both crawl paths (one worker's
// crawler and page tasks).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ExtractPool } from '../../core/extractPool.js';
import { extractPage, PageTooComplexError } from '../../core/extraction/index.js';
import { PipelineError } from '../../core/page/errors.js';
import { DocumentPool } from '../../server/firecrawl/documentPool.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from '../helpers/http.js';
import { spawnScript, type ServiceProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** ~4 MB of tiny elements under 900 nested divs: seconds of extraction anywhere, under the 5 MB fetch cap. */
const hostilePage = () => `<html><body>${'<div>'.repeat(900)}${'<span>x</span>'.repeat(290_000)}${'</div>'.repeat(900)}</body></html>`;
const calmPage = articlePage('A calm page', 'Words of a calm page that extracts in a moment, with a sentence or two more.');

describe('the extraction pool', () => {
  test('a page past the time limit fails too_complex; the next page gets a new thread', async () => {
    const pool = new ExtractPool(1, { timeLimitMs: 300 });
    try {
      await assert.rejects(pool.extract(hostilePage(), 'https://site.example/'), (err: unknown) => {
        assert.ok(err instanceof PipelineError, String(err));
        assert.equal(err.code, 'too_complex');
        assert.equal(err.retryable, false);
        assert.match(err.message, /longer than 0\.3 s to extract/);
        return true;
      });
      assert.deepEqual(pool.load, { busy: 0, queued: 0 });
      const page = await pool.extract(calmPage, 'https://site.example/calm');
      assert.deepEqual(page, extractPage(calmPage, 'https://site.example/calm'));
    } finally {
      await pool.close();
    }
  });

  test('a page past the heap limit fails too_complex; the next page gets a new thread', async () => {
    const pool = new ExtractPool(1, { heapMb: 16 });
    try {
      await assert.rejects(pool.extract(hostilePage(), 'https://site.example/'), (err: unknown) => {
        assert.ok(err instanceof PipelineError, String(err));
        assert.equal(err.code, 'too_complex');
        assert.match(err.message, /too much memory/);
        return true;
      });
      assert.equal((await pool.extract(calmPage, 'https://site.example/calm')).title, 'A calm page');
    } finally {
      await pool.close();
    }
  });

  test("extractPage's own refusal comes back as PageTooComplexError; close fails what is queued or running", async () => {
    const pool = new ExtractPool(1);
    await assert.rejects(pool.extract('<div>'.repeat(20_000), 'https://site.example/'), (err: unknown) => err instanceof PageTooComplexError && err.depth === 10_000);
    const running = assert.rejects(pool.extract(hostilePage(), 'https://site.example/'), /the extraction pool is closed/);
    const queued = assert.rejects(pool.extract(calmPage, 'https://site.example/'), /the extraction pool is closed/);
    await pool.close();
    await running;
    await queued;
    await assert.rejects(pool.extract(calmPage, 'https://site.example/'), /the extraction pool is closed/);
  });

  test('the Firecrawl document pool selects on the same pool, its errors by name', async () => {
    const pool = new DocumentPool(1);
    const doc = await pool.select(calmPage, 'https://site.example/', { onlyMainContent: true, includeTags: [], excludeTags: [] });
    assert.match(doc.markdown, /Words of a calm page/);
    await assert.rejects(Promise.resolve(pool.select(`<html><body>${'<div>'.repeat(1500)}x</body></html>`, 'https://site.example/', { onlyMainContent: false, includeTags: ['div'] })), { name: 'SelectionTooComplexError' });
  });
});

describe('a worker process crawling a site with a hostile page', () => {
  let stack: Stack;
  let site: TestServer;
  let worker: ServiceProcess | null = null;

  before(async () => {
    stack = await startStack();
    const links = '<a href="/hostile">hostile</a> <a href="/calm">calm</a>';
    site = await startHttpServer(fixtureSite({ '/': articlePage('Home page', `The home page of the site, which links to two pages. ${links}`), '/calm': calmPage, '/hostile': hostilePage() }));
  });

  after(async () => {
    if (worker?.alive) await worker.stop('SIGTERM');
    await site.close();
  });

  for (const pageTasks of ['false', 'true']) {
    test(`fails that page too_complex and indexes the others (CRAWL_PAGE_TASKS=${pageTasks})`, async () => {
      if (worker?.alive) await worker.stop('SIGTERM');
      const env = { DATABASE_URL: stack.url, CRAWL_PAGE_TASKS: pageTasks, EXTRACT_TIME_LIMIT: '1s', CRAWL_HOST_DELAY: '0', WORKER_POLL_INTERVAL: '200ms', ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'info' };
      worker = spawnScript('worker/main.ts', [], env);
      await worker.waitForLog((l) => l.message === 'worker started', 120_000, "'worker started'");
      const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/`, maxPages: 3 } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const job = await stack.waitForStatus(res.body.jobId as string, ['completed', 'failed'], 180_000);
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      const result = job.result as { failedPages?: { url: string; code: string; message: string }[]; pagesIndexed?: number };
      const failed = JSON.stringify(pageTasks === 'true' ? await stack.sql`select url, state, error from crawl_pages where job_id = ${job.id}` : result.failedPages);
      assert.match(failed, /\/hostile[^}]*too_complex|too_complex[^}]*\/hostile/, `the hostile page failed too_complex: ${failed}`);
      assert.match(failed, /longer than 1 s to extract/);
      const indexed = await stack.sql<{ url: string }[]>`select distinct url from chunks where job_id = ${job.id} order by url`;
      assert.deepEqual(
        indexed.map((r) => new URL(r.url).pathname),
        ['/', '/calm'],
      );
      assert.ok(worker.alive, 'the worker is still running');
    });
  }
});
