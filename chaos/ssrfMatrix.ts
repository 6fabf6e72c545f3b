// ssrf-matrix: with the default policy (ALLOW_PRIVATE_NETWORKS=false), every
// private, loopback or reserved address in every spelling is a 400 at submit
// (as url and as callbackUrl); names that only resolve to such addresses
// pass submit and are refused at fetch time (job failed blocked_address) and
// at delivery time (delivery failed). Nothing reaches the local servers.
import { promises as dns } from 'node:dns';
import os from 'node:os';
import { createApiKey } from '../core/apiKeys.js';
import { createOutboundClient, OutboundError } from '../core/outbound/index.js';
import { isBlockedAddress } from '../core/outbound/ssrf.js';
import { apiCall, createDatabase, rememberSecret, startApiProcess, startHttp, startWorkerProcess, waitUntil, withScope, type Scope } from './harness.js';
import { Checks, type Scenario, type ScenarioOptions, type ScenarioReport } from './types.js';

export const ssrfMatrix: Scenario = {
  name: 'ssrf-matrix',
  summary: 'private addresses in every spelling, at submit, fetch and delivery',
  inTestSuite: true,
  run: (options) => withScope((scope) => run(options, scope)),
};

/** Hosts (with the local site's port where it listens) that must be a 400 at submit. */
function literalHosts(port: number): string[] {
  return [
    `127.0.0.1:${port}`, '127.1', '127.255.255.254', `[::1]:${port}`, '[0:0:0:0:0:0:0:1]', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '192.168.255.255',
    '169.254.169.254', '[fd00::1]', '[fdff:ffff::1]', '100.64.0.1', '100.127.255.254', '0.0.0.0', `0.0.0.0:${port}`, '0', '[::]', '[fe80::1]',
    `2130706433:${port}`, '017700000001', `0177.0.0.1:${port}`, '0x7f.0.0.1', '0x7f000001', '0x7f.1', '127.0.0.1.', '0xa9fea9fe', '2852039166', '0251.0376.0251.0376',
    `[::ffff:127.0.0.1]:${port}`, '[::ffff:7f00:1]', '[::ffff:169.254.169.254]', '[::ffff:10.0.0.1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]', '[::127.0.0.1]',
    `localhost:${port}`, 'LOCALHOST', 'localhost.', 'localhost..', 'foo.localhost', 'ＬＯＣＡＬＨＯＳＴ', '①②⑦.0.0.1', '１２７.０.０.１', '[::1%25eth0]',
  ];
}

async function run(options: ScenarioOptions, scope: Scope): Promise<ScenarioReport> {
  const checks = new Checks();
  let siteHits = 0;
  const site = await startHttp((_q, res) => (siteHits++, res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><article><p>you reached an internal server</p></article></body></html>')), scope);
  let receiverHits = 0;
  const receiver = await startHttp((_q, res) => (receiverHits++, res.writeHead(200).end()), scope);

  const db = await createDatabase(options.pgServerUrl, scope, 'ssrf');
  const { key } = await createApiKey(db.sql, 'chaos-ssrf');
  rememberSecret(key);
  // The default policy: no ALLOW_PRIVATE_NETWORKS.
  const env = { DATABASE_URL: db.url, RATE_LIMIT_PER_MINUTE: '0', WORKER_POLL_INTERVAL: '500ms', WEBHOOK_RETRY_SCHEDULE: '200ms,200ms', FETCH_CONNECT_TIMEOUT: '1s' };
  const procOpts = { logDir: options.logDir, scope };
  const [api] = await Promise.all([startApiProcess(env, { ...procOpts, label: 'ssrf-api' }), startWorkerProcess(env, { ...procOpts, label: 'ssrf-worker' })]);

  // Submit time.
  const hosts = literalHosts(site.port);
  const accepted: string[] = [];
  const wrong: string[] = [];
  for (const host of hosts) {
    for (const schema of ['http', 'https']) {
      const asUrl = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: `${schema}://${host}/admin` } });
      const asCallback = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: 'https://example.com/', callbackUrl: `${schema}://${host}/hook` } });
      const asList = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: 'https://example.com/', urls: [`${schema}://${host}/x`] } });
      for (const [where, r] of [['url', asUrl], ['callbackUrl', asCallback], ['urls', asList]] as const) {
        if (r.status === 202) accepted.push(`${where}=${schema}://${host}`);
        else if (r.status !== 400 || r.body?.code !== 'validation_error' || !/private|loopback|reserved|local|not a valid/.test(JSON.stringify(r.body.details ?? r.body.message))) {
          wrong.push(`${where}=${schema}://${host} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
        }
      }
    }
  }
  checks.add(
    'private/loopback/reserved literals in every spelling → 400 at submit (url, callbackUrl, urls[])',
    accepted.length === 0 && wrong.length === 0,
    accepted.length ? `accepted: ${accepted.slice(0, 5).join(', ')}` : wrong.length ? wrong.slice(0, 3).join('; ') : `${hosts.length} hosts × http/https × 3 fields = ${hosts.length * 6} submissions, all 400 naming the address`,
  );

  // Fetch time: names that pass submit but resolve to private addresses.
  const candidates = [os.hostname(), 'ip6-localhost', 'ip6-loopback'];
  const names: string[] = [];
  for (const name of candidates) {
    const addrs = await dns.lookup(name, { all: true }).catch(() => []);
    if (addrs.length > 0 && addrs.every((a) => isBlockedAddress(a.address))) names.push(name);
  }
  const fetchJobs: { name: string; jobId: string }[] = [];
  for (const name of names) {
    const r = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: `http://${name}:${site.port}/page`, callbackUrl: `http://${name}:${receiver.port}/hook` } });
    if (r.status === 202) fetchJobs.push({ name, jobId: String(r.body.jobId) });
  }
  const ids = fetchJobs.map((j) => j.jobId);
  await waitUntil(
    'fetch-time jobs final and their deliveries decided',
    async () => {
      const [row] = await db.sql`
        select count(*) filter (where status in ('completed', 'failed'))::int as final,
               (select count(*)::int from webhook_deliveries d where d.job_id = any(${ids}) and d.outcome <> 'retrying') as decided
        from jobs where id = any(${ids})`;
      return row!.final === ids.length && row!.decided === ids.length;
    },
    20_000,
    200,
  ).catch(() => {});
  const jobs = await db.sql`select id, status, error from jobs where id = any(${ids})`;
  const deliveries = await db.sql`select job_id, outcome, error from webhook_deliveries where job_id = any(${ids})`;
  const jobOk = jobs.length === names.length && names.length > 0 && jobs.every((j) => j.status === 'failed' && (j.error as { code?: string }).code === 'blocked_address');
  checks.add(
    'names resolving to loopback pass submit, then the job fails blocked_address at fetch time',
    jobOk,
    `${names.map((n) => `http://${n}/`).join(', ') || 'no local name resolves to loopback'}: ${jobs.map((j) => `${j.status}/${(j.error as { code?: string } | null)?.code}`).join(', ')}`,
  );
  checks.add(
    'their callbacks to the same names → delivery failed (blocked, not retried)',
    deliveries.length === ids.length && ids.length > 0 && deliveries.every((d) => d.outcome === 'failed' && /private, loopback or reserved/.test(String(d.error))),
    `${deliveries.length} delivery attempts: ${deliveries.map((d) => `${d.outcome} (${String(d.error).slice(0, 70)})`).join('; ')}`,
  );

  // In-process, with an injected resolver: every private answer (and a mixed one, as in DNS rebinding) is refused.
  const answers = ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'];
  const results: string[] = [];
  for (const answer of [...answers.map((a) => [a]), ['93.184.215.14', '127.0.0.1']]) {
    const client = createOutboundClient({
      allowPrivateNetworks: false,
      lookup: async () => answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      userAgent: 'chaos',
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      totalTimeoutMs: 2000,
      maxBodyBytes: 1024 * 1024,
      maxRedirects: 3,
    });
    const fetched = await client.fetch(`http://internal.example:${site.port}/`).then(() => 'fetched', (e) => (e instanceof OutboundError ? e.code : String(e)));
    const posted = await client.post(`http://internal.example:${receiver.port}/hook`, '{}', { headers: {}, timeoutMs: 1000, maxResponseBytes: 100 }).then(() => 'posted', (e) => (e instanceof OutboundError ? e.code : String(e)));
    await client.close();
    results.push(`${answer.join('+')}: ${fetched}/${posted}`);
  }
  const leaks = results.filter((r) => !r.endsWith('blocked_address/blocked_address'));
  checks.add('resolver answering a private address (or a mixed public+private answer) → blocked at fetch and at delivery (in-process, injected resolver)', leaks.length === 0, leaks.length ? leaks.join('; ') : `${results.length} answers, all blocked for fetch() and post()`);
  checks.add('nothing reached the local servers', siteHits === 0 && receiverHits === 0, `site ${siteHits} requests, receiver ${receiverHits}`);
  return checks.report(`API + worker processes, default policy; ${hosts.length} literal hosts; ${names.length} local names; ${answers.length + 1} resolver answers`);
}
