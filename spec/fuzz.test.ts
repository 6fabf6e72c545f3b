// The API fuzzed in-process with fast-check (scripts/chaos/fuzz.ts): no 5xx,
// every 4xx a JSON {error:{code,message}}, 413 over the body limit, 415 for a
// body that is not JSON, 401 without a valid key. `npm run chaos` runs the
// same fuzzer with ≥ 10,000 requests against the real server process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzApi, statusSummary } from '../scripts/chaos/fuzz.js';
import { startStack } from './helpers/stack.js';

const RUNS = 2000;
const BODY_LIMIT = 16 * 1024;

test(`${RUNS} generated requests: no 5xx, every 4xx names its problem as JSON, 413 and 415 where due`, async (t) => {
  const stack = await startStack({ config: { API_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  const job = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/' } });
  assert.equal(job.status, 202);
  const outcome = await fuzzApi({ baseUrl: stack.baseUrl, key: stack.key, bodyLimitBytes: BODY_LIMIT, jobIds: [job.body.jobId] }, { numRuns: RUNS });
  t.diagnostic(`${outcome.requests} requests in ${outcome.ms} ms: ${statusSummary(outcome)}; ${outcome.oversized} oversized, ${outcome.wrongType} not JSON`);
  assert.deepEqual(outcome.violations, [], `${outcome.violationCount} violations`);
  assert.ok(outcome.requests >= RUNS * 0.95, `only ${outcome.requests} of ${RUNS} requests could be sent`);
  assert.ok(![...outcome.statuses.keys()].some((s) => s >= 500));
  assert.ok(outcome.oversized > 0 && outcome.wrongType > 0, 'the generator covers oversized and non-JSON bodies');
});
