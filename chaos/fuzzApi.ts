// fuzz-api: ≥ 10,000 generated requests (fast-check) on every route against
// the real API process. See fuzz.ts for what is generated and what must hold.
import { createApiKey } from '../core/apiKeys.js';
import { apiCall, createDatabase, rememberSecret, seconds, startApiProcess, withScope, type Scope } from './harness.js';
import { fuzzApi, statusSummary } from './fuzz.js';
import { Checks, type Scenario, type ScenarioOptions, type ScenarioReport } from './types.js';

export const fuzzApiScenario: Scenario = {
  name: 'fuzz-api',
  summary: 'fast-check bodies, headers and paths against the API process',
  inTestSuite: false, // spec/fuzz.test.ts runs the same fuzzer in-process
  run: (options) => withScope((scope) => run(options, scope)),
};

const BODY_LIMIT = 16 * 1024;

async function run(options: ScenarioOptions, scope: Scope): Promise<ScenarioReport> {
  const numRuns = options.reduced ? 1000 : 10_000;
  const checks = new Checks();
  const db = await createDatabase(options.pgServerUrl, scope, 'fuzz');
  const { key } = await createApiKey(db.sql, 'chaos-fuzz');
  rememberSecret(key);
  const api = await startApiProcess(
    // A valid sync extract waits only briefly (no worker runs here); a valid scrape fails fast (.invalid hosts).
    { DATABASE_URL: db.url, RATE_LIMIT_PER_MINUTE: '0', API_BODY_LIMIT_BYTES: String(BODY_LIMIT), CREATE_INITIAL_KEY: 'false', EXTRACT_SYNC_TIMEOUT: '50ms', FETCH_CONNECT_TIMEOUT: '1s', FETCH_TOTAL_TIMEOUT: '2s' },
    { logDir: options.logDir, scope, label: 'fuzz-api' },
  );
  const job = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: 'https://example.invalid/' } });
  // Valid searches (an unknown field is ignored) embed their query: load the model before the fuzzer's per-request clock starts.
  await apiCall(api.baseUrl, 'POST', '/v1/search', { key, body: { query: 'warm up the model' } });
  const hook = await apiCall(api.baseUrl, 'POST', '/v1/webhooks', { key, body: { url: 'https://hooks.invalid/fuzz', events: ['TESTING_CONNECTION'] } });
  const outcome = await fuzzApi({ baseUrl: api.baseUrl, key, bodyLimitBytes: BODY_LIMIT, jobIds: [String(job.body.jobId)], webhookIds: [String(hook.body.id)] }, { numRuns });
  // 502/504 only as a scrape's documented upstream failure (anything else is a violation below).
  const fiveXx = [...outcome.statuses].filter(([s]) => s >= 500 && s !== 502 && s !== 504).reduce((n, [, c]) => n + c, 0);
  checks.add('zero 5xx responses (but a scrape’s upstream 502/504)', fiveXx === 0 && outcome.requests >= numRuns * 0.95, `${outcome.requests} requests in ${seconds(outcome.ms)} (${outcome.unsendable} unsendable by node's client): ${statusSummary(outcome)}`);
  checks.add(
    'every 4xx is JSON {error:{code,message}}; validation errors name fields in details; one field wrong → 400 naming it; body over the limit → 413; not JSON → 415; no/bad key → 401',
    outcome.violationCount === 0,
    outcome.violationCount ? `${outcome.violationCount} violations, e.g. ${outcome.violations[0]}` : `${outcome.oversized} oversized bodies all 413, ${outcome.wrongType} non-JSON bodies all 415`,
  );
  const wrongOn = ['POST /v1/extract/async', 'POST /v1/extract', 'POST /v1/scrape', 'POST /v1/search', 'GET /v1/jobs', 'POST /v1/webhooks', `POST /v1/webhooks/${String(hook.body.id)}/redeliver`];
  checks.add('requests with one field wrong reached every route that validates input', wrongOn.every((r) => (outcome.oneFieldWrong.get(r) ?? 0) > 0), [...outcome.oneFieldWrong].map(([r, n]) => `${n}× ${r}`).join(', '));
  checks.add('the API process survived', api.proc.alive, api.proc.alive ? 'alive' : `exited: ${api.proc.stderr().slice(-300)}`);
  return checks.report(`${numRuns} generated requests, API process (API_BODY_LIMIT_BYTES=${BODY_LIMIT}, rate limit off)`);
}
