// postgres-outage: PostgreSQL stopped under load (API and worker processes
// running, a client submitting at a steady rate) and started again on the
// same port. Holds when no accepted job is lost, the API answers 503 with
// Retry-After meanwhile (no 500s, no crash, nothing hanging), and both
// processes reconnect by themselves within 5 s of the restart.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../core/apiKeys.js';
import { connect } from '../core/platform/db.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrate } from '../core/platform/migrations.js';
import {
  apiCall,
  ms,
  percentile,
  recoveryEnv,
  rememberSecret,
  seconds,
  sleep,
  startApiProcess,
  startArticleSite,
  startWorkerProcess,
  waitUntil,
  withScope,
  type ApiResponse,
  type Scope,
} from './harness.js';
import { Checks, type Scenario, type ScenarioOptions, type ScenarioReport } from './types.js';

const RECONNECT_BOUND_MS = 5000;
const HANG_BOUND_MS = 15_000;
const POLL_INTERVAL = '5s';

export const postgresOutage: Scenario = {
  name: 'postgres-outage',
  summary: 'stop PostgreSQL under load, start it again on the same port',
  inTestSuite: true,
  run: (options) => withScope((scope) => run(options, scope)),
};

interface Sent {
  at: number;
  res: ApiResponse;
}

async function run(options: ScenarioOptions, scope: Scope): Promise<ScenarioReport> {
  const outageMs = options.reduced ? 4000 : 10_000;
  const rate = 5;
  const log = options.progress ?? (() => {});
  const checks = new Checks();
  const load = `API + worker processes, ${rate} submissions/s, PostgreSQL down ${seconds(outageMs)} (pg_ctl stop -m fast, start on the same port)`;

  // Its own server: this scenario stops it.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-chaos-outage-'));
  scope.defer(() => fs.rm(dir, { recursive: true, force: true }));
  const logger = createSilentLogger();
  let pg: EmbeddedServer = await startEmbeddedPostgres(dir, logger, 'gleaner');
  scope.defer(() => pg.stop());
  const port = pg.port;
  let sql = connect(pg.url, 2, 'gleaner-chaos');
  await migrate(sql);
  const { key } = await createApiKey(sql, 'chaos-outage');
  rememberSecret(key);
  await sql.end({ timeout: 1 });

  const site = await startArticleSite(scope, 'Outage', () => 50);
  const env = recoveryEnv(pg.url, {
    WORKER_POLL_INTERVAL: POLL_INTERVAL,
    RESCUE_AFTER: '6s',
    // Enough slots that a job waits for the notification, not for a free slot: pickup is what is measured.
    WORKER_CONCURRENCY: '16',
    // Every job fetches the one article site, and one-page jobs hold the shared host slots: at the defaults
    // (2 at a time, 250 ms apart) 5 submissions/s outrun the host, jobs queue in the worker and pickup measures politeness.
    CRAWL_HOST_CONCURRENCY: '16',
    CRAWL_HOST_DELAY: '0',
  });
  const procOpts = { logDir: options.logDir, scope };
  const [api, worker] = await Promise.all([startApiProcess(env, { ...procOpts, label: 'outage-api' }), startWorkerProcess(env, { ...procOpts, label: 'outage-worker' })]);

  const sent: Sent[] = [];
  const ready: Sent[] = [];
  let running = true;
  const client = (async () => {
    const inFlight: Promise<void>[] = [];
    const started = Date.now();
    for (let i = 0; running; i++) {
      const at = Date.now();
      inFlight.push(
        apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: `${site.url}/o/${i}` }, timeoutMs: HANG_BOUND_MS + 5000 }).then((res) => void sent.push({ at, res })),
      );
      if (i % 5 === 0) inFlight.push(apiCall(api.baseUrl, 'GET', '/readyz', { timeoutMs: HANG_BOUND_MS + 5000 }).then((res) => void ready.push({ at, res })));
      await sleep(Math.max(0, started + ((i + 1) * 1000) / rate - Date.now()));
    }
    await Promise.all(inFlight);
  })();

  await sleep(options.reduced ? 2000 : 4000);
  const stopAt = Date.now();
  await pg.stop();
  log(`  PostgreSQL stopped (port ${port}); down for ${seconds(outageMs)}`);
  await sleep(outageMs - (Date.now() - stopAt));
  const restartAt = Date.now();
  pg = await startEmbeddedPostgres(dir, logger, 'gleaner', { port });
  log(`  PostgreSQL started again on port ${pg.port} after ${seconds(restartAt - stopAt)}`);
  await sleep(options.reduced ? 5000 : 10_000);
  running = false;
  await client;

  sql = connect(pg.url, 2, 'gleaner-chaos');
  scope.defer(() => sql.end({ timeout: 1 }));
  const accepted = sent.filter((s) => s.res.status === 202).map((s) => String(s.res.body.jobId));
  await waitUntil(
    'every accepted job final',
    async () => (await sql`select count(*)::int as n from jobs where id = any(${accepted}) and status in ('completed', 'failed', 'cancelled')`)[0]!.n === accepted.length,
    60_000,
    250,
  ).catch(() => {});
  const rows = await sql`select id, status, created_at, started_at from jobs where id = any(${accepted})`;
  const statuses = new Map<string, number>();
  for (const r of rows) statuses.set(r.status as string, (statuses.get(r.status as string) ?? 0) + 1);
  checks.add(
    'every jobId that got a 202 exists afterwards and reaches a final state',
    accepted.length > 0 && rows.length === accepted.length && rows.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status as string)),
    `${accepted.length} accepted, ${rows.length} found: ${[...statuses].map(([s, n]) => `${n} ${s}`).join(', ')}`,
  );

  // During the outage: requests sent while the server was down.
  const during = sent.filter((s) => s.at >= stopAt && s.at < restartAt);
  const byStatus = new Map<number, number>();
  for (const s of sent) byStatus.set(s.res.status, (byStatus.get(s.res.status) ?? 0) + 1);
  const bad503 = during.filter((s) => s.res.status === 503 && !(Number(s.res.headers.get('retry-after')) > 0));
  const notUnavailable = during.filter((s) => s.res.status !== 503 && s.res.status !== 202);
  const fiveHundreds = sent.filter((s) => s.res.status >= 500 && s.res.status !== 503);
  checks.add(
    'during the outage the API answers 503 with Retry-After (no 500s)',
    during.length > 0 && bad503.length === 0 && notUnavailable.length === 0 && fiveHundreds.length === 0,
    `${during.length} submissions while down: ${during.filter((s) => s.res.status === 503).length}×503 (Retry-After ${during.find((s) => s.res.status === 503)?.res.headers.get('retry-after') ?? '-'}), ${during.filter((s) => s.res.status === 202).length}×202` +
      (notUnavailable.length ? `; other: ${notUnavailable.slice(0, 3).map((s) => `${s.res.status} ${JSON.stringify(s.res.body).slice(0, 120)}`).join('; ')}` : '') +
      `; whole run: ${[...byStatus].map(([st, n]) => `${n}×${st}`).join(', ')}`,
  );
  const readyDuring = ready.filter((s) => s.at >= stopAt && s.at < restartAt);
  const slow = [...sent.map((s) => ({ ...s, what: 'submit' })), ...ready.map((s) => ({ ...s, what: 'readyz' }))]
    .filter((s) => s.res.ms > 3000)
    .sort((a, b) => b.res.ms - a.res.ms);
  if (slow.length) {
    checks.note(
      `postgres-outage: ${slow.length} responses took > 3 s: ` +
        slow.slice(0, 6).map((s) => `${s.what} sent at stop${s.at - stopAt >= 0 ? '+' : ''}${ms(s.at - stopAt)} → ${s.res.status} after ${ms(s.res.ms)}`).join('; ') +
        ` (restart at stop+${ms(restartAt - stopAt)})`,
    );
  }
  const slowest = Math.max(...sent.map((s) => s.res.ms), ...ready.map((s) => s.res.ms));
  const apiLogs = api.proc.logs.filter((l) => l.level === 'error' && l.message === 'request failed');
  checks.add(
    `no request hangs beyond ${seconds(HANG_BOUND_MS)}, no crash`,
    slowest <= HANG_BOUND_MS && api.proc.alive && worker.proc.alive && !sent.some((s) => s.res.status === 0),
    `slowest response ${ms(slowest)}; /readyz while down: ${readyDuring.map((s) => s.res.status).join(',') || '-'}; API ${api.proc.alive ? 'alive' : 'DIED'}, worker ${worker.proc.alive ? 'alive' : 'DIED'}; ${apiLogs.length} 'request failed' error logs` +
      [api.proc, worker.proc].filter((p) => !p.alive).map((p) => `; ${p.label} stderr: ${p.stderr().slice(-600)}`).join(''),
  );

  // Reconnection.
  const firstAccepted = sent.filter((s) => s.at >= restartAt && s.res.status === 202).sort((a, b) => a.at + a.res.ms - (b.at + b.res.ms))[0];
  const apiBack = firstAccepted ? firstAccepted.at + firstAccepted.res.ms - restartAt : Infinity;
  const [firstDone] = await sql`select min(at) as at from job_events where to_status = 'completed' and at >= ${new Date(restartAt)}`;
  const workerBack = firstDone?.at ? (firstDone.at as Date).getTime() - restartAt : Infinity;
  checks.add(
    `API and worker reconnect by themselves within ${seconds(RECONNECT_BOUND_MS)} of the restart`,
    apiBack <= RECONNECT_BOUND_MS && workerBack <= RECONNECT_BOUND_MS,
    `restart → first 202 ${ms(apiBack)}, → first job completed ${ms(workerBack)}`,
  );

  // LISTEN: with a 5 s poll interval, pickup in well under a second means NOTIFY wakes the worker again.
  const pickup = (from: number, to: number) =>
    rows
      .filter((r) => r.started_at && (r.created_at as Date).getTime() >= from && (r.created_at as Date).getTime() < to)
      .map((r) => (r.started_at as Date).getTime() - (r.created_at as Date).getTime())
      .sort((a, b) => a - b);
  const before = pickup(0, stopAt);
  const afterward = pickup(restartAt + 2000, Infinity);
  checks.add(
    `LISTEN/NOTIFY recovers: pickup after the restart is immediate (p50 < 1 s with WORKER_POLL_INTERVAL=${POLL_INTERVAL})`,
    afterward.length > 0 && percentile(afterward, 50) < 1000,
    `submit → claimed p50 ${ms(percentile(before, 50))} before the outage, ${ms(percentile(afterward, 50))} (max ${ms(afterward.at(-1) ?? NaN)}) from 2 s after the restart (${afterward.length} jobs)`,
  );
  const listeners = await sql`select application_name, count(*)::int as n from pg_stat_activity where query ilike 'listen%' group by 1`;
  checks.note(`postgres-outage: backends whose last statement is LISTEN after the restart: ${listeners.map((r) => `${r.n} (${r.application_name})`).join(', ') || 'none'}`);
  const workerErrors = worker.proc.logs.filter((l) => l.level === 'error').map((l) => l.message);
  const counts = new Map<string, number>();
  for (const m of workerErrors) counts.set(m, (counts.get(m) ?? 0) + 1);
  checks.note(`postgres-outage: worker error logs during the outage: ${[...counts].map(([m, n]) => `${n}× '${m}'`).join(', ') || 'none'}`);
  return checks.report(load);
}
