// Two API paths no other file drives: /v1/scrape answering 504 when the page
// is slower than the fetch limits, and SIGTERM of the API process while a
// request is in flight (answered, then exit 0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { spawnScript } from '../helpers/processes.js';
import { errorCode, errorDetails, errorMessage } from '../helpers/errors.js';
import { startStack } from '../helpers/stack.js';

test('/v1/scrape answers 504 upstream_timeout when the page does not answer within the fetch limits', async () => {
  const site = await startHttpServer(
    fixtureSite({
      // Headers never come (within the test): only a timeout can end this fetch.
      '/slow': (_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end(articlePage('Slow', 'Too late.')), 60_000).unref(),
    }),
  );
  const stack = await startStack({ config: { FETCH_HEADERS_TIMEOUT: '300ms', FETCH_TOTAL_TIMEOUT: '1s' } });
  const res = await stack.request('POST', '/v1/scrape', { body: { url: `${site.url}/slow` } });
  assert.equal(res.status, 504, JSON.stringify(res.body));
  assert.equal(errorCode(res.body), 'upstream_timeout');
  assert.equal((errorDetails(res.body) as any).code, 'timeout');
  assert.match(errorMessage(res.body) ?? '', /300 ms|1000 ms/);
});

test('SIGTERM of the API process: the request in flight is answered, then the process exits 0', async () => {
  let arrived!: () => void;
  const requested = new Promise<void>((r) => (arrived = r));
  let answer!: () => void;
  const release = new Promise<void>((r) => (answer = r));
  const site = await startHttpServer(
    fixtureSite({
      '/held': (_req, res) => {
        arrived();
        void release.then(() => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(articlePage('Held', 'Answered after the API was told to stop.')));
      },
    }),
  );
  const stack = await startStack();
  const api = spawnScript('server/main.ts', [], { DATABASE_URL: stack.url, PORT: '0', ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'info', CREATE_INITIAL_KEY: 'false' });
  const listening = await api.waitForLog((l) => l.message === 'API listening', 120_000, "'API listening'");
  const baseUrl = listening.url as string;

  const inFlight = fetch(`${baseUrl}/v1/scrape`, { method: 'POST', headers: { 'x-api-key': stack.key, 'content-type': 'application/json' }, body: JSON.stringify({ url: `${site.url}/held` }) });
  await requested;
  const exited = api.stop('SIGTERM', 60_000);
  await api.waitForLog((l) => l.message === 'shutting down', 30_000, "'shutting down'");
  // Only now does the page answer: the API is already shutting down and must still finish this request.
  answer();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { title: string }).title, 'Held');
  const exit = await exited;
  assert.equal(exit.signal, null, `it left on its own; its last lines: ${api.stdout().slice(-3000)}`);
  assert.equal(exit.code, 0, api.stderr());
});
