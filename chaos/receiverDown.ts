// receiver-down: the webhook receiver refuses connections, then answers 503,
// then hangs past WEBHOOK_TIMEOUT, then comes back. Holds when every delivery
// eventually succeeds with the same webhook-id and the same body on every
// attempt, each attempt recorded.
import { createApiKey } from '../core/apiKeys.js';
import { apiCall, articleHtml, createDatabase, rememberSecret, seconds, sleep, startApiProcess, startHttp, startWorkerProcess, waitUntil, withScope, type Scope } from './harness.js';
import { Receiver } from './receiver.js';
import { Checks, type Scenario, type ScenarioOptions, type ScenarioReport } from './types.js';

export const receiverDown: Scenario = {
  name: 'receiver-down',
  summary: 'webhook receiver refusing, failing and hanging, then back',
  inTestSuite: true,
  run: (options) => withScope((scope) => run(options, scope)),
};

const SCHEDULE = '500ms,1s,2s,4s,4s,4s,4s';

async function run(options: ScenarioOptions, scope: Scope): Promise<ScenarioReport> {
  const jobsCount = options.reduced ? 6 : 24;
  const phaseMs = options.reduced ? 1500 : 3000;
  const checks = new Checks();
  const load = `${jobsCount} jobs with callbacks (⅙ failing → job.failed); receiver refuses ${seconds(phaseMs)}, answers 503 ${seconds(phaseMs)}, hangs ${seconds(phaseMs)} (WEBHOOK_TIMEOUT=1s), then 200; WEBHOOK_RETRY_SCHEDULE=${SCHEDULE}`;
  const db = await createDatabase(options.pgServerUrl, scope, 'recv');
  const { key } = await createApiKey(db.sql, 'chaos-receiver');
  rememberSecret(key);
  const site = await startHttp((req, res) => {
    if (req.url?.startsWith('/missing')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(articleHtml(`Receiver ${req.url}`));
  }, scope);
  const receiver = new Receiver(scope);
  await receiver.start();
  await receiver.down(); // keeps its port; connections refused until it is back

  const env = { DATABASE_URL: db.url, ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: SCHEDULE, WEBHOOK_TIMEOUT: '1s', WORKER_POLL_INTERVAL: '500ms' };
  const procOpts = { logDir: options.logDir, scope };
  const [api] = await Promise.all([startApiProcess(env, { ...procOpts, label: 'recv-api' }), startWorkerProcess(env, { ...procOpts, label: 'recv-worker' })]);
  receiver.setSecret(rememberSecret(String((await apiCall(api.baseUrl, 'GET', '/v1/webhooks/secret', { key })).body.secret)));

  const jobIds: string[] = [];
  for (let i = 0; i < jobsCount; i++) {
    const page = i % 6 === 5 ? `/missing/${i}` : `/page/${i}`;
    const r = await apiCall(api.baseUrl, 'POST', '/v1/extract/async', { key, body: { url: `${site.url}${page}`, callbackUrl: receiver.url } });
    if (r.status === 202) jobIds.push(String(r.body.jobId));
  }
  const downAt = Date.now();
  // The phases run from the first finished job, not from submission: on a loaded machine the first jobs (the model
  // loading, the host's politeness) can outlast all three phases, and deliveries that never met a failing receiver
  // test nothing (CI once saw 6 first attempts, all after the receiver was back).
  const anyFinished = async () => (await db.sql`select 1 from jobs where id = any(${jobIds}) and status in ('completed', 'failed') limit 1`).length > 0;
  await waitUntil('a job finished', anyFinished, 60_000, 100).catch(() => {});
  await sleep(phaseMs);
  receiver.answer = 503;
  await receiver.start();
  await sleep(phaseMs);
  receiver.answer = 'hang';
  await sleep(phaseMs);
  receiver.answer = 200;
  const upAt = Date.now();

  const expected = async () =>
    (
      await db.sql`
        select j.id, j.status, (select max(e.id)::text from job_events e where e.job_id = j.id and e.to_status = j.status) as event
        from jobs j where j.id = any(${jobIds}) and j.status in ('completed', 'failed')`
    ).map((r) => ({ jobId: r.id as string, status: r.status as string, webhookId: `msg_${r.id}_${r.event}` }));
  let finals = await expected();
  await waitUntil(
    'every delivery acknowledged',
    async () => {
      finals = await expected();
      const acked = receiver.acknowledged();
      return finals.length === jobIds.length && finals.every((f) => acked.has(f.webhookId));
    },
    40_000,
    200,
  ).catch(() => {});
  const acked = receiver.acknowledged();
  const lastAck = Math.max(...receiver.deliveries.filter((d) => d.status === 200).map((d) => d.at));
  checks.add(
    'every delivery eventually succeeds once the receiver is back',
    jobIds.length === jobsCount && finals.length === jobsCount && finals.every((f) => acked.has(f.webhookId)),
    `${finals.filter((f) => acked.has(f.webhookId)).length}/${jobsCount} acknowledged (${finals.filter((f) => f.status === 'failed').length} job.failed), the last ${seconds(lastAck - upAt)} after the receiver came back`,
  );

  // Same id and body on every attempt; the body is the job's final state.
  const byId = receiver.byId();
  const problems: string[] = [];
  let attemptsSeen = 0;
  for (const f of finals) {
    const got = byId.get(f.webhookId) ?? [];
    attemptsSeen += got.length;
    if (new Set(got.map((d) => d.body)).size > 1) problems.push(`${f.webhookId}: bodies differ between attempts`);
    const body = got[0] ? JSON.parse(got[0].body) : null;
    if (body && (body.jobId !== f.jobId || body.status !== f.status)) problems.push(`${f.webhookId}: body names ${body.jobId}/${body.status}`);
  }
  const stray = [...byId.keys()].filter((id) => !finals.some((f) => f.webhookId === id));
  const rows = await db.sql`select job_id, webhook_id, outcome from webhook_deliveries where job_id = any(${jobIds})`;
  const idsPerJob = new Map<string, Set<string>>();
  for (const r of rows) idsPerJob.set(r.job_id as string, (idsPerJob.get(r.job_id as string) ?? new Set()).add(r.webhook_id as string));
  const retried = rows.filter((r) => r.outcome === 'retrying').length;
  checks.add(
    'unchanged webhook-id and body on every attempt; every attempt recorded; signatures verify',
    problems.length === 0 && stray.length === 0 && [...idsPerJob.values()].every((s) => s.size === 1) && retried > 0 && receiver.verifyFailures.length === 0,
    problems[0] ??
      (stray.length ? `${stray.length} unexpected webhook-ids` : `${attemptsSeen} requests received for ${finals.length} ids; ${rows.length} attempts recorded (${retried} failed and retried), one webhook-id per job; ${receiver.verifyFailures.length} bad signatures`),
  );
  checks.note(`receiver-down: receiver down from submission to ${seconds(upAt - downAt)} later`);
  return checks.report(load);
}
