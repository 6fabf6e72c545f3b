// abuse: per-key rate limit and in-flight cap (429 with Retry-After), a
// revoked key refused at once, and no key or webhook secret in any process's
// output (the first-start banner excepted). (A key comparison timing check was
// removed: keys are looked up by their SHA-256 hash, so two wrong keys differ
// only by noise and the check could not fail for the reason it stated.)
import { createApiKey } from '../core/apiKeys.js';
import {
  apiCall,
  createDatabase,
  rememberSecret,
  sleep,
  spawnService,
  startApiProcess,
  withScope,
  knownSecrets,
  type Scope,
} from './harness.js';
import { scanLogsForSecrets } from './secrets.js';
import { Checks, type Scenario, type ScenarioOptions, type ScenarioReport } from './types.js';

export const abuse: Scenario = {
  name: 'abuse',
  summary: 'rate limit, in-flight cap, revocation, secrets in logs',
  inTestSuite: true,
  run: (options) => withScope((scope) => run(options, scope)),
};

const PER_MINUTE = 60;
const BURST = 5;
const IN_FLIGHT = 3;

async function run(options: ScenarioOptions, scope: Scope): Promise<ScenarioReport> {
  const checks = new Checks();
  const load = `API process (RATE_LIMIT_PER_MINUTE=${PER_MINUTE}, RATE_LIMIT_BURST=${BURST}, MAX_JOBS_IN_FLIGHT_PER_KEY=${IN_FLIGHT}, LOG_LEVEL=debug)`;
  const db = await createDatabase(options.pgServerUrl, scope, 'abuse');
  const env = { DATABASE_URL: db.url, LOG_LEVEL: 'debug', RATE_LIMIT_PER_MINUTE: String(PER_MINUTE), RATE_LIMIT_BURST: String(BURST), MAX_JOBS_IN_FLIGHT_PER_KEY: String(IN_FLIGHT) };

  // First start on an empty key table: the banner on stderr is the one legitimate place a key appears.
  const api = await startApiProcess(env, { logDir: options.logDir, scope, label: 'abuse-api' });
  const banner = /Created the first API key \(shown only this once; keep it safe\):\n(knowledgesdk_live_[0-9A-Za-z]+)\n/.exec(api.proc.stderr());
  const k0 = rememberSecret(banner?.[1] ?? '');
  const newKey = async (name: string) => rememberSecret((await createApiKey(db.sql, name)).key);
  const k1 = await newKey('inflight');
  const k2 = await newKey('revoked');
  const k3 = await newKey('bait');
  const base = api.baseUrl;

  // Rate limit: a burst of requests on one key.
  const burst = [];
  for (let i = 0; i < BURST + 7; i++) burst.push(await apiCall(base, 'GET', '/v1/jobs', { key: k0 }));
  const ok = burst.filter((r) => r.status === 200).length;
  const limited = burst.filter((r) => r.status === 429);
  const retryAfter = Number(limited[0]?.headers.get('retry-after'));
  await sleep(retryAfter * 1000 + 100);
  const afterWait = await apiCall(base, 'GET', '/v1/jobs', { key: k0 });
  const otherKey = await apiCall(base, 'GET', '/v1/jobs', { key: k3 });
  checks.add(
    'rate limit per key → 429 rate_limited with Retry-After; honoured Retry-After works again; other keys unaffected',
    banner !== null && ok >= BURST && ok <= BURST + 1 && limited.length >= 6 && limited.every((r) => r.body?.code === 'rate_limited' && Number(r.headers.get('retry-after')) >= 1) && afterWait.status === 200 && otherKey.status === 200,
    `${burst.length} quick requests: ${ok}×200 then ${limited.length}×429 (Retry-After ${retryAfter} s); after waiting it: ${afterWait.status}; another key meanwhile: ${otherKey.status}`,
  );

  // In-flight cap (no worker runs, so jobs stay pending).
  const submits = [];
  for (let i = 0; i < IN_FLIGHT + 1; i++) submits.push(await apiCall(base, 'POST', '/v1/extract/async', { key: k1, body: { url: `https://example.com/${i}` } }));
  const last = submits.at(-1)!;
  checks.add(
    'jobs in flight per key capped → 429 too_many_jobs_in_flight with Retry-After',
    submits.slice(0, IN_FLIGHT).every((r) => r.status === 202) && last.status === 429 && last.body?.code === 'too_many_jobs_in_flight' && Number(last.headers.get('retry-after')) >= 1,
    `${submits.map((r) => r.status).join(', ')}; last: ${last.body?.code} (Retry-After ${last.headers.get('retry-after')})`,
  );

  // Revocation with the keys CLI while the API runs; the very next request must be refused.
  const beforeRevoke = await apiCall(base, 'GET', '/v1/jobs', { key: k2 });
  const cli = spawnService('cli/keys.ts', { DATABASE_URL: db.url }, { logDir: options.logDir, scope, label: 'abuse-keys-cli', args: ['revoke', 'revoked'] });
  const cliExit = await cli.exited;
  const next = await apiCall(base, 'GET', '/v1/jobs', { key: k2 });
  const submitRevoked = await apiCall(base, 'POST', '/v1/extract/async', { key: k2, body: { url: 'https://example.com/' } });
  checks.add(
    'a revoked key stops working at once (next request 401)',
    beforeRevoke.status === 200 && cliExit.code === 0 && next.status === 401 && submitRevoked.status === 401,
    `before: ${beforeRevoke.status}; \`keys revoke\` exit ${cliExit.code}; next GET: ${next.status} ${next.body?.code ?? ''}, next POST: ${submitRevoked.status}`,
  );

  // Bait: keys and secrets where a careless log line would pick them up.
  const secret = rememberSecret(String((await apiCall(base, 'GET', '/v1/webhooks/secret', { key: k3 })).body.secret));
  const rotated = rememberSecret(String((await apiCall(base, 'POST', '/v1/webhooks/secret/rotate', { key: k3 })).body.secret));
  await apiCall(base, 'GET', `/v1/jobs/${k3}`, { key: k3 });
  await apiCall(base, 'GET', `/v1/jobs?cursor=${encodeURIComponent(secret)}`, { key: k3 });
  await apiCall(base, 'POST', '/v1/extract/async', { key: k3, body: { url: `https://example.com/?key=${k3}&s=${encodeURIComponent(rotated)}` } });
  await apiCall(base, 'POST', '/v1/extract/async', { key: k3, body: { url: 'https://example.com/', [k3]: secret } });
  await apiCall(base, 'GET', '/v1/jobs', { headers: { authorization: `Basic ${k3}`, 'x-request-id': secret.slice(0, 40) } });
  await apiCall(base, 'GET', '/v1/jobs', { key: `${k3}x` });

  await api.proc.stop('SIGTERM');
  const scan = await scanLogsForSecrets(options.logDir, knownSecrets);
  checks.add(
    'no key or webhook secret in any process output, except the first-start banner on stderr (excluded exactly)',
    scan.findings.length === 0 && scan.bannersExcluded >= 1,
    scan.findings.length
      ? `${scan.findings.length} found, e.g. ${scan.findings[0]!.file}: ${scan.findings[0]!.match}`
      : `${scan.files} files (${(scan.bytes / 1024).toFixed(0)} KB) clean; ${scan.bannersExcluded} banner(s) excluded; bait: keys and secrets in paths, queries, bodies, headers`,
  );
  return checks.report(load);
}
