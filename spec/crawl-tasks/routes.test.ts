// GET /v1/jobs/{jobId}/items and /pages: a crawl's items and pages paged
// through with cursors, filtered by state, validated, and scoped to the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { claimPageTasks, finishPageTask, openCrawl } from '../../core/crawlTasks/index.js';
import { normalizeUrl } from '../../worker/pipeline/crawl/urls.js';
import { errorCode, errorDetails } from '../helpers/errors.js';
import { startStack } from '../helpers/stack.js';

test('a crawl’s items and pages are listed page by page, for its own key only', async () => {
  const stack = await startStack();
  const { sql } = stack;
  const created = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://site.example/', maxPages: 10 } });
  const jobId = created.body.jobId as string;
  const urls = Array.from({ length: 8 }, (_, i) => `https://site.example/p${i}`);
  await openCrawl(sql, { jobId, apiKeyId: stack.apiKeyId, maxPages: 10, maxDepth: 3, maxAttempts: 2, seeds: urls.map((url) => ({ url, key: normalizeUrl(url)!, depth: 1 })) });
  const { tasks } = await claimPageTasks(sql, { workerId: 'w', limit: 8, runningPerKey: 8 });
  assert.equal(tasks.length, 8);
  for (const [i, t] of tasks.entries()) {
    const outcome =
      i < 6
        ? { state: 'done' as const, chunks: 1, item: { title: `Page ${i}`, description: `About ${i}`, content: `# Page ${i}`, category: 'docs' } }
        : { state: 'failed' as const, error: { code: 'upstream_status', message: 'HTTP 500', status: 500 } };
    await finishPageTask(sql, { taskId: t.id, attempt: t.attempt, outcome });
  }

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { items: { title: string; source: string }[]; nextCursor: string | null } } = await stack.request('GET', `/v1/jobs/${jobId}/items?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    seen.push(...res.body.items.map((i) => i.title));
    cursor = res.body.nextCursor;
  } while (cursor);
  assert.deepEqual(seen.sort(), ['Page 0', 'Page 1', 'Page 2', 'Page 3', 'Page 4', 'Page 5']);

  const failed = await stack.request('GET', `/v1/jobs/${jobId}/pages?status=failed`);
  assert.equal(failed.status, 200);
  assert.deepEqual(
    failed.body.pages.map((p: { status: string; error: { code: string } }) => [p.status, p.error.code]),
    [
      ['failed', 'upstream_status'],
      ['failed', 'upstream_status'],
    ],
  );
  const all = await stack.request('GET', `/v1/jobs/${jobId}/pages?limit=5`);
  assert.equal(all.body.pages.length, 5);
  const rest = await stack.request('GET', `/v1/jobs/${jobId}/pages?cursor=${all.body.nextCursor as string}`);
  assert.equal(rest.body.pages.length, 3);
  assert.equal(rest.body.nextCursor, null);

  const bad = await stack.request('GET', `/v1/jobs/${jobId}/pages?status=nope&limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad.body), 'validation_error');
  const fields = (errorDetails(bad.body) as { field: string }[]).map((d) => d.field).sort();
  assert.deepEqual(fields, ['limit', 'status']);

  const other = await createApiKey(sql, 'other');
  assert.equal((await stack.request('GET', `/v1/jobs/${jobId}/items`, { key: other.key })).status, 404, 'another key’s crawl is not found');
  assert.equal((await stack.request('GET', `/v1/jobs/${jobId}/pages`, { key: other.key })).status, 404);
});
