// KnowledgeSDK's account events beyond a job's end (#18): EXTRACTION_STARTED
// when a job is claimed, PAGE_UPDATED when a crawl finds a page's text
// changed since the key's last recorded crawl of that URL, a cancelled job
// announced to its callbackUrl and subscriptions, and TESTING_CONNECTION
// messages removed by retention. Real worker, sender, fixture site and
// receivers on 127.0.0.1.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { createApiKey } from '../../core/apiKeys.js';
import { listDeliveries } from '../../core/webhooks/deliveries.js';
import { runRetention } from '../../worker/maintenance/retention.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { startReceiver, waitFor as waitUntil } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

const envelope = z.object({ event: z.string(), payload: z.record(z.string(), z.unknown()), timestamp: z.iso.datetime(), version: z.literal(1) });
const startedPayload = z.object({ jobId: z.string(), status: z.literal('processing'), url: z.string(), attempt: z.number().int().min(1), startedAt: z.iso.datetime() });
const pageUpdatedPayload = z.object({ jobId: z.string(), url: z.string(), title: z.string(), status: z.literal('updated'), previousJobId: z.string() });

const SCHEDULE = { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms', WEBHOOK_TIMEOUT: '5s', WORKER_POLL_INTERVAL: '100ms' };

let stack: Stack;
let siteUrl: string;
/** The text of /about, changed by the PAGE_UPDATED test between crawls. */
let aboutText = 'The about page, first version: a team of five writing software for bakeries.';

before(async () => {
  const site = await startHttpServer(
    fixtureSite({
      '/': articlePage('Events home', 'The home page of a small site whose crawls are announced to account webhooks.'),
      '/about': (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(articlePage('About us', aboutText));
      },
      // Answers only once the test is over: a job on it stays processing until cancelled.
      '/slow': () => undefined,
    }),
  );
  siteUrl = site.url;
  stack = await startStack({ worker: true, config: SCHEDULE });
  await stack.startWebhookSender();
});

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000) => waitUntil(fn, timeoutMs);

async function receiver() {
  const { baseUrl, received } = await startReceiver(() => 200);
  const bodies = () => received.map((r) => envelope.parse(JSON.parse(r.body)));
  return { url: `${baseUrl}/hook`, received, bodies };
}

async function subscribe(url: string, events: string[], key = stack.key) {
  const res = await stack.request('POST', '/v1/webhooks', { key, body: { url, events } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; token: string; events: string[] };
}

/** The events of the job's messages, once its final event's fan-out has written them (it writes all of a job's end at once). */
async function messagesOf(jobId: string, final: string) {
  return waitFor(async () => {
    const rows = await stack.sql`select event, body from webhook_messages where job_id = ${jobId} order by created_at, id`;
    return rows.some((r) => r.event === final) ? rows.map((r) => ({ event: r.event as string, body: envelope.parse(JSON.parse(r.body as string)) })) : undefined;
  });
}

test('a claimed job sends EXTRACTION_STARTED to the subscriptions that want it, signed, with the token; others and other keys get none', async () => {
  const hook = await receiver();
  const sub = await subscribe(hook.url, ['EXTRACTION_STARTED', 'EXTRACTION_COMPLETED']);
  assert.deepEqual(sub.events, ['EXTRACTION_STARTED', 'EXTRACTION_COMPLETED']);
  const completedOnly = await receiver();
  await subscribe(completedOnly.url, ['EXTRACTION_COMPLETED']);

  const jobId = await stack.submitJob({ url: `${siteUrl}/`, singlePage: true });
  const job = await stack.waitForStatus(jobId, ['completed']);
  const forJob = await waitFor(() => {
    const all = hook.bodies().filter((b) => b.payload.jobId === jobId);
    return all.length === 2 ? all : undefined;
  });
  const started = forJob.find((b) => b.event === 'EXTRACTION_STARTED');
  assert.ok(started, `EXTRACTION_STARTED received: ${JSON.stringify(forJob)}`);
  const payload = startedPayload.parse(started.payload);
  assert.deepEqual({ url: payload.url, attempt: payload.attempt }, { url: `${siteUrl}/`, attempt: 1 });
  assert.ok(Date.parse(payload.startedAt) <= job.completedAt!.getTime(), 'started before it completed');
  const received = hook.received.find((r) => JSON.parse(r.body).event === 'EXTRACTION_STARTED')!;
  new Webhook((await stack.request('GET', '/v1/webhooks/secret')).body.secret).verify(received.body, received.headers);
  assert.equal(received.headers['x-knowledgesdk-webhook-token'], sub.token);

  // The subscription without EXTRACTION_STARTED gets the completion only.
  await waitFor(() => completedOnly.bodies().some((b) => b.payload.jobId === jobId));
  assert.deepEqual(completedOnly.bodies().filter((b) => b.payload.jobId === jobId).map((b) => b.event), ['EXTRACTION_COMPLETED']);

  // Another key's job: nothing to this key's subscriptions, and no started entry queued at all for a key without such a subscription.
  const other = await createApiKey(stack.sql, 'other tenant');
  const theirs = await stack.submitJob({ url: `${siteUrl}/`, singlePage: true }, other.key);
  await stack.waitForStatus(theirs, ['completed']);
  const entries = await stack.sql`select count(*)::int as n from pgboss.job where name = 'webhook' and data->>'jobId' = ${theirs} and data ? 'started'`;
  assert.equal(entries[0]!.n, 0);
  assert.ok(!hook.bodies().some((b) => b.payload.jobId === theirs), 'another key’s job announces nothing here');
});

test('PAGE_UPDATED: a crawl finding a page’s text changed since the key’s last crawl of that URL, through page tasks and a single-page job', async () => {
  const hook = await receiver();
  await subscribe(hook.url, ['PAGE_UPDATED', 'EXTRACTION_COMPLETED']);
  const crawl = async () => {
    const jobId = await stack.submitJob({ url: `${siteUrl}/`, maxPages: 2 });
    await stack.waitForStatus(jobId, ['completed']);
    return { jobId, messages: await messagesOf(jobId, 'EXTRACTION_COMPLETED') };
  };
  const updates = <T extends { event: string }>(m: T[]) => m.filter((x) => x.event === 'PAGE_UPDATED');

  // First crawl: nothing recorded before, so nothing updated.
  const first = await crawl();
  assert.deepEqual(updates(first.messages), [], 'the first crawl records, it updates nothing');
  // Same text again: no update.
  const second = await crawl();
  assert.deepEqual(updates(second.messages), [], 'unchanged pages are not updates');

  // /about changes: one PAGE_UPDATED, for /about only, naming the crawl that recorded the old text.
  aboutText = 'The about page, second version: the team is now twelve people and also serves cafés.';
  const third = await crawl();
  // A page the live relay announces may commit just after the completion: wait for it.
  const [update, ...more] = await waitFor(async () => {
    const found = updates(await messagesOf(third.jobId, 'EXTRACTION_COMPLETED'));
    return found.length ? found : undefined;
  });
  assert.equal(more.length, 0, JSON.stringify(third.messages));
  assert.deepEqual(pageUpdatedPayload.parse(update!.body.payload), { jobId: third.jobId, url: `${siteUrl}/about`, title: 'About us', status: 'updated', previousJobId: second.jobId });
  await waitFor(() => hook.bodies().some((b) => b.event === 'PAGE_UPDATED' && b.payload.jobId === third.jobId));

  // A single-page job (its pages from the result, not page tasks) compares with the same record.
  aboutText = 'The about page, third version: the bakery software is now open source.';
  const single = await stack.submitJob({ url: `${siteUrl}/about`, singlePage: true });
  await stack.waitForStatus(single, ['completed']);
  const singleUpdates = updates(await messagesOf(single, 'EXTRACTION_COMPLETED'));
  assert.deepEqual(singleUpdates.map((m) => [m.body.payload.url, m.body.payload.previousJobId]), [[`${siteUrl}/about`, third.jobId]]);

  // Another key crawling the same changed page has its own record: no update for it.
  const other = await createApiKey(stack.sql, 'third tenant');
  await subscribe(hook.url, ['PAGE_UPDATED', 'EXTRACTION_COMPLETED'], other.key);
  const theirs = await stack.submitJob({ url: `${siteUrl}/about`, singlePage: true }, other.key);
  await stack.waitForStatus(theirs, ['completed']);
  assert.deepEqual(updates(await messagesOf(theirs, 'EXTRACTION_COMPLETED')), []);
});

test('a cancelled job is announced: job.cancelled to its callbackUrl, EXTRACTION_FAILED with code cancelled to subscriptions', async () => {
  const hook = await receiver();
  await subscribe(hook.url, ['EXTRACTION_FAILED']);
  const callback = await startReceiver(() => 200);
  const jobId = await stack.submitJob({ url: `${siteUrl}/slow`, singlePage: true, callbackUrl: `${callback.baseUrl}/cb` });
  await stack.waitForStatus(jobId, ['processing']);
  const cancelled = await stack.request('POST', `/v1/jobs/${jobId}/cancel`);
  assert.equal(cancelled.status, 200);

  await waitFor(() => callback.received.length >= 1);
  const body = JSON.parse(callback.received[0]!.body);
  assert.deepEqual({ jobId: body.jobId, status: body.status, code: body.error?.code }, { jobId, status: 'cancelled', code: 'cancelled' });
  assert.equal(typeof body.completedAt, 'string');
  // Waits for the callbackUrl's job.cancelled delivery (waitFor fails the test if it never comes).
  await waitFor(async () => {
    const all = await listDeliveries(stack.sql, jobId);
    return all.some((d) => d.event === 'job.cancelled' && d.outcome === 'delivered') ? all : undefined;
  });

  const failed = await waitFor(() => hook.bodies().find((b) => b.payload.jobId === jobId));
  assert.equal(failed.event, 'EXTRACTION_FAILED');
  assert.deepEqual({ status: failed.payload.status, code: failed.payload.code, error: failed.payload.error }, { status: 'cancelled', code: 'cancelled', error: 'cancelled by the client' });
});

test('retention removes TESTING_CONNECTION messages (no job) older than RETENTION with their deliveries, and keeps newer ones', async () => {
  const hook = await receiver();
  const sub = await subscribe(hook.url, ['TESTING_CONNECTION']);
  const old = (await stack.request('POST', `/v1/webhooks/${sub.id}/test`)).body.webhookId as string;
  const recent = (await stack.request('POST', `/v1/webhooks/${sub.id}/test`)).body.webhookId as string;
  const delivered = async (id: string) => (await stack.sql`select count(*)::int as n from webhook_deliveries where message_id = ${id}`)[0]!.n as number;
  await waitFor(async () => (await delivered(old)) === 1 && (await delivered(recent)) === 1);
  await stack.sql`update webhook_messages set created_at = now() - interval '40 days' where id = ${old}`;

  const pass = await runRetention(stack.sql, stack.logger, { retentionMs: 30 * 86_400_000 });
  assert.equal(pass?.messages, 1);
  assert.ok((pass?.deliveries ?? 0) >= 1, 'its delivery is counted');
  assert.equal((await stack.sql`select count(*)::int as n from webhook_messages where id = ${old}`)[0]!.n, 0);
  assert.equal(await delivered(old), 0);
  assert.equal((await stack.sql`select count(*)::int as n from webhook_messages where id = ${recent}`)[0]!.n, 1);
  assert.equal(await delivered(recent), 1);
});
