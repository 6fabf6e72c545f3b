// Webhook sending under faults and abuse: a stalled sender's late finish is
// fenced by the activation it took, redeliver keeps one chain per event, a
// tarpit receiver of one key cannot hold the slots another key's deliveries
// need, and the cross-tenant, Retry-After, response-cap and jitter rules.
// Real worker, real sender, real receivers on 127.0.0.1.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createApiKey } from '../../core/apiKeys.js';
import { listDeliveries } from '../../core/webhooks/deliveries.js';
import { parseRetryAfter, retryDelayMs } from '../../worker/webhooks.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { errorCode, errorDetails } from '../helpers/errors.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Held requests must stay held however loaded the machine: every timeout an
// attempt could hit is far beyond what a test waits.
const FAST = { WEBHOOK_TIMEOUT: '120s', FETCH_HEADERS_TIMEOUT: '120s', FETCH_BODY_TIMEOUT: '120s', WORKER_POLL_INTERVAL: '100ms' };

const site = await startHttpServer(fixtureSite({ '/page': articlePage('Hook page', 'A page whose extraction triggers a callback to the client.') }));

async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not met in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Hold {
  req: IncomingMessage;
  res: ServerResponse;
  body: string;
}

/** A receiver that holds every request until the test answers it (or, after releaseAll, answers 200 at once). */
async function holdingReceiver() {
  const held: Hold[] = [];
  let released = false;
  const server = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      held.push({ req, res, body });
      if (released) res.writeHead(200).end();
    });
  });
  const releaseAll = () => {
    released = true;
    for (const h of held) if (!h.res.headersSent) h.res.writeHead(200).end();
  };
  return { url: `${server.url}/hook`, held, releaseAll };
}

/** A receiver answering `status` at once, counting requests. */
async function answeringReceiver(status: number, headers: Record<string, string> = {}) {
  const received: { headers: Record<string, string>; body: string }[] = [];
  const server = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(status, headers).end('ok');
    });
  });
  return { url: `${server.url}/hook`, received };
}

async function submit(stack: Stack, callbackUrl: string, key = stack.key): Promise<string> {
  const res = await stack.request('POST', '/v1/extract/async', { key, body: { url: `${site.url}/page`, callbackUrl } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.jobId as string;
}

const liveEntries = (stack: Stack, jobId: string) =>
  stack.sql`select id, state::text, retry_count, start_after, data from pgboss.job where name = 'webhook' and data->>'jobId' = ${jobId} and state < 'completed'`;

test('a stalled sender whose entry was handed out again records nothing and schedules nothing', async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '100ms' } });
  const hook = await holdingReceiver();
  const sender = await stack.startWebhookSender();
  const jobId = await submit(stack, hook.url);
  await waitFor(() => hook.held.length === 1, 'the first attempt reaches the receiver');

  // The sender is stalled in its attempt. Its entry expires and another
  // activation takes it, exactly as a second sender's fetch would.
  const [entry] = await liveEntries(stack, jobId);
  assert.equal(entry!.state, 'active');
  const [reactivated] = await stack.sql`
    update pgboss.job set state = 'active', started_on = now(), retry_count = retry_count + 1
    where id = ${entry!.id} and state = 'active' returning retry_count`;
  assert.equal(reactivated!.retry_count, entry!.retry_count + 1);

  // The stalled attempt now succeeds, late.
  hook.held[0]!.res.writeHead(500).end();
  await sender.stop(); // waits for the attempt under way to finish its bookkeeping

  assert.deepEqual(await listDeliveries(stack.sql, jobId), [], 'the stale activation recorded an attempt');
  const after = await liveEntries(stack, jobId);
  assert.deepEqual(after.map((e) => [e.id, e.state, e.retry_count]), [[entry!.id, 'active', entry!.retry_count + 1]], 'the re-activation still holds the only entry of the event');
});

test('redeliver keeps one chain per event: while one is queued, waiting or being sent, it answers 409 and queues nothing', async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '1h' } });
  const failing = await answeringReceiver(500);
  const sender = await stack.startWebhookSender();
  const jobId = await submit(stack, failing.url);
  await waitFor(async () => (await listDeliveries(stack.sql, jobId)).length === 1, 'the first attempt is recorded');
  assert.equal((await liveEntries(stack, jobId)).length, 1, 'attempt 2 waits an hour');

  const answers = await Promise.all(Array.from({ length: 10 }, () => stack.request('POST', `/v1/jobs/${jobId}/redeliver`)));
  assert.deepEqual(answers.map((a) => a.status), Array(10).fill(409));
  assert.equal(errorCode(answers[0]!.body), 'delivery_in_progress');
  assert.equal((errorDetails(answers[0]!.body) as any).attempt, 2);
  assert.equal((await liveEntries(stack, jobId)).length, 1, 'still one entry for the event');
  assert.equal(failing.received.length, 1);

  // Once the chain has ended, one new chain, however many ask at once.
  await stack.sql`update pgboss.job set state = 'cancelled' where name = 'webhook' and data->>'jobId' = ${jobId} and state < 'completed'`;
  await sender.stop();
  const again = await Promise.all(Array.from({ length: 10 }, () => stack.request('POST', `/v1/jobs/${jobId}/redeliver`)));
  assert.deepEqual(again.map((a) => a.status).sort(), [202, ...Array(9).fill(409)]);
  assert.equal((await liveEntries(stack, jobId)).length, 1);
});

test('a tarpit receiver of one key holds at most its per-key slots: another key is delivered meanwhile', async () => {
  // 4 slots, 2 per key; the tarpit never answers within the test (every timeout is 120 s).
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_CONCURRENCY: '4', WEBHOOK_CONCURRENCY_PER_KEY: '2', WEBHOOK_RETRY_SCHEDULE: '1h' } });
  const other = await createApiKey(stack.sql, 'other tenant');
  const tarpit = await holdingReceiver();
  const fine = await answeringReceiver(200);

  const tarpitJobs = [];
  for (let i = 0; i < 6; i++) tarpitJobs.push(await submit(stack, tarpit.url));
  for (const jobId of tarpitJobs) await stack.waitForStatus(jobId, ['completed']);
  const sender = await stack.startWebhookSender();
  await waitFor(() => tarpit.held.length >= 2, 'the tarpit holds requests');

  const fineJobs = [];
  for (let i = 0; i < 5; i++) fineJobs.push(await submit(stack, fine.url, other.key));
  for (const jobId of fineJobs) await waitFor(async () => (await listDeliveries(stack.sql, jobId)).some((d) => d.outcome === 'delivered'), `delivery of ${jobId}`);

  // Every delivery of the other key went through while the tarpit's first
  // two attempts were still hanging: none of the tarpit key's attempts ended.
  assert.equal(fine.received.length, 5);
  assert.equal(tarpit.held.length, 2, 'the tarpit key never had more than its 2 slots');
  for (const jobId of tarpitJobs) assert.deepEqual(await listDeliveries(stack.sql, jobId), []);
  const active = await stack.sql`
    select count(*)::int as n from pgboss.job q join jobs j on j.id = q.data->>'jobId'
    where q.name = 'webhook' and q.state = 'active' and j.api_key_id = ${stack.apiKeyId}`;
  assert.equal(active[0]!.n, 2);

  tarpit.releaseAll();
  for (const jobId of tarpitJobs) await waitFor(async () => (await listDeliveries(stack.sql, jobId)).length === 1, 'the tarpit key is served once its receiver answers');
  assert.equal(tarpit.held.length, 6);
  await sender.stop();
});

test("another key sees none of a job's deliveries, cannot redeliver it, and has a secret of its own", async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '100ms' } });
  const other = await createApiKey(stack.sql, 'other tenant');
  const hook = await answeringReceiver(200);
  await stack.startWebhookSender();
  const jobId = await submit(stack, hook.url);
  await waitFor(async () => (await listDeliveries(stack.sql, jobId)).length === 1, 'delivered');

  for (const [method, path] of [['GET', `/v1/jobs/${jobId}/deliveries`], ['POST', `/v1/jobs/${jobId}/redeliver`]] as const) {
    const res = await stack.request(method, path, { key: other.key });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(errorCode(res.body), 'not_found');
    assert.doesNotMatch(JSON.stringify(res.body), /hook|deliver/i);
  }
  assert.equal((await liveEntries(stack, jobId)).length, 0, "the other key's redeliver queued nothing");
  const mine = (await stack.request('GET', '/v1/webhooks/secret')).body.secret as string;
  const theirs = (await stack.request('GET', '/v1/webhooks/secret', { key: other.key })).body.secret as string;
  assert.match(theirs, /^whsec_/);
  assert.notEqual(theirs, mine);
  // Rotating the other key's secret leaves this key's alone; this key's deliveries verify with its own secret only.
  await stack.request('POST', '/v1/webhooks/secret/rotate', { key: other.key });
  assert.equal((await stack.request('GET', '/v1/webhooks/secret')).body.secret, mine);
  const r = hook.received[0]!;
  new Webhook(mine).verify(r.body, r.headers);
  assert.throws(() => new Webhook(theirs).verify(r.body, r.headers));
});

test('Retry-After on a 503 as an HTTP date sets the next attempt', async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '1h' } });
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000); // whole seconds: an HTTP date has no more
  const hook = await answeringReceiver(503, { 'retry-after': at.toUTCString() });
  await stack.startWebhookSender();
  const jobId = await submit(stack, hook.url);
  const [first] = await waitFor(async () => {
    const all = await listDeliveries(stack.sql, jobId);
    return all.length === 1 ? all : undefined;
  }, 'the 503 is recorded');
  assert.equal(first!.statusCode, 503);
  assert.equal(first!.outcome, 'retrying');
  // Scheduled for the date the receiver named, not the hour of the schedule.
  const [next] = await liveEntries(stack, jobId);
  for (const when of [first!.nextAttemptAt!, next!.start_after as Date]) {
    assert.ok(Math.abs(when.getTime() - at.getTime()) <= 2000, `next attempt at ${when.toISOString()}, Retry-After said ${at.toISOString()}`);
  }
});

test('parseRetryAfter reads seconds and HTTP dates, clamps the past to 0 and refuses junk', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:02:00 GMT', now), 120_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
  assert.equal(parseRetryAfter('99999999', now), 24 * 3_600_000, 'capped at a day');
});

test('the response body is read up to 4 KB: a receiver streaming without end gets its attempt recorded, and the connection is cut', async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '1h' } });
  let written = 0;
  let closed = false;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => (closed = true));
      // Endless body, written as fast as the client reads it.
      const pump = () => {
        while (!closed && written < 1024 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
  });
  await stack.startWebhookSender();
  const jobId = await submit(stack, `${server.url}/hook`);
  const deliveries = await waitFor(async () => {
    const all = await listDeliveries(stack.sql, jobId);
    return all.length > 0 ? all : undefined;
  }, 'the attempt is recorded');
  assert.deepEqual(deliveries.map((d) => [d.attempt, d.outcome, d.statusCode, d.error]), [[1, 'delivered', 200, null]]);
  await waitFor(() => closed, 'the sender closes the connection');
  // What the receiver managed to write is what sat in socket buffers when the
  // sender stopped reading: bounded, nowhere near a stream read to its end.
  assert.ok(written < 32 * 1024 * 1024, `the receiver wrote ${written} bytes before the connection closed`);
});

test('retry delays lie within ±20 % of the schedule at the extremes of the random source', () => {
  const schedule = [5000, 300_000, 1_800_000];
  for (const [i, base] of schedule.entries()) {
    assert.equal(retryDelayMs(schedule, i + 1, null, () => 0), Math.round(base * 0.8));
    assert.equal(retryDelayMs(schedule, i + 1, null, () => 1), Math.round(base * 1.2));
    const mid = retryDelayMs(schedule, i + 1, null, () => 0.5)!;
    assert.equal(mid, base);
  }
  assert.equal(retryDelayMs(schedule, schedule.length + 1, null, () => 0.5), null, 'the schedule is exhausted');
  assert.equal(retryDelayMs(schedule, 1, 42_000, () => 0), 42_000, 'Retry-After wins over the schedule');
});

test('the queued retry is due within ±20 % of its scheduled delay, at both extremes', async () => {
  const stack = await startStack({ worker: true, config: { ...FAST, WEBHOOK_RETRY_SCHEDULE: '1h' } });
  const hook = await answeringReceiver(500);
  for (const [random, factor] of [[0, 0.8], [1, 1.2]] as const) {
    const sender = await stack.startWebhookSender({ random: () => random });
    const jobId = await submit(stack, hook.url);
    const [first] = await waitFor(async () => {
      const all = await listDeliveries(stack.sql, jobId);
      return all.length === 1 ? all : undefined;
    }, 'the failed attempt is recorded');
    await sender.stop();
    const [next] = await liveEntries(stack, jobId);
    // The delay is computed just before the record is written: the gap between the two is the transaction's, milliseconds.
    const delay = (next!.start_after as Date).getTime() - first!.createdAt.getTime();
    assert.ok(Math.abs(delay - factor * 3_600_000) < 60_000, `random ${random}: retry due ${delay} ms after the attempt, expected ${factor} h`);
    assert.equal(next!.data.attempt, 2);
  }
});
