// One reading of a page's failure (core/page/errors.ts classifyPageError): a
// job's error (worker/pipeline/errors.ts) and POST /v1/scrape's error
// (server/routes/scrape.ts upstreamError) are made from it, so both name the
// same code and details for the same failure. Failures come from real pages on
// a local server through the real client and extraction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOutboundClient, BLOCKED_ADDRESS_MESSAGE, type OutboundClient } from '../../core/outbound/index.js';
import { classifyPageError } from '../../core/page/errors.js';
import { scrapePage } from '../../core/page/scrape.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { classifyError } from '../../worker/pipeline/errors.js';
import { upstreamError } from '../../server/routes/scrape.js';
import { baseOptions, startHttpServer, type TestServer } from '../outbound/helpers.js';

const routes: Record<string, [number, string, string | Buffer]> = {
  '/unavailable': [503, 'text/html', 'down'],
  '/missing': [404, 'text/html', 'gone'],
  '/binary': [200, 'text/html', Buffer.from([60, 104, 0, 1, 2, 3])],
  '/empty': [200, 'text/html', '<html><body><script>1</script></body></html>'],
  '/deep': [200, 'text/html', '<div>'.repeat(10_001)],
};

describe('classifyPageError: the worker and /v1/scrape read a failure the same way', () => {
  let server: TestServer;
  let client: OutboundClient;
  let guarded: OutboundClient;
  const logger = createSilentLogger();
  before(async () => {
    server = await startHttpServer((req, res) => {
      const [status, type, body] = routes[req.url ?? ''] ?? [500, 'text/plain', 'no route'];
      res.writeHead(status, { 'content-type': type }).end(body);
    });
    client = createOutboundClient(baseOptions);
    guarded = createOutboundClient({ ...baseOptions, allowPrivateNetworks: false });
  });
  after(async () => {
    await client.close();
    await guarded.close();
    await server.close();
  });

  const failure = async (c: OutboundClient, path: string): Promise<unknown> => {
    try {
      await scrapePage(c, `${server.origin}${path}`, { signal: AbortSignal.timeout(30_000), logger });
    } catch (err) {
      return err;
    }
    assert.fail(`${path} scraped without an error`);
  };

  const cases: { path: string; guarded?: boolean; code: string; retryable: boolean; http: number; httpCode: string }[] = [
    { path: '/unavailable', code: 'upstream_status', retryable: true, http: 502, httpCode: 'upstream_error' },
    { path: '/missing', code: 'upstream_status', retryable: false, http: 502, httpCode: 'upstream_error' },
    { path: '/binary', code: 'not_html', retryable: false, http: 422, httpCode: 'unprocessable_page' },
    { path: '/empty', code: 'empty_content', retryable: false, http: 422, httpCode: 'unprocessable_page' },
    { path: '/deep', code: 'too_complex', retryable: false, http: 422, httpCode: 'unprocessable_page' },
  ];
  for (const c of cases) {
    it(`${c.path}: ${c.code} for the job, ${c.http} ${c.httpCode} for /v1/scrape, same details`, async () => {
      const err = await failure(client, c.path);
      const page = classifyPageError(err);
      assert.ok(page, 'a page failure is classified');
      assert.equal(page.code, c.code);
      const { error, retryable } = classifyError(err);
      assert.deepEqual(error, { code: c.code, message: page.message, ...page.details });
      assert.equal(retryable, c.retryable);
      const http = upstreamError(err);
      assert.ok(http);
      assert.equal(http.status, c.http);
      assert.equal(http.code, c.httpCode);
      assert.equal(http.message, error.message);
      assert.deepEqual(http.details, { code: c.code, ...page.details });
    });
  }

  it('an upstream status carries the URL and status in both', async () => {
    const { error } = classifyError(await failure(client, '/unavailable'));
    assert.deepEqual(error, { code: 'upstream_status', message: error.message, url: `${server.origin}/unavailable`, status: 503 });
  });

  it('a refused destination: the job and the 400 both give the generic message, never the address', async () => {
    const err = await failure(guarded, '/unavailable');
    const { error, retryable } = classifyError(err);
    assert.equal(error.code, 'blocked_address');
    assert.equal(error.message, BLOCKED_ADDRESS_MESSAGE);
    assert.equal(retryable, false);
    const http = upstreamError(err);
    assert.equal(http?.status, 400);
    assert.deepEqual(http?.details, [{ field: 'url', message: BLOCKED_ADDRESS_MESSAGE }]);
  });

  it('anything else is not a page failure: an internal error for the job, left to the error handler by /v1/scrape', () => {
    const err = new TypeError('a bug');
    assert.equal(classifyPageError(err), null);
    assert.equal(upstreamError(err), null);
    assert.deepEqual(classifyError(err), { error: { code: 'internal_error', message: 'an internal error interrupted the job; it is retried automatically' }, retryable: true });
  });
});
