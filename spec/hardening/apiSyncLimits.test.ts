// Synchronous work on the API is bounded: POST /v1/scrape and POST /v1/extract
// hold a slot while they work or wait, at most SYNC_CONCURRENCY_PER_KEY per key
// and SYNC_CONCURRENCY in all (429 with Retry-After beyond, before any fetch or
// job); and a page is parsed on another thread, so a large one does not stall
// the event loop that serves every other request.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { extractPage } from '../../core/extraction/index.js';
import { startHttpServer } from '../helpers/http.js';
import { errorCode, errorMessage } from '../helpers/errors.js';
import { startStack, type Stack } from '../helpers/stack.js';

type Answer = { status: number; retryAfter: string | null; body: any };

async function post(stack: Stack, path: string, key: string, body: unknown, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(stack.baseUrl + path, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** Wait for a condition that must come true (a liveness wait, not a timing assertion). */
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`still waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Settled answers of a set of requests, as they come in. */
function track(requests: Promise<Answer>[]) {
  const settled: Answer[] = [];
  for (const r of requests) r.then((a) => settled.push(a), () => {});
  return settled;
}

describe('concurrency caps on synchronous requests', () => {
  test('scrape: per key and in all, 429 with Retry-After beyond the caps, and nothing fetched for a refused request', async () => {
    const stack = await startStack({ config: { SYNC_CONCURRENCY: '3', SYNC_CONCURRENCY_PER_KEY: '2', FETCH_HEADERS_TIMEOUT: '60s', FETCH_TOTAL_TIMEOUT: '60s' } });
    const held: ServerResponse[] = [];
    let arrivals = 0;
    const site = await startHttpServer((_req: IncomingMessage, res: ServerResponse) => {
      arrivals++;
      held.push(res);
    });
    const release = () => {
      for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>Held</title></head><body><article><p>Released at last, with enough words to count as content.</p></article></body></html>');
    };
    const keyB = (await createApiKey(stack.sql, 'b')).key;
    const keyC = (await createApiKey(stack.sql, 'c')).key;
    const url = `${site.url}/page`;

    // Key A: four at once; two are fetched, two are refused.
    const fromA = [0, 1, 2, 3].map(() => post(stack, '/v1/scrape', stack.key, { url }));
    const settledA = track(fromA);
    await until('two of key A refused and two fetched', () => settledA.length === 2 && arrivals === 2);
    for (const a of settledA) {
      assert.equal(a.status, 429, JSON.stringify(a.body));
      assert.equal(errorCode(a.body), 'too_many_requests');
      assert.equal(a.retryAfter, '1');
      assert.match(errorMessage(a.body) ?? '', /this API key/);
    }
    // Validation comes first: a bad body from a key at its cap is still a 400.
    const invalid = await post(stack, '/v1/scrape', stack.key, { url: 'ftp://example.com/' });
    assert.equal(invalid.status, 400);

    // Key B: the one slot left in all; its second request meets the global cap.
    const fromB = [0, 1].map(() => post(stack, '/v1/scrape', keyB, { url }));
    const settledB = track(fromB);
    await until('one of key B refused and one fetched', () => settledB.length === 1 && arrivals === 3);
    assert.equal(settledB[0]!.status, 429);
    assert.match(errorMessage(settledB[0]!.body) ?? '', /service is at its limit/);
    const fromC = await post(stack, '/v1/scrape', keyC, { url });
    assert.equal(fromC.status, 429, 'a third key meets the global cap');
    assert.equal(arrivals, 3, 'refused requests fetched nothing');

    release();
    const done = [...(await Promise.all(fromA)), ...(await Promise.all(fromB))].filter((a) => a.status === 200);
    assert.equal(done.length, 3);
    assert.ok(done.every((a) => a.body.title === 'Held'));
    // The slots are free again.
    const again = post(stack, '/v1/scrape', keyC, { url });
    await until('the next request fetched', () => arrivals === 4);
    release();
    assert.equal((await again).status, 200);
  });

  test('sync extract: a key over its cap gets 429 and no job; an abandoned request frees its slot', async () => {
    const stack = await startStack({ config: { SYNC_CONCURRENCY: '10', SYNC_CONCURRENCY_PER_KEY: '2', EXTRACT_SYNC_TIMEOUT: '10m' } });
    const jobCount = async () => Number((await stack.sql`select count(*)::int as n from jobs`)[0]!.n);
    const gone = new AbortController();
    // No worker: each admitted request waits for its job until the client leaves.
    const requests = [0, 1, 2].map((i) => post(stack, '/v1/extract', stack.key, { url: `https://example.com/${i}` }, gone.signal));
    const settled = track(requests);
    await until('one request refused and two jobs waiting', async () => settled.length === 1 && (await jobCount()) === 2);
    assert.equal(settled[0]!.status, 429);
    assert.equal(settled[0]!.retryAfter, '1');
    assert.equal(await jobCount(), 2, 'the refused request created no job');
    // Async submission is not capped by it.
    assert.equal((await post(stack, '/v1/extract/async', stack.key, { url: 'https://example.com/async' })).status, 202);

    gone.abort();
    await Promise.allSettled(requests);
    const next = new AbortController();
    let admitted = false;
    await until('a slot freed by the abandoned requests', async () => {
      const probe = post(stack, '/v1/extract', stack.key, { url: 'https://example.com/next' }, next.signal).catch(() => null);
      const first = await Promise.race([probe, new Promise((r) => setTimeout(r, 300, 'waiting'))]);
      if (first === 'waiting') admitted = true;
      return admitted;
    });
    next.abort();
  });
});

describe('extraction off the event loop', () => {
  test('a large page is extracted without stalling the API, with the same result as extractPage', async (t) => {
    const stack = await startStack();
    const para = (i: number) => `<p>Paragraph ${i} of the orchard ledger, with <a href="/p/${i}">a link</a> and <em>some</em> words to make a page long.</p>\n`;
    let body = '';
    for (let i = 0; body.length < 1_500_000; i++) body += para(i);
    const html = `<!doctype html><html><head><title>Big page</title></head><body><article><h1>Big page</h1>${body}</article></body></html>`;
    const site = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
    const url = `${site.url}/big`;

    // Calibration: what extracting this page on the event loop costs it, here and now.
    const started = performance.now();
    const expected = extractPage(html, url);
    const calibrationMs = performance.now() - started;
    assert.ok(calibrationMs > 200, `the page must be big enough to stall the loop measurably (took ${calibrationMs.toFixed(0)} ms)`);

    let maxStallMs = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const now = performance.now();
      maxStallMs = Math.max(maxStallMs, now - last - 5);
      last = now;
    }, 5);
    const answer = await fetch(`${stack.baseUrl}/v1/scrape`, { method: 'POST', headers: { 'x-api-key': stack.key, 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    const text = await answer.text();
    clearInterval(probe); // before this test parses the answer: only the API's work is measured
    const res = { status: answer.status, body: JSON.parse(text) };

    t.diagnostic(`extractPage on the loop: ${calibrationMs.toFixed(0)} ms; the loop's longest stall during POST /v1/scrape: ${maxStallMs.toFixed(0)} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.body.title, expected.title);
    assert.equal(res.body.markdown, expected.markdown);
    assert.equal(res.body.text, expected.text);
    assert.deepEqual(res.body.links, expected.links);
    assert.deepEqual(res.body.headings, expected.headings);
    // Fetching, copying the HTML to the thread and sending the answer still run on the loop: a small fraction of the parse.
    assert.ok(maxStallMs < calibrationMs / 4, `the event loop stalled ${maxStallMs.toFixed(0)} ms while extraction on it takes ${calibrationMs.toFixed(0)} ms`);
  });
});
