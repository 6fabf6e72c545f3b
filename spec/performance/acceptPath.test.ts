// The accept path (POST /v1/extract/async) is the API's busiest route and is
// kept cheap per request (README: Benchmarks, accept): its answer is written
// without res.json's ETag hashing, and job ids come from pooled CSPRNG bytes.
// What a client sees must not change.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { randomBase62 } from '../../core/ids.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack; // closed by its own cleanup (spec/helpers/cleanup.ts)
before(async () => {
  stack = await startStack();
});

test('POST /v1/extract/async answers JSON with its length and no ETag (a POST answer is never revalidated)', async () => {
  const res = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/a' } });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('etag'), null);
  assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(JSON.stringify(res.body)));
  assert.match(res.body.jobId, /^job_[0-9A-Za-z]{22}$/);
  assert.equal(res.body.status, 'pending');
  assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
  // The replay of an idempotent submission answers 200 the same way.
  const headers = { 'idempotency-key': 'accept-path-1' };
  const first = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/b' }, headers });
  const again = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/b' }, headers });
  assert.equal(first.status, 202);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.headers.get('etag'), null);
  assert.deepEqual(again.body, first.body);
});

test('randomBase62 from the byte pool: right length and alphabet, no repeats across many pool refills, every symbol used', () => {
  const seen = new Set<string>();
  const symbols = new Set<string>();
  // 5,000 ids of 22 symbols use about 115 KB of random bytes: 28 refills of the 4 KiB pool.
  for (let i = 0; i < 5000; i++) {
    const id = randomBase62(22);
    assert.match(id, /^[0-9A-Za-z]{22}$/);
    seen.add(id);
    for (const c of id) symbols.add(c);
  }
  assert.equal(seen.size, 5000);
  assert.equal(symbols.size, 62);
  // Lengths that straddle a refill are whole too.
  for (const length of [1, 40, 4097]) assert.equal(randomBase62(length).length, length);
});
