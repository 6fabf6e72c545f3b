// maxPages on POST /v1/extract* follows how crawls run: up to
// MAX_PAGES_PER_JOB when they run as page tasks (CRAWL_PAGE_TASKS=true), 20
// while one worker runs each crawl; above it a 400 names maxPages and the
// limit, and the OpenAPI document states the same maximum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode, errorDetails } from '../helpers/errors.js';

const details = (body: unknown) => errorDetails(body as never) as { field: string; message: string }[];
import { startStack } from '../helpers/stack.js';

test('with page tasks a job may ask for up to MAX_PAGES_PER_JOB pages, and no more', async () => {
  const stack = await startStack({ config: { CRAWL_PAGE_TASKS: 'true', MAX_PAGES_PER_JOB: '5000' } });
  for (const path of ['/v1/extract/async', '/v1/business/async']) {
    const ok = await stack.request('POST', path, { body: { url: 'https://site.example/', maxPages: 5000 } });
    assert.equal(ok.status, 202, `${path}: ${JSON.stringify(ok.body)}`);
    const [job] = await stack.sql`select input from jobs where id = ${ok.body.jobId as string}`;
    assert.equal((job!.input as { maxPages: number }).maxPages, 5000);
    const over = await stack.request('POST', path, { body: { url: 'https://site.example/', maxPages: 5001 } });
    assert.equal(over.status, 400);
    assert.equal(errorCode(over.body), 'validation_error');
    assert.deepEqual(
      details(over.body).map((d) => d.field),
      ['maxPages'],
    );
    assert.match(details(over.body)[0]!.message, /at most 5000/);
  }
  const doc = (await stack.request('GET', '/v1/openapi.json', { key: null })).body;
  const maxPages = doc.paths['/v1/extract/async'].post.requestBody.content['application/json'].schema.properties.maxPages;
  assert.equal(maxPages.maximum, 5000);
  assert.match(maxPages.description as string, /at most 5000 on this server/);
});

test('while one worker runs each crawl, maxPages stays at most 20', async () => {
  const stack = await startStack({ config: { CRAWL_PAGE_TASKS: 'false', MAX_PAGES_PER_JOB: '5000' } });
  assert.equal((await stack.request('POST', '/v1/extract/async', { body: { url: 'https://site.example/', maxPages: 20 } })).status, 202);
  const over = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://site.example/', maxPages: 21 } });
  assert.equal(over.status, 400);
  assert.deepEqual(
    details(over.body).map((d) => [d.field, d.message]),
    [['maxPages', "must be at most 20 (this server's pages per job)"]],
  );
  const doc = (await stack.request('GET', '/v1/openapi.json', { key: null })).body;
  assert.equal(doc.paths['/v1/extract/async'].post.requestBody.content['application/json'].schema.properties.maxPages.maximum, 20);
});
