// Callback delivery end to end: real worker, real receivers on 127.0.0.1 that
// verify every request with the standardwebhooks package.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { getJob } from '../core/jobs/index.js';
import { listDeliveries } from '../core/webhooks/deliveries.js';
import { rescueOnce } from '../worker/maintenance/rescuer.js';
import { testConfig } from './helpers/config.js';
import { assertDocumented, documentedCompletedWebhook, documentedFailedWebhook } from './helpers/documented.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from './helpers/http.js';
import { startReceiver, waitFor as waitUntil } from './helpers/receiver.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let site: TestServer;

const SCHEDULE = { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms', WEBHOOK_TIMEOUT: '400ms', WORKER_POLL_INTERVAL: '100ms' };

before(async () => {
  site = await startHttpServer(
    fixtureSite({
      '/page': articlePage('Webhook page', 'The page whose extraction triggers a callback to the client.'),
      '/missing': (_req, res) => {
        res.writeHead(404).end();
      },
    }),
  );
  stack = await startStack({ worker: true, config: SCHEDULE });
  await stack.startWebhookSender();
});

/** A receiver that answers with `statuses` in turn (the last one repeats), recording every request. */
async function receiver(statuses: (number | 'hang')[], extraHeaders: Record<string, string> = {}) {
  const { baseUrl, received } = await startReceiver((_body, seen) => statuses[Math.min(seen.length - 1, statuses.length - 1)]!, extraHeaders);
  return { url: `${baseUrl}/hook`, received };
}

async function submitWithCallback(callbackUrl: string, page = '/page') {
  const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}${page}`, callbackUrl } });
  assert.equal(res.status, 202);
  return res.body.jobId as string;
}

const waitFor = <T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000) => waitUntil(fn, timeoutMs);

const finalDelivery = (jobId: string) =>
  waitFor(async () => {
    const all = await listDeliveries(stack.sql, jobId);
    return all.some((d) => d.outcome !== 'retrying') ? all : undefined;
  });

async function secret(key = stack.key) {
  const res = await stack.request('GET', '/v1/webhooks/secret', { key });
  return res.body.secret as string;
}

test('a receiver that fails twice then succeeds gets one success, with the same id and body every time, all attempts recorded', async () => {
  const hook = await receiver([500, 503, 200]);
  const jobId = await submitWithCallback(hook.url);
  const deliveries = await finalDelivery(jobId);

  assert.deepEqual(deliveries.map((d) => [d.attempt, d.outcome, d.statusCode]), [
    [1, 'retrying', 500],
    [2, 'retrying', 503],
    [3, 'delivered', 200],
  ]);
  assert.equal(hook.received.length, 3);
  const ids = new Set(hook.received.map((r) => r.headers['webhook-id']));
  const bodies = new Set(hook.received.map((r) => r.body));
  assert.equal(ids.size, 1);
  assert.equal(bodies.size, 1);
  assert.equal(hook.received[0]!.headers['x-knowledgesdk-dedup-key'], hook.received[0]!.headers['webhook-id']);

  const verifier = new Webhook(await secret());
  for (const r of hook.received) verifier.verify(r.body, r.headers);

  // The body production sends, in the shape the README documents.
  const payload = assertDocumented(documentedCompletedWebhook, JSON.parse(hook.received[0]!.body), 'the completed webhook body');
  assert.equal(payload.jobId, jobId);
  assert.deepEqual(payload.result.knowledgeItems.map((i) => [i.title, i.source]), [['Webhook page', `${site.url}/page`]]);
  assert.deepEqual(payload.result, (await getJob(stack.sql, { jobId }))?.result);
  assert.equal((await getJob(stack.sql, { jobId }))?.status, 'completed');

  const api = await stack.request('GET', `/v1/jobs/${jobId}/deliveries`);
  assert.equal(api.body.deliveries.length, 3);
  assert.equal(api.body.deliveries[2].outcome, 'delivered');
});

test('a failed job sends job.failed with its error', async () => {
  const hook = await receiver([200]);
  const jobId = await submitWithCallback(hook.url, '/missing');
  const deliveries = await finalDelivery(jobId);
  assert.equal(deliveries[0]!.event, 'job.failed');
  const payload = assertDocumented(documentedFailedWebhook, JSON.parse(hook.received[0]!.body), 'the failed webhook body');
  assert.equal(payload.error.code, 'upstream_status');
});

test('410 Gone stops the retries', async () => {
  const hook = await receiver([410]);
  const jobId = await submitWithCallback(hook.url);
  const deliveries = await finalDelivery(jobId);
  assert.deepEqual(deliveries.map((d) => [d.outcome, d.statusCode]), [['failed', 410]]);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(hook.received.length, 1);
});

test('a redirect is not followed and counts as a failure', async () => {
  const hook = await receiver([302, 200], { location: 'http://127.0.0.1:1/elsewhere' });
  const jobId = await submitWithCallback(hook.url);
  const deliveries = await finalDelivery(jobId);
  assert.deepEqual(deliveries.map((d) => [d.outcome, d.statusCode]), [['retrying', 302], ['delivered', 200]]);
  assert.match(deliveries[0]!.error!, /redirects are not followed/);
});

test('a receiver that never answers ends in a final failed delivery while the job stays completed', async () => {
  const hook = await receiver(['hang']);
  const jobId = await submitWithCallback(hook.url);
  const deliveries = await finalDelivery(jobId);
  assert.equal(deliveries.length, 4, 'the first attempt and three retries');
  assert.deepEqual(deliveries.map((d) => d.outcome), ['retrying', 'retrying', 'retrying', 'failed']);
  for (const d of deliveries) assert.match(d.error!, /time/i);
  assert.equal((await getJob(stack.sql, { jobId }))?.status, 'completed');
});

test('Retry-After on 429 is honoured', async () => {
  const hook = await receiver([429, 200], { 'retry-after': '1' });
  const jobId = await submitWithCallback(hook.url);
  const deliveries = await finalDelivery(jobId);
  assert.equal(deliveries.length, 2);
  const gap = deliveries[1]!.createdAt.getTime() - deliveries[0]!.createdAt.getTime();
  assert.ok(gap >= 900, `second attempt came ${gap} ms later; Retry-After asked for 1 s`);
  assert.ok(deliveries[0]!.nextAttemptAt);
});

test('redelivery sends the final event again with the same webhook-id', async () => {
  const hook = await receiver([200]);
  const jobId = await submitWithCallback(hook.url);
  await finalDelivery(jobId);
  const res = await stack.request('POST', `/v1/jobs/${jobId}/redeliver`);
  assert.equal(res.status, 202);
  await waitFor(async () => hook.received.length === 2);
  assert.equal(hook.received[1]!.headers['webhook-id'], hook.received[0]!.headers['webhook-id']);
  assert.equal(hook.received[1]!.body, hook.received[0]!.body);
  assert.equal(res.body.webhookId, hook.received[0]!.headers['webhook-id']);
  const noCallback = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page` } });
  assert.equal((await stack.request('POST', `/v1/jobs/${noCallback.body.jobId}/redeliver`)).status, 409);
});

test('after a rotation, old and new secrets both verify during the grace period', async () => {
  const old = await secret();
  const rotated = await stack.request('POST', '/v1/webhooks/secret/rotate');
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.secret, old);
  assert.match(rotated.body.secret, /^whsec_/);
  assert.ok(Date.parse(rotated.body.previousSecretExpiresAt) > Date.now());
  const hook = await receiver([200]);
  const jobId = await submitWithCallback(hook.url);
  await finalDelivery(jobId);
  const r = hook.received[0]!;
  new Webhook(old).verify(r.body, r.headers);
  new Webhook(rotated.body.secret).verify(r.body, r.headers);
  assert.equal(r.headers['webhook-signature']!.split(' ').length, 2);
  assert.throws(() => new Webhook(`whsec_${Buffer.from('not the secret at all!!').toString('base64')}`).verify(r.body, r.headers));
});

test('a crash between attempts resumes the schedule in another sender', async () => {
  // A stack with no sender running: attempts are driven by the senders we start and stop here.
  const quiet = await startStack({ worker: true, config: { ...SCHEDULE, WEBHOOK_RETRY_SCHEDULE: '1500ms,100ms' } });
  const hook = await receiver([500, 200]);
  const res = await quiet.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page`, callbackUrl: hook.url } });
  const first = await quiet.startWebhookSender({ random: () => 0.5 });
  await waitFor(async () => hook.received.length === 1);
  await first.stop(); // the process that made attempt 1 is gone
  const pending = await listDeliveries(quiet.sql, res.body.jobId);
  assert.deepEqual(pending.map((d) => d.outcome), ['retrying']);
  await quiet.startWebhookSender();
  await waitFor(async () => hook.received.length === 2);
  const deliveries = await waitFor(async () => {
    const all = await listDeliveries(quiet.sql, res.body.jobId);
    return all.length === 2 ? all : undefined;
  });
  assert.deepEqual(deliveries.map((d) => d.outcome), ['retrying', 'delivered']);
  assert.equal(hook.received[0]!.headers['webhook-id'], hook.received[1]!.headers['webhook-id']);
});

test('by default a callback to a private address is refused at delivery too, and nothing is sent', async () => {
  const hook = await receiver([200]);
  const strictConfig = testConfig({ ...SCHEDULE, ALLOW_PRIVATE_NETWORKS: 'false' });
  const strict = await startStack({ worker: true, config: SCHEDULE });
  await strict.startWebhookSender({ config: strictConfig });
  // Submitted through a permissive API (as if DNS pointed a public name at a private address later).
  const res = await strict.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page`, callbackUrl: hook.url } });
  const deliveries = await waitFor(async () => {
    const all = await listDeliveries(strict.sql, res.body.jobId);
    return all.length > 0 ? all : undefined;
  });
  assert.equal(deliveries[0]!.outcome, 'failed');
  assert.match(deliveries[0]!.error!, /private|loopback|reserved/);
  assert.equal(hook.received.length, 0);
});

test('a delivery held by a sender that died mid-attempt is handed out again once its time is up', async () => {
  const quiet = await startStack({ worker: true, config: SCHEDULE });
  const hook = await receiver([200]);
  const res = await quiet.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page`, callbackUrl: hook.url } });
  await quiet.waitForStatus(res.body.jobId, ['completed']);
  // As if a sender had fetched the entry long ago and been SIGKILLed: still active, never finished.
  const held = await quiet.sql`
    update pgboss.job set state = 'active', started_on = now() - interval '10 minutes'
    where name = 'webhook' and data->>'jobId' = ${res.body.jobId} returning id`;
  assert.equal(held.length, 1);
  await rescueOnce(quiet.sql, quiet.boss, quiet.logger, { rescueAfterMs: 60_000 });
  const [entry] = await quiet.sql`select state from pgboss.job where id = ${held[0]!.id}`;
  assert.equal(entry!.state, 'retry');
  await quiet.startWebhookSender();
  await waitFor(async () => hook.received.length === 1);
  const deliveries = await waitFor(async () => {
    const all = await listDeliveries(quiet.sql, res.body.jobId);
    return all.length === 1 ? all : undefined;
  });
  assert.equal(deliveries[0]!.outcome, 'delivered');
  assert.equal(hook.received[0]!.headers['webhook-id'], deliveries[0]!.webhookId);
});
